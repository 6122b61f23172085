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
from orderloop.model import Allocation, ExceptionKind, Order, RequestLine, Shipment, ShippingRequest


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
    kind: ExceptionKind
    message: str
    at: datetime
