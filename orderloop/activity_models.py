"""The pydantic messages of the activities the order workflow calls (ingest, allocate,
release, commit, notify, and the connector calls): activity-only, no workflow is started or
signalled with them. Activity names are `orderloop.contracts.Activities`; the messages of the
other durable processes are in their modules under `orderloop.contracts`.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

from orderloop.contracts import OrderPolicy
from orderloop.model import (
    Allocation,
    DocumentRef,
    ExceptionKind,
    LineDecision,
    Order,
    RequestLine,
    Shipment,
    ShippingRequest,
)
from orderloop.playbooks import NoticeTarget
from orderloop.returns_model import ReturnExceptionKind


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
    # The documents sent with the request (a wholesale order's packing slip and carton labels).
    documents: list[DocumentRef] = Field(default_factory=list)


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


class RequestCondition(StrEnum):
    """How a sent shipping request stands at the fulfillment channel, as its poll finds it."""

    OPEN = "open"
    CANCELLED = "cancelled"  # cancelled there (by hand in its UI: no webhook says so)
    MISSING = "missing"  # the channel no longer knows it
    CHANGED = "changed"  # its lines or address differ from what was sent


class RequestCheck(BaseModel):
    condition: RequestCondition
    # What the channel shows: its status, or what differs from the request sent.
    detail: str | None = None


class FetchShipmentsResult(BaseModel):
    shipments: list[Shipment] = Field(default_factory=list)
    # None: the connector cannot tell (or a result from before checks existed).
    check: RequestCheck | None = None


class PushTrackingInput(BaseModel):
    order: Order
    shipment: Shipment


class PushTrackingResult(BaseModel):
    channel_fulfillment_id: str | None = None


class NotificationLevel(StrEnum):
    WARNING = "warning"
    EXCEPTION = "exception"
    ESCALATION = "escalation"
    RESOLVED = "resolved"


class Notification(BaseModel):
    workflow_id: str
    channel_id: str
    external_id: str
    level: NotificationLevel
    # An order's exception kind, or a return's (the return workflow notifies too).
    kind: ExceptionKind | ReturnExceptionKind
    # A channel exception's own kind (`kind` is then `channel_exception`).
    channel_kind: str | None = None
    message: str
    at: datetime
    # Orders of revision 4 on: the playbook's sinks this notice goes to (none: a log line and
    # `notifications.webhook_url`, as before), minted once per notice by the workflow so a
    # retried activity queues it once; who resolved the exception (RESOLVED notices).
    targets: list[NoticeTarget] = Field(default_factory=list)
    event_id: str | None = None
    playbook: str | None = None
    resolved_by: str | None = None
    # Only for the operations record (orderloop.ledger.operations): a resolution no sink is
    # told of, which the workflow sends from patch `operations-record` on.
    record_only: bool = False


class ChannelCancelInput(BaseModel):
    """Tell the selling channel Orderloop cancelled its order (`Activities.CANCEL_ON_CHANNEL`)."""

    order: Order
    reason: str


class AcknowledgeInput(BaseModel):
    """Tell the selling channel Orderloop accepted its order (`Activities.ACKNOWLEDGE_ON_CHANNEL`)."""

    order: Order


class AcknowledgeResult(BaseModel):
    # What the channel was told (None: it had the acknowledgement already).
    told: str | None = None


class ConfirmAllocationInput(BaseModel):
    """Tell the selling channel each line's decision once the order is allocated
    (`Activities.CONFIRM_ALLOCATION`)."""

    order: Order
    lines: list[LineDecision]


class ConfirmAllocationResult(BaseModel):
    # What the channel was told (None: it had this confirmation already).
    told: str | None = None


class ChannelExceptionDecision(StrEnum):
    """The seller's answer to a channel exception, as the order resolved it."""

    # The order goes on (an operator or rule dismissed it, or the order shipped or completed).
    PROCEEDED = "proceeded"
    # The order was cancelled.
    CANCELLED = "cancelled"


class ChannelExceptionReply(BaseModel):
    """Tell the selling channel how a case it raised was resolved
    (`Activities.RESOLVE_CHANNEL_EXCEPTION`)."""

    order: Order
    kind: str
    reference: str | None = None
    decision: ChannelExceptionDecision
    resolution: str


class ChannelExceptionReplied(BaseModel):
    # None: the channel takes no answer for this kind (the decision stands in Orderloop only).
    told: str | None = None


class ChannelCancelResult(BaseModel):
    # False: the channel takes no cancellation from Orderloop (its operator is told instead).
    told: bool
