"""Activities behind the scheduled inventory jobs: stock snapshots from fulfillment channels
(one bulk ledger operation per location) and the reconciliation report."""

from __future__ import annotations

from collections import defaultdict

import structlog
from temporalio import activity

from activities.vendor_errors import vendor_call
from connectors.base import Connector, StockRow
from connectors.registry import fulfillment
from orderloop.activity_models import (
    Activities,
    ErrorTypes,
    LocationSnapshot,
    ReconcileInput,
    ReconcileReport,
    SnapshotInput,
    SnapshotReport,
)
from orderloop.config import OrderloopConfig
from orderloop.ledger import Cause, CauseKind, Ledger, SnapshotRow, channel_quantities
from orderloop.model import ConnectorRole

log = structlog.get_logger("orderloop.inventory")


class InventoryJobs:
    def __init__(self, config: OrderloopConfig, ledger: Ledger, connectors: dict[str, Connector]) -> None:
        self.config = config
        self.ledger = ledger
        self.connectors = connectors

    def _location_of(self, channel_id: str, row: StockRow) -> str | None:
        served = [loc.id for loc in self.config.locations if loc.fulfillment_channel == channel_id]
        if row.location_ref in served:
            return row.location_ref
        return served[0] if row.location_ref is None and len(served) == 1 else None

    @activity.defn(name=Activities.PULL_STOCK_SNAPSHOT)
    async def pull_stock_snapshot(self, inp: SnapshotInput) -> SnapshotReport:
        with vendor_call(ErrorTypes.CHANNEL_REJECTED):
            rows = await fulfillment(self.connectors, inp.channel_id).fetch_stock()
        activity.heartbeat(len(rows))
        by_location: dict[str, list[SnapshotRow]] = defaultdict(list)
        report = SnapshotReport(channel_id=inp.channel_id)
        for row in rows:
            location = self._location_of(inp.channel_id, row)
            if location is None:
                report.unmapped_rows += 1
                continue
            by_location[location].append(SnapshotRow(sku=row.sku, on_hand=row.on_hand, inbound=row.inbound))
        cause = Cause(kind=CauseKind.FULFILLMENT_CHANNEL, ref=inp.channel_id)
        for location, snapshot in sorted(by_location.items()):
            result = await self.ledger.apply_snapshot(location, snapshot, cause)
            report.locations.append(
                LocationSnapshot(
                    location_id=location,
                    changed=result.changed,
                    unchanged=result.unchanged,
                    oversold=[
                        f"{o.sku}: reported {o.reported_on_hand}, reserved {o.reserved}" for o in result.oversold
                    ],
                )
            )
        log.info("inventory.snapshot", channel=inp.channel_id, report=report.model_dump(mode="json"))
        return report

    @activity.defn(name=Activities.RECONCILE_INVENTORY)
    async def reconcile_inventory(self, inp: ReconcileInput) -> ReconcileReport:
        report = ReconcileReport(ledger_problems=await self.ledger.check_invariants())
        for channel in self.config.channels_with_role(ConnectorRole.SELLING):
            published = await self.ledger.published(channel.id)
            if not published:
                continue
            rollout = set(channel.skus) if channel.skus is not None else None
            expected = await channel_quantities(self.ledger, published, channel.inventory, rollout)
            drift = {sku: [published[sku], expected[sku]] for sku in published if published[sku] != expected[sku]}
            if drift:
                report.channel_drift[channel.id] = drift
        if report.clean:
            log.info("inventory.reconciled")
        else:
            log.warning("inventory.drift", report=report.model_dump(mode="json"))
        return report
