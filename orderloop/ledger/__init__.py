"""The inventory ledger: stock, reservations, events and the availability outbox on SQLite or
PostgreSQL, plus the per-channel available-to-sell rules.
"""

from orderloop.ledger.availability import channel_quantities
from orderloop.ledger.errors import (
    BundleHasNoStock,
    InsufficientStock,
    InvalidQuantity,
    LedgerError,
    LedgerInvariantError,
    LedgerUnavailable,
    ProductDefinitionError,
    ReservationConflict,
    UnknownReservation,
)
from orderloop.ledger.store import Ledger
from orderloop.ledger.types import (
    AllocationView,
    Cause,
    CauseKind,
    EventKind,
    InboundSeen,
    LedgerEvent,
    OutboxRow,
    OversoldRow,
    Product,
    Reservation,
    ReservationLine,
    ReservationState,
    ReserveResult,
    Shortage,
    SnapshotResult,
    SnapshotRow,
)

__all__ = [
    "AllocationView",
    "BundleHasNoStock",
    "Cause",
    "CauseKind",
    "EventKind",
    "InboundSeen",
    "InsufficientStock",
    "InvalidQuantity",
    "Ledger",
    "LedgerError",
    "LedgerEvent",
    "LedgerInvariantError",
    "LedgerUnavailable",
    "OutboxRow",
    "OversoldRow",
    "Product",
    "ProductDefinitionError",
    "Reservation",
    "ReservationConflict",
    "ReservationLine",
    "ReservationState",
    "ReserveResult",
    "Shortage",
    "SnapshotResult",
    "SnapshotRow",
    "UnknownReservation",
    "channel_quantities",
]
