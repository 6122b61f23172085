"""The canonical return: a customer's request to send back what an order shipped, following the
onX `return` and `return-item` field names (camelCase on the wire, snake_case in code).

A return is identified by its channel and the channel's return id (`external_id`); Orderloop's id
for it is its workflow id (`return/<channel>/<return id>`, `orderloop.contracts.returns`). A line
names the order line it returns (`order_line_item_id`, the order's line key, as the order's
`OrderLine.id`). What the warehouse found is a `ReturnReceipt`: units per SKU with their
`ReturnCondition`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pydantic import Field

from orderloop.model import Address, CustomField, Money, OnxModel, TimelineEntry


class ReturnStatus(StrEnum):
    """Where a return is in its lifecycle."""

    REQUESTED = "requested"  # waiting for authorisation (the policy asks for review)
    AUTHORISED = "authorised"
    LABEL_ISSUED = "label_issued"  # the 3PL or the channel issued the customer's label
    IN_TRANSIT = "in_transit"  # the carrier has the parcel
    RECEIVED = "received"  # the warehouse reported each unit's condition
    CLOSED = "closed"  # done; the channel was told it was received (so it can refund)
    REJECTED = "rejected"
    CANCELLED = "cancelled"
    EXCEPTION = "exception"  # on hold for an operator (see `ReturnExceptionKind`)

    @property
    def terminal(self) -> bool:
        return self in (ReturnStatus.CLOSED, ReturnStatus.REJECTED, ReturnStatus.CANCELLED)


class ReturnCondition(StrEnum):
    """What the warehouse found for one unit (onX `inspection.conditionCategory`)."""

    SELLABLE = "sellable"
    DAMAGED = "damaged"
    WRONG_ITEM = "wrong_item"  # not what the order shipped (another SKU came back)
    MISSING = "missing"  # announced but not in the parcel


class ReturnOutcome(StrEnum):
    """What the customer receives (onX `outcome`)."""

    REFUND = "refund"
    EXCHANGE = "exchange"
    STORE_CREDIT = "store_credit"


class ReturnExceptionKind(StrEnum):
    """Why a return waits for an operator."""

    INVALID_RETURN = "invalid_return"  # the channel's payload cannot be mapped
    UNKNOWN_ORDER = "unknown_order"  # a return for an order Orderloop never saw (kept, reported)
    NOT_RECEIVED = "not_received"  # nothing arrived within the policy's days after the label
    RECEIPT_MISMATCH = "receipt_mismatch"  # received SKUs or quantities differ from the authorisation
    EXPECTED_RETURN_FAILED = "expected_return_failed"  # the warehouse refused the expected return
    REFUND_PUSH_FAILED = "refund_push_failed"  # the channel refused "return received"


class Disposition(StrEnum):
    """What the ledger does with received units of a condition (the policy's restock rules)."""

    RESTOCK = "restock"  # back on hand, sellable, at the receiving location
    NON_SELLABLE = "non_sellable"  # kept at the location, never available
    DISCARD = "discard"  # nothing is kept (missing units, scrapped goods)


class ReturnLine(OnxModel):
    """One returned line (onX return line item)."""

    id: str
    order_line_item_id: str
    sku: str
    quantity_returned: int = Field(gt=0)
    return_reason: str = "unspecified"
    name: str | None = None
    unit_price: Money | None = None


class ExchangeLine(OnxModel):
    """What the customer wants instead (onX exchange line item)."""

    sku: str
    quantity: int = Field(gt=0)
    name: str | None = None
    unit_price: Money | None = None
    # The replacement order's workflow id once it was started.
    exchange_order_id: str | None = None


class ReturnLabel(OnxModel):
    carrier: str
    tracking_number: str
    url: str | None = None
    status: str | None = None
    created_at: datetime | None = None


class ReturnRequest(OnxModel):
    """A return as Orderloop sees it after mapping the channel's payload."""

    _not_onx = frozenset({"channel_id", "external_order_id"})

    id: str  # Orderloop's return id: the return workflow id
    external_id: str  # the channel's return id
    channel_id: str
    tenant_id: str
    # The order's workflow id (`order/<channel>/<external id>`) and the channel's id of it.
    order_id: str
    external_order_id: str
    created_at: datetime
    updated_at: datetime
    outcome: ReturnOutcome = ReturnOutcome.REFUND
    return_number: str | None = None
    return_line_items: list[ReturnLine] = Field(min_length=1)
    exchange_line_items: list[ExchangeLine] = Field(default_factory=list)
    return_shipping_address: Address | None = None
    labels: list[ReturnLabel] = Field(default_factory=list)
    location_id: str | None = None
    status: str | None = None
    customer_note: str | None = None
    decline_reason: str | None = None
    requested_at: datetime | None = None
    received_at: datetime | None = None
    completed_at: datetime | None = None
    tags: list[str] = Field(default_factory=list)
    custom_fields: list[CustomField] = Field(default_factory=list)

    @property
    def is_exchange(self) -> bool:
        return self.outcome is ReturnOutcome.EXCHANGE and bool(self.exchange_line_items)

    def quantities(self) -> dict[str, int]:
        """SKU -> units the return announces."""
        wanted: dict[str, int] = {}
        for line in self.return_line_items:
            wanted[line.sku] = wanted.get(line.sku, 0) + line.quantity_returned
        return wanted

    def to_onx(self) -> dict[str, Any]:
        data = super().to_onx()
        data["totalQuantity"] = sum(line.quantity_returned for line in self.return_line_items)
        for key in ("createdAt", "updatedAt", "requestedAt", "receivedAt", "completedAt"):
            if key in data:
                data[key] = onx_time(getattr(self, _snake(key)))
        for label in data.get("labels", []):
            if "createdAt" in label:
                label["createdAt"] = label["createdAt"].replace("+00:00", "Z")
        return data


def onx_time(value: datetime) -> str:
    """onX's timestamp form: UTC with a `Z`."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _snake(camel: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in camel)


class ReceivedUnits(OnxModel):
    """Units of one SKU the warehouse received in one condition."""

    sku: str
    quantity: int = Field(gt=0)
    condition: ReturnCondition
    # The return line they belong to, when the warehouse says.
    line_id: str | None = None
    note: str | None = None


class ReturnReceipt(OnxModel):
    """What the warehouse received for one return (`Signals` of the return workflow carry it)."""

    return_id: str  # Orderloop's return id (the expected return's reference at the warehouse)
    lines: list[ReceivedUnits] = Field(min_length=1)
    location_id: str | None = None
    received_at: datetime | None = None
    received_by: str | None = None
    event_id: str | None = None

    def quantities(self, *conditions: ReturnCondition) -> dict[str, int]:
        """SKU -> units received in any of `conditions` (all conditions when none is given)."""
        got: dict[str, int] = {}
        for line in self.lines:
            if not conditions or line.condition in conditions:
                got[line.sku] = got.get(line.sku, 0) + line.quantity
        return got


class ReturnProgressKind(StrEnum):
    LABEL_ISSUED = "label_issued"
    IN_TRANSIT = "in_transit"
    CANCELLED = "cancelled"  # the channel (the customer) cancelled the return


class ReturnProgress(OnxModel):
    """A channel's or a warehouse's word on a return short of its receipt."""

    return_id: str
    kind: ReturnProgressKind
    label: ReturnLabel | None = None
    reason: str | None = None
    at: datetime | None = None
    event_id: str | None = None


class ExpectedReturn(OnxModel):
    """What Orderloop announces to the receiving warehouse (`create_return`)."""

    return_id: str  # our id: the vendor's reference / idempotency key
    order_id: str
    external_order_id: str
    channel_id: str
    fulfillment_channel_id: str
    location_id: str
    lines: list[ReturnLine] = Field(min_length=1)
    # Where the parcel comes from (the order's shipping address), when known.
    from_address: Address | None = None
    created_at: datetime


class ReturnException(OnxModel):
    kind: ReturnExceptionKind
    message: str
    detail: dict[str, Any] = Field(default_factory=dict)
    raised_at: datetime
    # When it was notified again as an escalation (nobody resolved it within the escalation delay).
    escalated_at: datetime | None = None
    resolved_at: datetime | None = None
    resolution: str | None = None

    @property
    def open(self) -> bool:
        return self.resolved_at is None


class ReturnView(OnxModel):
    """Everything an operator needs about one return: the return workflow's status query."""

    workflow_id: str
    channel_id: str
    external_id: str
    status: ReturnStatus
    received_at: datetime
    request: ReturnRequest | None = None
    raw_payload: dict[str, Any] | None = None
    order_workflow_id: str | None = None
    shipment_ids: list[str] = Field(default_factory=list)
    location_id: str | None = None
    fulfillment_channel_id: str | None = None
    authorised_by: str | None = None
    label: ReturnLabel | None = None
    receipt: ReturnReceipt | None = None
    restocked: dict[str, int] = Field(default_factory=dict)
    non_sellable: dict[str, int] = Field(default_factory=dict)
    exchange_order_id: str | None = None
    refund_pushed_at: datetime | None = None
    decline_reason: str | None = None
    exceptions: list[ReturnException] = Field(default_factory=list)
    # What an operator may do now (authorise, reject, receive, close); empty while it works.
    actions: list[str] = Field(default_factory=list)
    timeline: list[TimelineEntry] = Field(default_factory=list)
    closed_at: datetime | None = None

    @property
    def open_exception(self) -> ReturnException | None:
        for exc in reversed(self.exceptions):
            if exc.open:
                return exc
        return None
