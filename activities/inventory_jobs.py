"""Activities behind the scheduled inventory jobs: stock snapshots from fulfillment channels
(one bulk ledger operation per location) and the reconciliation report."""

from __future__ import annotations

import uuid
from datetime import timedelta

import structlog
from temporalio import activity

from activities.vendor_errors import vendor_call
from connectors.base import Connector
from connectors.registry import fulfillment
from orderloop import operations_events
from orderloop.config import OrderloopConfig
from orderloop.contracts import Activities, ErrorTypes
from orderloop.contracts.inventory_sync import inventory_sync_consumer
from orderloop.contracts.restock import RESTOCK_CONSUMER
from orderloop.contracts.scheduled_jobs import ReconcileInput, ReconcileReport, SnapshotInput, SnapshotReport
from orderloop.golive import rollout_skus
from orderloop.ledger import Ledger, channel_quantities
from orderloop.ledger.base import utc_now
from orderloop.model import ConnectorRole
from orderloop.stock_reports import apply_stock_rows

log = structlog.get_logger("orderloop.inventory")


class InventoryJobs:
    def __init__(self, config: OrderloopConfig, ledger: Ledger, connectors: dict[str, Connector]) -> None:
        self.config = config
        self.ledger = ledger
        self.connectors = connectors

    @activity.defn(name=Activities.PULL_STOCK_SNAPSHOT)
    async def pull_stock_snapshot(self, inp: SnapshotInput) -> SnapshotReport:
        with vendor_call(ErrorTypes.CHANNEL_REJECTED):
            rows = await fulfillment(self.connectors, inp.channel_id).fetch_stock()
        activity.heartbeat(len(rows))
        report = await apply_stock_rows(self.config, self.ledger, inp.channel_id, rows)
        log.info("inventory.snapshot", channel=inp.channel_id, report=report.model_dump(mode="json"))
        return report

    @activity.defn(name=Activities.RECONCILE_INVENTORY)
    async def reconcile_inventory(self, inp: ReconcileInput) -> ReconcileReport:
        report = ReconcileReport(ledger_problems=await self.ledger.check_invariants())
        for channel in self.config.channels_with_role(ConnectorRole.SELLING):
            activity.heartbeat(channel.id)
            published = await self.ledger.published(channel.id)
            if not published:
                continue
            rollout = await rollout_skus(self.ledger, channel)
            expected = await channel_quantities(self.ledger, published, channel.inventory, rollout)
            drift = {sku: [published[sku], expected[sku]] for sku in published if published[sku] != expected[sku]}
            if drift:
                report.channel_drift[channel.id] = drift
                await self._record_drift(channel.id, sorted(drift))
        consumers = [RESTOCK_CONSUMER] + [
            inventory_sync_consumer(c.id) for c in self.config.channels_with_role(ConnectorRole.SELLING)
        ]
        report.outbox_trimmed = await self.ledger.trim_outbox_for(consumers)
        retention = timedelta(days=self.config.operations.retention_days)
        report.operations_trimmed = await self.ledger.trim_operations(utc_now() - retention)
        report.exchanges_trimmed = await self.ledger.trim_exchanges(utc_now() - self.config.exchange_log.retention)
        if report.clean:
            log.info("inventory.reconciled")
        else:
            log.warning("inventory.drift", report=report.model_dump(mode="json"))
        return report

    async def _record_drift(self, channel_id: str, skus: list[str]) -> None:
        """Drift in the operations record, once per reconciliation run and channel."""
        try:
            info = activity.info()
            run = f"{info.workflow_id}/{info.workflow_run_id}/{info.activity_id}"
        except RuntimeError:
            run = uuid.uuid4().hex  # called outside an activity: one row per call
        event = operations_events.inventory_drift(f"drift/{channel_id}/{run}", channel_id, utc_now(), skus)
        await self.ledger.record_operations([event])
