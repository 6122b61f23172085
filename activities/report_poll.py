"""Reports a fulfillment channel leaves for Orderloop to collect (`FulfillmentConnector.
collect_reports`, scheduled by the channel's `poll_reports_every`): files of shipments and stock
in an SFTP inbox. Each shipment is signalled to its order as the gateway signals a shipment
webhook (the order recognises a shipment it has by its id), stock rows go to the ledger's
snapshot path (absolute levels), and the ledger's file journal records what each row did, so a
run cut short (a worker killed mid-file) is resumed by Temporal's retry without a row applied
twice. The activity heartbeats per row; its heartbeat timeout is what a killed worker costs."""

from __future__ import annotations

import structlog
from temporalio import activity
from temporalio.client import Client

from activities.shipment_delivery import deliver_shipment
from activities.vendor_errors import vendor_call
from connectors.base import Connector, Delivery
from connectors.registry import fulfillment
from orderloop.config import OrderloopConfig
from orderloop.contracts import Activities, ErrorTypes
from orderloop.contracts.scheduled_jobs import CollectReportsInput, CollectReportsReport, SnapshotReport
from orderloop.ledger import Ledger
from orderloop.model import Shipment, StockRow
from orderloop.stock_reports import apply_stock_rows

log = structlog.get_logger("orderloop.report_poll")


class _Sink:
    """The `ReportSink` of one collection: Temporal signals and the ledger's snapshot path."""

    def __init__(self, client: Client, config: OrderloopConfig, ledger: Ledger, channel_id: str) -> None:
        self.client = client
        self.config = config
        self.ledger = ledger
        self.channel_id = channel_id

    async def shipment(self, shipment: Shipment) -> Delivery:
        return await deliver_shipment(self.client, shipment)

    async def stock(self, rows: list[StockRow]) -> SnapshotReport:
        return await apply_stock_rows(self.config, self.ledger, self.channel_id, rows)

    def progress(self, detail: str) -> None:
        activity.heartbeat(detail)


class ReportPoll:
    def __init__(self, config: OrderloopConfig, ledger: Ledger, connectors: dict[str, Connector]) -> None:
        self.config = config
        self.ledger = ledger
        self.connectors = connectors

    @activity.defn(name=Activities.COLLECT_FULFILLMENT_REPORTS)
    async def collect_fulfillment_reports(self, inp: CollectReportsInput) -> CollectReportsReport:
        sink = _Sink(activity.client(), self.config, self.ledger, inp.channel_id)
        with vendor_call(ErrorTypes.CHANNEL_REJECTED):
            report = await fulfillment(self.connectors, inp.channel_id).collect_reports(self.ledger, sink)
        if report.files:
            log.info("reports.collected", **report.model_dump(mode="json", by_alias=False))
        return report
