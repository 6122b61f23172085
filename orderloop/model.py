"""Orderloop's canonical order model, following the onX field names and shapes.

Attributes are snake_case in Python and camelCase on the wire (onX), both ways. Orderloop's own
fields that onX has no place for stay on the models but are left out of `to_onx()`, so an
exported order or fulfillment validates against the onX schemas.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer
from pydantic.alias_generators import to_camel

Money = Annotated[Decimal, PlainSerializer(float, return_type=float, when_used="json")]


class OnxModel(BaseModel):
    """Base: camelCase aliases on the wire, snake_case names in code, unknown fields ignored."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
    )

    # Orderloop-only fields a subclass keeps out of its onX export.
    _not_onx: frozenset[str] = frozenset()

    def to_onx(self) -> dict[str, Any]:
        exclude: Any = self._onx_exclude()
        return self.model_dump(mode="json", exclude_none=True, exclude=exclude)

    def _onx_exclude(self) -> dict[str | int, Any]:
        """Orderloop-only fields of this model and of every nested one, as pydantic's exclude."""
        exclude: dict[str | int, Any] = {name: True for name in self._not_onx}
        for name in type(self).model_fields:
            if name in exclude:
                continue
            value = getattr(self, name)
            if isinstance(value, OnxModel):
                nested = value._onx_exclude()
                if nested:
                    exclude[name] = nested
            elif isinstance(value, list):
                items = {i: v._onx_exclude() for i, v in enumerate(value) if isinstance(v, OnxModel)}
                items = {i: ex for i, ex in items.items() if ex}
                if items:
                    exclude[name] = items
        return exclude


class ConnectorRole(StrEnum):
    SELLING = "selling"
    FULFILLMENT = "fulfillment"


class OrderType(StrEnum):
    STANDARD = "standard"
    PRE_ORDER = "pre_order"
    BUNDLE = "bundle"
    SUBSCRIPTION = "subscription"
    WHOLESALE = "wholesale"


class OrderStatus(StrEnum):
    """Where an order is in its lifecycle; the value of the `OrderStatus` search attribute."""

    RECEIVED = "received"
    IN_HOLD_WINDOW = "in_hold_window"
    # A wholesale order waiting for its ship window to open (`WholesaleTerms.ship_after_date`).
    AWAITING_SHIP_DATE = "awaiting_ship_date"
    ALLOCATED = "allocated"
    SENT_TO_FULFILLMENT = "sent_to_fulfillment"
    PARTIALLY_SHIPPED = "partially_shipped"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    EXCEPTION = "exception"


class ExceptionKind(StrEnum):
    """Why an order is on hold; the value of the `OrderException` search attribute."""

    INVALID_ORDER = "invalid_order"
    INVALID_ADDRESS = "invalid_address"
    UNKNOWN_SKU = "unknown_sku"
    OUT_OF_STOCK = "out_of_stock"
    UNROUTABLE = "unroutable"
    SHIPPING_REQUEST_REJECTED = "shipping_request_rejected"
    SLA_BREACH = "sla_breach"
    CANCEL_AFTER_SHIP = "cancel_after_ship"
    CANCEL_FAILED = "cancel_failed"
    EDIT_AFTER_RELEASE = "edit_after_release"
    TRACKING_REJECTED = "tracking_rejected"
    # The 3PL holds a shipping request or cannot go on with it (an address problem, out of stock
    # at its warehouse), with its reason; cleared when the shipment proceeds or by an operator.
    FULFILLMENT_HOLD = "fulfillment_hold"
    # The shipment poll found a sent request changed at the 3PL by hand (lines or address differ
    # from what was sent; no webhook tells of it); the diff in the detail.
    FULFILLMENT_CHANGED = "fulfillment_changed"
    # A case the selling channel raised on the order (a dispute, a buyer's cancellation request,
    # an acknowledgement overdue): the connector's own kind is `OrderException.channel_kind`.
    CHANNEL_EXCEPTION = "channel_exception"
    # A wholesale line whose quantity is not a multiple of its case pack (found at ingest, with
    # each such line in the reason): the buyer amends the order (its edit re-maps it) or the
    # order is cancelled.
    CASE_PACK_VIOLATION = "case_pack_violation"


class Address(OnxModel):
    address1: str | None = None
    address2: str | None = None
    city: str | None = None
    company: str | None = None
    country: str | None = None
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None
    state_or_province: str | None = None
    zip_code_or_postal_code: str | None = None

    def missing_fields(self) -> list[str]:
        """Fields a carrier label cannot do without (by their onX names)."""
        required = {
            "address1": self.address1,
            "city": self.city,
            "country": self.country,
            "zipCodeOrPostalCode": self.zip_code_or_postal_code,
        }
        return [name for name, value in required.items() if not (value or "").strip()]


class CustomField(OnxModel):
    name: str
    value: str


class Customer(OnxModel):
    id: str | None = None
    external_id: str | None = None
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None
    tags: list[str] = Field(default_factory=list)


class OrderLine(OnxModel):
    """One line of an order. `id` is the line's key within the order (reservations use it)."""

    id: str
    external_id: str | None = None
    sku: str
    quantity: int = Field(gt=0)
    unit_price: Money | None = None
    unit_discount: Money | None = None
    total_price: Money | None = None
    name: str | None = None
    custom_fields: list[CustomField] = Field(default_factory=list)
    # Where this line ships when the order ships to several addresses (a BigCommerce order's
    # products each name their `order_address_id`), and the channel's reference to that
    # address; None: the order's `shipping_address`. onX line items carry no address, so these
    # stay out of the export (the channel's reference is also among the custom fields).
    shipping_address: Address | None = None
    address_ref: str | None = None
    # A wholesale line's case pack: the quantity must be a multiple of it (a line that is not
    # is an exception at ingest). None: sold by the unit.
    case_pack: int | None = Field(default=None, gt=0)

    _not_onx = frozenset({"shipping_address", "address_ref", "case_pack"})


class PaymentTerms(OnxModel):
    """A wholesale buyer's terms (onX `paymentTerms`), e.g. code NET30: due in 30 days; with a
    discount, 2 % if paid within 10 days (2/10 net 30)."""

    code: str
    net_days: int | None = Field(default=None, ge=0)
    discount_percent: Decimal | None = Field(default=None, ge=0, le=100)
    discount_days: int | None = Field(default=None, ge=0)
    description: str | None = None


class MarkFor(OnxModel):
    """The retailer's own location the goods are for (onX `markforAddress`): a store or DC
    number (`locationIdentifier`), its name and address."""

    location_identifier: str
    name: str | None = None
    address: Address | None = None


class LineDecision(OnxModel):
    """What Orderloop decided on one order line once the order was allocated, for a channel
    that wants to be told (an EDI partner's 855 acknowledgement, a B2B portal's order status):
    accepted in full, changed (a lower quantity accepted), or rejected, with the reason."""

    line_id: str
    sku: str
    ordered: int = Field(ge=0)
    accepted: int = Field(ge=0)
    status: Literal["accepted", "changed", "rejected"]
    reason: str | None = None


class WholesaleTerms(OnxModel):
    """What makes an order a wholesale one (B2B portal, EDI 850): the buyer's purchase order,
    account and terms, the ship window, whether it must ship complete, the retailer's mark-for
    location and its routing instructions. The ship window is the order's SLA: nothing is sent
    before `ship_after_date`, and `ship_cancel_by_date` is the buyer's cancel-if-not-shipped-by."""

    customer_po_number: str
    buyer_account: str
    payment_terms: PaymentTerms | None = None
    ship_after_date: datetime | None = None
    ship_cancel_by_date: datetime | None = None
    ship_complete: bool = True
    mark_for: MarkFor | None = None
    requested_carrier: str | None = None
    routing_instructions: str | None = None
    # The partner's references an answer must quote back (e.g. an EDI partner's ISA/GS ids and
    # the 850's control numbers; a portal's account reference), opaque to everything else.
    partner_refs: dict[str, str] = Field(default_factory=dict)

    def onx_custom_fields(self) -> list[dict[str, str]]:
        """The terms as onX custom fields, named as onX's reference server names the order's
        own fields (`customerPONumber`, `paymentTerms`, `shipAfterDate`, `shipCancelByDate`):
        the published onX order schema has no such fields and admits no others."""
        fields = {"customerPONumber": self.customer_po_number, "buyerAccount": self.buyer_account}
        if self.payment_terms is not None:
            fields["paymentTerms"] = self.payment_terms.code
        if self.ship_after_date is not None:
            fields["shipAfterDate"] = self.ship_after_date.isoformat()
        if self.ship_cancel_by_date is not None:
            fields["shipCancelByDate"] = self.ship_cancel_by_date.isoformat()
        if self.mark_for is not None:
            fields["markforLocationIdentifier"] = self.mark_for.location_identifier
        return [{"name": name, "value": value} for name, value in fields.items()]


class Order(OnxModel):
    """A sales order as Orderloop sees it after mapping the channel's payload."""

    _not_onx = frozenset({"order_type", "channel_id", "ship_by_date", "wholesale"})

    id: str
    external_id: str
    tenant_id: str
    created_at: datetime
    updated_at: datetime
    channel_id: str
    order_type: OrderType = OrderType.STANDARD
    name: str | None = None
    status: str | None = None
    currency: str | None = None
    customer: Customer | None = None
    line_items: list[OrderLine] = Field(min_length=1)
    billing_address: Address | None = None
    # Where the order ships; for an order shipping to several addresses (its lines carry their
    # own, see `OrderLine.shipping_address`), the first line's, and `address_parts` has them all.
    shipping_address: Address | None = None
    shipping_carrier: str | None = None
    shipping_class: str | None = None
    shipping_code: str | None = None
    shipping_note: str | None = None
    shipping_price: Money | None = None
    order_discount: Money | None = None
    order_note: str | None = None
    order_source: str | None = None
    order_tax: Money | None = None
    payment_status: str | None = None
    sub_total_price: Money | None = None
    total_price: Money | None = None
    tags: list[str] = Field(default_factory=list)
    gift_note: str | None = None
    custom_fields: list[CustomField] = Field(default_factory=list)
    # The channel's own ship-by date (a marketplace's, counted in its business days), named as
    # onX's fulfillment `shipByDate`; when set it is the order's ship-by deadline.
    ship_by_date: datetime | None = None
    # Set on a wholesale order (`order_type` wholesale); exported as onX custom fields (see
    # `WholesaleTerms.onx_custom_fields`).
    wholesale: WholesaleTerms | None = None

    def line(self, line_id: str) -> OrderLine:
        for line in self.line_items:
            if line.id == line_id:
                return line
        raise KeyError(line_id)

    def to_onx(self) -> dict[str, Any]:
        data = super().to_onx()
        data.setdefault("orderSource", self.channel_id)
        if self.customer is not None:
            # onX requires these on an embedded customer; Orderloop does not own customers.
            customer = data["customer"]
            customer.setdefault("id", self.customer.external_id or f"{self.id}/customer")
            customer.setdefault("createdAt", data["createdAt"])
            customer.setdefault("updatedAt", data["updatedAt"])
            customer.setdefault("tenantId", self.tenant_id)
        if self.wholesale is not None:
            fields = data.setdefault("customFields", [])
            named = {f.get("name") for f in fields}
            fields.extend(f for f in self.wholesale.onx_custom_fields() if f["name"] not in named)
        return data


class ShipmentLine(OnxModel):
    sku: str
    quantity: int = Field(gt=0)
    # Orderloop's order line key; the fulfillment channel may not know it.
    line_id: str | None = None

    _not_onx = frozenset({"line_id"})


class RequestLine(OnxModel):
    line_id: str
    sku: str
    quantity: int = Field(gt=0)
    # A wholesale line's case pack (`OrderLine.case_pack`): each case is one carton.
    case_pack: int | None = None


class ShippingDocument(OnxModel):
    """A document that goes with a shipping request (a wholesale order's packing slip and
    GS1-128 carton labels), rendered by the send activity for the fulfillment connector to
    carry; `content` is the PDF (base64 in JSON). The order keeps only its `DocumentRef`."""

    model_config = ConfigDict(**OnxModel.model_config, ser_json_bytes="base64", val_json_bytes="base64")

    kind: Literal["packing_slip", "carton_labels", "invoice"]
    filename: str
    content_type: str = "application/pdf"
    content: bytes
    # The cartons' SSCC-18s (carton labels and packing slip).
    ssccs: list[str] = Field(default_factory=list)

    def ref(self) -> DocumentRef:
        return DocumentRef(
            kind=self.kind,
            filename=self.filename,
            sha256=hashlib.sha256(self.content).hexdigest(),
            size=len(self.content),
            ssccs=self.ssccs,
        )


class DocumentRef(OnxModel):
    """What the order view keeps of a document sent with a request (or to the buyer)."""

    kind: str
    filename: str
    sha256: str
    size: int
    ssccs: list[str] = Field(default_factory=list)


class ShippingRequest(OnxModel):
    """What Orderloop asks one fulfillment location to ship."""

    id: str
    idempotency_key: str
    order_id: str
    channel_id: str
    external_order_id: str
    fulfillment_channel_id: str
    location_id: str
    line_items: list[RequestLine]
    shipping_address: Address
    shipping_code: str | None = None
    created_at: datetime
    # A wholesale order's terms (PO number, mark-for, routing instructions), for its documents.
    wholesale: WholesaleTerms | None = None
    # Set by the send activity before the fulfillment connector sees the request (never by the
    # workflow): the packing slip and carton labels of a wholesale order, for a connector that
    # carries documents (the generic WMS sends them with the request).
    documents: list[ShippingDocument] = Field(default_factory=list)

    @staticmethod
    def request_id(order_id: str, sequence: int) -> str:
        return f"{order_id}/sr{sequence}"

    @staticmethod
    def order_id_of(request_id: str) -> str:
        """The order workflow id a shipping request id belongs to (see `request_id`)."""
        order_id, sep, suffix = request_id.rpartition("/")
        if not sep or not suffix.startswith("sr") or not order_id.startswith("order/"):
            raise ValueError(f"not an Orderloop shipping request id: {request_id!r}")
        return order_id


class Shipment(OnxModel):
    """A parcel a fulfillment channel reports shipped, for one shipping request."""

    _not_onx = frozenset({"shipping_request_id", "tracking_url", "shipped_at", "fulfillment_channel_id"})

    id: str
    shipping_request_id: str
    fulfillment_channel_id: str | None = None
    location_id: str | None = None
    line_items: list[ShipmentLine] = Field(min_length=1)
    tracking_numbers: list[str] = Field(default_factory=list)
    shipping_carrier: str | None = None
    tracking_url: str | None = None
    shipped_at: datetime | None = None

    def to_onx_fulfillment(self, tenant_id: str, order_id: str) -> dict[str, Any]:
        """The onX fulfillment document for this shipment."""
        at = (self.shipped_at or datetime.fromtimestamp(0, UTC)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        data = self.to_onx()
        data.update(
            {
                "orderId": order_id,
                "tenantId": tenant_id,
                "createdAt": at,
                "updatedAt": at,
                "status": "shipped",
            }
        )
        if self.tracking_url:
            data["customFields"] = [{"name": "trackingUrl", "value": self.tracking_url}]
        return data


class OrderException(OnxModel):
    kind: ExceptionKind
    message: str
    detail: dict[str, Any] = Field(default_factory=dict)
    raised_at: datetime
    escalated_at: datetime | None = None
    resolved_at: datetime | None = None
    resolution: str | None = None
    # Orders of revision 4 on: the playbook followed, the sinks told so far (each is told of
    # the resolution too), the escalation levels fired, why it waits for a person if it does,
    # and who resolved it ("rule <name>", "operator <name>"; None: the order itself moved on).
    playbook: str | None = None
    notified: list[str] = Field(default_factory=list)
    escalations: int = 0
    review_required: str | None = None
    resolved_by: str | None = None
    # A channel exception (kind `channel_exception`): the connector's kind (one its spec
    # declares), the channel's reference to the case, the channel's deadline to answer it, and
    # whether that deadline has passed (escalated once when it does).
    channel_kind: str | None = None
    reference: str | None = None
    deadline: datetime | None = None
    deadline_passed: bool = False

    @property
    def open(self) -> bool:
        return self.resolved_at is None

    @property
    def code(self) -> str:
        """The kind playbooks, notices and the search attribute name: the channel's own kind
        for a channel exception."""
        return self.channel_kind or str(self.kind)


class StockLevel(OnxModel):
    sku: str
    location_id: str
    on_hand: int
    reserved: int = 0
    available: int


@dataclass(frozen=True)
class StockRow:
    """One SKU's level as a fulfillment channel reports it. `location_ref` is the Orderloop
    location id the connector mapped the vendor's warehouse to, or None when the channel has one
    location."""

    sku: str
    on_hand: int
    available: int | None = None
    committed: int | None = None
    inbound: int = 0
    location_ref: str | None = None


class AllocatedLine(OnxModel):
    line_id: str
    sku: str
    quantity: int


class LocationAssignment(OnxModel):
    location_id: str
    fulfillment_channel_id: str
    line_items: list[AllocatedLine]


class Allocation(OnxModel):
    """Where each line ships from, and why (the routing engine's explanation)."""

    assignments: list[LocationAssignment]
    rule: str | None = None
    explanation: list[str] = Field(default_factory=list)
    trace: dict[str, Any] = Field(default_factory=dict)


class TimelineEntry(OnxModel):
    at: datetime
    event: str
    detail: str | None = None


class ShippingRequestState(StrEnum):
    SENT = "sent"
    REJECTED = "rejected"
    CANCELLED = "cancelled"
    SHIPPED = "shipped"
    PARTIALLY_SHIPPED = "partially_shipped"


class ShippingRequestView(OnxModel):
    request: ShippingRequest
    state: ShippingRequestState
    vendor_id: str | None = None
    # The documents sent with the request (a wholesale order's packing slip and labels).
    documents: list[DocumentRef] = Field(default_factory=list)
    # When the fulfillment channel reported the parcel(s) of this request delivered.
    delivered_at: datetime | None = None


class LineProgress(OnxModel):
    line_id: str
    sku: str
    ordered: int
    shipped: int = 0
    cancelled: int = 0

    @property
    def open(self) -> int:
        return self.ordered - self.shipped - self.cancelled


class OrderView(OnxModel):
    """Everything an operator needs about one order: the `status` query's answer."""

    workflow_id: str
    channel_id: str
    external_id: str
    status: OrderStatus
    received_at: datetime
    order: Order | None = None
    raw_payload: dict[str, Any] | None = None
    allocation: Allocation | None = None
    shipping_requests: list[ShippingRequestView] = Field(default_factory=list)
    shipments: list[Shipment] = Field(default_factory=list)
    lines: list[LineProgress] = Field(default_factory=list)
    exceptions: list[OrderException] = Field(default_factory=list)
    timeline: list[TimelineEntry] = Field(default_factory=list)
    completed_at: datetime | None = None
    # When the order must have shipped (the ship-by clock; orders of revision 2 on).
    ship_by_deadline: datetime | None = None

    @property
    def open_exception(self) -> OrderException | None:
        for exc in reversed(self.exceptions):
            if exc.open:
                return exc
        return None
