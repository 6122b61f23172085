"""Value types of the inventory ledger: what callers pass in and what they get back.

They are frozen pydantic models so activities can carry them through Temporal's pydantic data
converter unchanged.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class _Value(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CauseKind(StrEnum):
    """Who or what moved stock."""

    ORDER = "order"
    FULFILLMENT_CHANNEL = "fulfillment_channel"
    OPERATOR = "operator"
    SYSTEM = "system"
    # A return's receipt (`ref` is the return id).
    RETURN = "return"


class Cause(_Value):
    """Why a movement happened: the kind of actor and its reference (order id, channel id, user)."""

    kind: CauseKind
    ref: str


class EventKind(StrEnum):
    """Kinds of ledger events; `delta` means a different quantity per kind (see `LedgerEvent`)."""

    RECEIVE = "receive"
    ADJUST = "adjust"
    SNAPSHOT = "snapshot"
    INBOUND = "inbound"
    RESERVE = "reserve"
    RELEASE = "release"
    SHIP = "ship"
    # Units a fulfillment channel reports shipped beyond the line's open reservation.
    OVERSHIP = "overship"
    # Returned units kept apart as non-sellable at a location (on hand does not change).
    NON_SELLABLE = "non_sellable"


class ReservationState(StrEnum):
    OPEN = "open"
    COMMITTED = "committed"
    RELEASED = "released"


class Product(_Value):
    """A sellable SKU; with `components` it is a bundle whose stock is its components' stock."""

    sku: str = Field(min_length=1)
    name: str | None = None
    components: dict[str, int] = Field(default_factory=dict)

    @property
    def is_bundle(self) -> bool:
        return bool(self.components)


class ReservationLine(_Value):
    """One order line to reserve at one location; a bundle SKU reserves its components."""

    line_id: str = Field(min_length=1)
    sku: str = Field(min_length=1)
    location_id: str = Field(min_length=1)
    quantity: int = Field(gt=0)


class Shortage(_Value):
    """A stock row that could not cover what the order asked of it (components for bundles)."""

    sku: str
    location_id: str
    requested: int
    available: int
    line_ids: list[str] = Field(default_factory=list)


class ReserveResult(_Value):
    reserved: bool
    shortages: list[Shortage] = Field(default_factory=list)
    already_reserved: bool = False


class Reservation(_Value):
    """Units held for one order line at one location; `line_sku` is the ordered (bundle) SKU."""

    order_id: str
    line_id: str
    sku: str
    line_sku: str
    units_per_line: int
    location_id: str
    quantity: int
    committed: int
    released: int
    state: ReservationState

    @property
    def open_quantity(self) -> int:
        return self.quantity - self.committed - self.released


class SnapshotRow(_Value):
    sku: str = Field(min_length=1)
    on_hand: int = Field(ge=0)
    inbound: int = Field(default=0, ge=0)


class OversoldRow(_Value):
    """A SKU whose reported on hand is below what is already reserved there (drift)."""

    sku: str
    location_id: str
    reported_on_hand: int
    reserved: int

    @property
    def shortfall(self) -> int:
        return self.reserved - self.reported_on_hand


class SnapshotResult(_Value):
    """What a snapshot did. `ignored_bundles`: bundle SKUs in the snapshot (they hold no stock)."""

    changed: int
    unchanged: int
    oversold: list[OversoldRow] = Field(default_factory=list)
    ignored_bundles: list[str] = Field(default_factory=list)


class LedgerEvent(_Value):
    """One movement. `delta` is the change of on hand for receive, adjust, snapshot and ship; of
    reserved for reserve and release; of inbound for inbound; for overship, the units shipped
    beyond the reservation, which the ledger did not apply (the next snapshot settles on hand).
    """

    id: int
    kind: EventKind
    sku: str
    location_id: str
    delta: int
    cause: Cause
    at: datetime


class OutboxRow(_Value):
    id: int
    sku: str
    created_at: datetime


class AllocationView(_Value):
    """What the allocate step reads from one snapshot (see `Ledger.allocation_view`)."""

    reservations: list[Reservation]
    unknown: set[str]
    available: dict[tuple[str, str], int]


class InboundSeen(_Value):
    """What the gateway reads about an inbound webhook before acting on it, from one snapshot
    (see `Ledger.inbound_seen`): whether its delivery was processed before, and the workflow id
    its order was accepted under (None: not accepted, or not asked)."""

    delivery: bool = False
    accepted_workflow_id: str | None = None


class ShippedLine(_Value):
    """What an order line shipped, as the ledger committed it, and what live returns already
    claim of it (see `Returns.shipped_lines`)."""

    line_id: str
    sku: str
    location_id: str
    shipped: int
    returned: int = 0
    last_shipped_at: datetime | None = None

    @property
    def returnable(self) -> int:
        return self.shipped - self.returned


class ReturnRecordLine(_Value):
    line_id: str = Field(min_length=1)
    order_line_id: str = Field(min_length=1)
    sku: str = Field(min_length=1)
    quantity: int = Field(gt=0)


class ReceiptRow(_Value):
    """Units of a SKU received in one condition and what the ledger did with them."""

    sku: str = Field(min_length=1)
    condition: str
    disposition: str
    quantity: int = Field(gt=0)
    location_id: str | None = None


class ReturnRecord(_Value):
    """A return as the ledger keeps it: joined to its order by `order_id` (None: an order
    Orderloop never saw) so the order view lists its returns."""

    return_id: str
    channel_id: str
    external_id: str
    order_id: str | None = None
    location_id: str | None = None
    shipment_ids: list[str] = Field(default_factory=list)
    status: str
    reason: str | None = None
    lines: list[ReturnRecordLine] = Field(default_factory=list)
    receipt: list[ReceiptRow] = Field(default_factory=list)
    created_at: datetime
    updated_at: datetime
