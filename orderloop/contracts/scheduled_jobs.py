"""The scheduled jobs' contract: the workflow names Temporal schedules start (stock snapshot,
inventory reconciliation, order poll), and each job's input and report."""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

STOCK_SNAPSHOT_WORKFLOW = "StockSnapshot"
RECONCILIATION_WORKFLOW = "InventoryReconciliation"
ORDER_POLL_WORKFLOW = "OrderPoll"
RETURN_POLL_WORKFLOW = "ReturnPoll"
SHIPMENT_POLL_WORKFLOW = "ShipmentPoll"


# How often the scheduled jobs run (their Temporal schedules; the flow audit shows them too).
SNAPSHOT_EVERY = timedelta(minutes=5)
RECONCILE_EVERY = timedelta(minutes=15)
REPORT_POLL_WORKFLOW = "FulfillmentReportPoll"


class _Camel(BaseModel):
    """camelCase on the wire like the operator API; snake_case still accepted (older histories)."""

    model_config = ConfigDict(
        alias_generator=to_camel, validate_by_name=True, validate_by_alias=True, serialize_by_alias=True
    )


class SnapshotInput(BaseModel):
    channel_id: str
    task_queue: str


class LocationSnapshot(_Camel):
    location_id: str
    changed: int
    unchanged: int
    oversold: list[str] = Field(default_factory=list)


class SnapshotReport(_Camel):
    channel_id: str
    locations: list[LocationSnapshot] = Field(default_factory=list)
    unmapped_rows: int = 0


class PollOrdersInput(BaseModel):
    channel_id: str
    task_queue: str
    # A channel never polled before looks back this far.
    first_lookback: timedelta = timedelta(days=1)
    # Each poll starts this much before the last one ended: clocks and the channel's indexing lag.
    overlap: timedelta = timedelta(minutes=5)


class PollOrdersReport(_Camel):
    channel_id: str
    polled_since: datetime
    polled_until: datetime
    seen: int = 0
    started: list[str] = Field(default_factory=list)
    already_known: int = 0
    cancelled_unknown: int = 0
    # Accepted orders told of a cancel or an edit their webhook never brought.
    cancels_delivered: list[str] = Field(default_factory=list)
    edits_delivered: list[str] = Field(default_factory=list)


class ReconcileInput(BaseModel):
    task_queue: str


class ReconcileReport(BaseModel):
    """Drift found: ledger invariants broken, or a channel showing another quantity than the
    ledger's available-to-sell."""

    ledger_problems: list[str] = Field(default_factory=list)
    channel_drift: dict[str, dict[str, list[int]]] = Field(default_factory=dict)
    # Outbox rows every consumer had read, deleted by this run.
    outbox_trimmed: int = 0
    # Operations-record rows older than `operations.retention_days`, deleted by this run.
    operations_trimmed: int = 0
    # Exchange log rows older than `exchange_log.retention_days`, deleted by this run.
    exchanges_trimmed: int = 0

    @property
    def clean(self) -> bool:
        return not self.ledger_problems and not self.channel_drift


class PollReturnsInput(BaseModel):
    """One poll of a channel's returns. A selling channel: its customers' return requests (the
    channel's `poll_returns`), for channels with no return webhook (Amazon) and as the backstop
    of the others. A fulfillment channel: the receipts of the returns expected at its `locations`
    (the connector's `fetch_return_receipt`), the backstop of its receipt webhooks."""

    channel_id: str
    task_queue: str
    # The first poll reads this far back; later ones start where the last ended, less `overlap`.
    first_lookback: timedelta = timedelta(days=7)
    overlap: timedelta = timedelta(minutes=30)
    # Fulfillment channels: the locations they serve (the returns received there are polled).
    locations: list[str] = Field(default_factory=list)


class PollReturnsReport(_Camel):
    channel_id: str
    polled_since: datetime
    polled_until: datetime
    seen: int = 0
    started: list[str] = Field(default_factory=list)
    already_known: int = 0
    # Fulfillment channels: the returns whose receipt the poll found and signalled.
    received: list[str] = Field(default_factory=list)


class PollShipmentsInput(BaseModel):
    """One poll of a fulfillment channel for the shipments it recorded since the last poll, for
    every open request at once (the connector's `poll_shipments`: NetSuite's SuiteQL by
    last-modified time), where the channel sends no webhook."""

    channel_id: str
    task_queue: str
    first_lookback: timedelta = timedelta(days=1)
    # Each poll starts this much before the last one ended: clocks and the channel's indexing lag.
    overlap: timedelta = timedelta(minutes=5)


class PollShipmentsReport(_Camel):
    channel_id: str
    polled_since: datetime
    polled_until: datetime
    seen: int = 0
    # Shipments signalled to their order (the order counts each shipment id once).
    delivered: int = 0
    # Shipments of orders Orderloop no longer runs (closed) or never ran.
    not_running: int = 0


class CollectReportsInput(BaseModel):
    """One collection of the reports a fulfillment channel left for Orderloop (its
    `poll_reports_every`): shipments and stock levels, each row applied once."""

    channel_id: str
    task_queue: str


class CollectReportsReport(_Camel):
    channel_id: str
    # Files read to the end this run (archived, or moved to the error folder whole).
    files: list[str] = Field(default_factory=list)
    files_in_error: list[str] = Field(default_factory=list)
    rows_applied: int = 0
    rows_rejected: int = 0
    # Rows applied by an earlier, interrupted run of the same file (skipped this time).
    rows_already_applied: int = 0
    shipments_delivered: list[str] = Field(default_factory=list)
    stock: list[SnapshotReport] = Field(default_factory=list)
