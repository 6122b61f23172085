"""The reconciliation job keeps the exchange log to its retention: rows older than
`exchange_log.retention_days` go, the others stay, and the report counts what went."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from temporalio.testing import ActivityEnvironment

from activities.inventory_jobs import InventoryJobs
from orderloop.config import parse_config
from orderloop.contracts.scheduled_jobs import ReconcileInput
from orderloop.exchange_records import ExchangeDirection, ExchangeEntry, ExchangeOutcome
from orderloop.ledger import ExchangeFilter, Ledger

ROOT = Path(__file__).resolve().parents[2]


def entry(at: datetime) -> ExchangeEntry:
    return ExchangeEntry(
        at=at,
        direction=ExchangeDirection.OUTBOUND,
        channel_id="storefront",
        operation="push_inventory",
        summary="push inventory",
        outcome=ExchangeOutcome.OK,
    )


async def test_reconciliation_trims_exchanges_past_their_retention(tmp_path: Path) -> None:
    text = (ROOT / "orderloop.yaml").read_text().replace("  retention_days: 30\n", "  retention_days: 7\n", 1)
    config = parse_config(text)
    ledger = await Ledger.open(f"sqlite:///{tmp_path / 'ledger.db'}")
    try:
        now = datetime.now(UTC)
        await ledger.record_exchanges([entry(now - timedelta(days=8)), entry(now - timedelta(days=6)), entry(now)])
        report = await ActivityEnvironment().run(
            InventoryJobs(config, ledger, {}).reconcile_inventory, ReconcileInput(task_queue="tests")
        )
        assert report.exchanges_trimmed == 1
        left = await ledger.exchanges(ExchangeFilter())
        assert sorted(row.at for row in left) == [now - timedelta(days=6), now]
    finally:
        await ledger.close()
