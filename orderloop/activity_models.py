"""Names and pydantic messages of the activities the order workflow calls.

Workflows call activities by these names (never by importing the implementations), so the
workflow sandbox stays free of HTTP and database code and tests can replace an activity by
registering another function under the same name.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from orderloop.contracts import OrderPolicy
from orderloop.model import Allocation, ExceptionKind, Order, RequestLine, Shipment, ShippingRequest


class Activities:
    # Internal steps, local activities on the orders queue.
    INGEST = "orderloop.ingest"
    ALLOCATE = "orderloop.allocate"
    RELEASE = "orderloop.release"
    COMMIT_SHIPMENT = "orderloop.commit_shipment"
    # Outbound notifications (may call a webhook): a normal activity on the orders queue.
    NOTIFY = "orderloop.notify"
    # Connector calls, on the channel's own queue.
    SEND_SHIPPING_REQUEST = "orderloop.send_shipping_request"
    CANCEL_SHIPPING_REQUEST = "orderloop.cancel_shipping_request"
    PUSH_TRACKING = "orderloop.push_tracking"
    FETCH_SHIPMENTS = "orderloop.fetch_shipments"
    # Inventory: the long-running, heartbeating outbox drain of one selling channel.
    SYNC_CHANNEL_INVENTORY = "orderloop.sync_channel_inventory"
    PULL_STOCK_SNAPSHOT = "orderloop.pull_stock_snapshot"
    RECONCILE_INVENTORY = "orderloop.reconcile_inventory"
    # Missed-webhook recovery: read a selling channel's recent orders, start the unknown ones.
    POLL_CHANNEL_ORDERS = "orderloop.poll_channel_orders"
    # Follows the outbox and wakes orders waiting for stock of a SKU whose availability rose.
    WATCH_RESTOCK = "orderloop.watch_restock"


class ErrorTypes:
    """`ApplicationError.type` values an operator can search for in the UI."""

    SHIPPING_REQUEST_REJECTED = "ShippingRequestRejected"
    ALREADY_SHIPPED = "AlreadyShipped"
    CHANNEL_REJECTED = "ChannelRejected"
    ACTION_NOT_APPLICABLE = "ActionNotApplicable"
    INVALID_REQUEST = "InvalidRequest"


class IngestInput(BaseModel):
    workflow_id: str
    channel_id: str
    external_id: str
    raw_payload: dict[str, Any]
    received_at: datetime


class IngestResult(BaseModel):
    order: Order | None = None
    error: str | None = None
    policy: OrderPolicy


class AllocateInput(BaseModel):
    order: Order
    line_ids: list[str]
    force_location: str | None = None
    exclude_locations: list[str] = Field(default_factory=list)
    now: datetime


class AllocateOutcome(StrEnum):
    ALLOCATED = "allocated"
    UNKNOWN_SKU = "unknown_sku"
    OUT_OF_STOCK = "out_of_stock"
    UNROUTABLE = "unroutable"

    @property
    def exception(self) -> ExceptionKind:
        return ExceptionKind(self.value)


class AllocateResult(BaseModel):
    outcome: AllocateOutcome
    allocation: Allocation | None = None
    message: str = ""
    detail: dict[str, Any] = Field(default_factory=dict)


class ReleaseInput(BaseModel):
    order_id: str
    line_ids: list[str] | None = None
    reason: str


class CommitInput(BaseModel):
    order_id: str
    shipment_id: str
    items: list[RequestLine]


class SendResult(BaseModel):
    vendor_id: str
    duplicate: bool = False


class CancelShippingInput(BaseModel):
    request: ShippingRequest
    vendor_id: str | None = None


class CancelShippingResult(BaseModel):
    cancelled: bool
    already_shipped: bool = False
    message: str = ""


class FetchShipmentsInput(BaseModel):
    request: ShippingRequest
    vendor_id: str | None = None


class FetchShipmentsResult(BaseModel):
    shipments: list[Shipment] = Field(default_factory=list)


class PushTrackingInput(BaseModel):
    order: Order
    shipment: Shipment


class PushTrackingResult(BaseModel):
    channel_fulfillment_id: str | None = None


class NotificationLevel(StrEnum):
    EXCEPTION = "exception"
    ESCALATION = "escalation"
    RESOLVED = "resolved"


class Notification(BaseModel):
    workflow_id: str
    channel_id: str
    external_id: str
    level: NotificationLevel
    kind: ExceptionKind
    message: str
    at: datetime


class InventorySyncInput(BaseModel):
    """Where one selling channel's inventory sync stands: the last outbox row it pushed."""

    channel_id: str
    task_queue: str
    # -1: nothing pushed yet, so the first run publishes every SKU before following the outbox.
    cursor: int = -1
    # How long one activity run drains before the workflow continues as new (bounded history).
    run_for: timedelta = timedelta(minutes=30)
    # Changes made by this worker process wake the sync at once; others are polled this often.
    poll_interval: timedelta = timedelta(milliseconds=200)
    # At most one push per this window (and never faster than the channel's rate limit): the
    # changes of a busy moment go out together, each SKU once, with its newest quantity.
    coalesce: timedelta = timedelta(milliseconds=100)


def inventory_sync_consumer(channel_id: str) -> str:
    """The outbox consumer name of one selling channel's inventory sync."""
    return f"inventory-sync/{channel_id}"


RESTOCK_CONSUMER = "restock-watcher"


class RestockWatchInput(BaseModel):
    # -1: start from the newest outbox row (what happened before needs no wake-up).
    cursor: int = -1
    run_for: timedelta = timedelta(minutes=30)
    poll_interval: timedelta = timedelta(seconds=1)
    # At most one look at the availability per this window: a burst of changes is one batch.
    # Longer than the inventory sync's: a wake-up spares a waiting order its retry timer (the
    # channel's out_of_stock_retry, minutes), so a second more costs it nothing, while every
    # reservation, on every order, is a change the watcher reads (a watcher started with an
    # earlier default keeps it across its runs, since each run hands its input on).
    coalesce: timedelta = timedelta(seconds=1)
    # At most this many waiting orders are signalled per batch of changes.
    max_wakeups: int = 1000


class RestockWatchProgress(BaseModel):
    cursor: int
    woken: int = 0


class InventorySyncProgress(BaseModel):
    cursor: int
    pushes: int = 0
    skus_pushed: int = 0


class SnapshotInput(BaseModel):
    channel_id: str
    task_queue: str


class _Camel(BaseModel):
    """camelCase on the wire like the operator API; snake_case still accepted (older histories)."""

    model_config = ConfigDict(
        alias_generator=to_camel, validate_by_name=True, validate_by_alias=True, serialize_by_alias=True
    )


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


class ReconcileInput(BaseModel):
    task_queue: str


class ReconcileReport(BaseModel):
    """Drift found: ledger invariants broken, or a channel showing another quantity than the
    ledger's available-to-sell."""

    ledger_problems: list[str] = Field(default_factory=list)
    channel_drift: dict[str, dict[str, list[int]]] = Field(default_factory=dict)
    # Outbox rows every consumer had read, deleted by this run.
    outbox_trimmed: int = 0

    @property
    def clean(self) -> bool:
        return not self.ledger_problems and not self.channel_drift
