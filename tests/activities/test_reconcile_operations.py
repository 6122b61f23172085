"""The reconciliation job keeps the operations record: it trims rows older than
`operations.retention_days` and records the drift it finds per channel (once per run)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest_asyncio
from temporalio.testing import ActivityEnvironment

from activities.inventory_jobs import InventoryJobs
from orderloop.config import parse_config
from orderloop.contracts.scheduled_jobs import ReconcileInput
from orderloop.ledger import Cause, CauseKind, Ledger, OperationEvent, OperationKind

ROOT = Path(__file__).resolve().parents[2]
CAUSE = Cause(kind=CauseKind.OPERATOR, ref="tests")


@pytest_asyncio.fixture
async def ledger(tmp_path: Path) -> AsyncIterator[Ledger]:
    opened = await Ledger.open(f"sqlite:///{tmp_path / 'ledger.db'}")
    yield opened
    await opened.close()


def received(key: str, at: datetime) -> OperationEvent:
    return OperationEvent(key=key, channel_id="storefront", kind=OperationKind.RECEIVED, at=at, order_id=key)


async def test_reconciliation_trims_the_record_and_records_drift(ledger: Ledger) -> None:
    config = parse_config((ROOT / "orderloop.yaml").read_text())
    assert config.operations.retention_days == 90
    now = datetime.now(UTC)
    await ledger.record_operations(
        [received("old", now - timedelta(days=91)), received("kept", now - timedelta(days=89))]
    )
    await ledger.receive("TSHIRT-BLK-M", "east", 5, CAUSE)
    await ledger.record_published("storefront", {"TSHIRT-BLK-M": 99})  # the channel was told more than there is
    jobs = InventoryJobs(config, ledger, {})
    report = await ActivityEnvironment().run(jobs.reconcile_inventory, ReconcileInput(task_queue="t"))
    assert report.operations_trimmed == 1
    assert "TSHIRT-BLK-M" in report.channel_drift["storefront"]
    rows = await ledger.operations_between(now - timedelta(days=365))
    assert [r.order_id for r in rows if r.kind is OperationKind.RECEIVED] == ["kept"]
    (drift,) = [r for r in rows if r.kind is OperationKind.INVENTORY_DRIFT]
    assert drift.channel_id == "storefront" and drift.detail == {"skus": ["TSHIRT-BLK-M"]}
