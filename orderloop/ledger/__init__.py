"""The inventory ledger: stock, reservations, events and the availability outbox on SQLite or
PostgreSQL, plus the per-channel available-to-sell rules.
"""

from orderloop.ledger.availability import channel_quantities
from orderloop.ledger.errors import (
    BundleHasNoStock,
    InsufficientStock,
    InvalidOperatorName,
    InvalidQuantity,
    LedgerError,
    LedgerInvariantError,
    LedgerUnavailable,
    OperatorExists,
    ProductDefinitionError,
    ReservationConflict,
    UnknownOperator,
    UnknownReservation,
)
from orderloop.ledger.exchanges import (
    ExchangeDirection,
    ExchangeEntry,
    ExchangeFilter,
    ExchangeOutcome,
    ExchangeRow,
)
from orderloop.ledger.holds import HoldRow, HoldState
from orderloop.ledger.notices import NoticeRow, NoticeStatus, QueuedNotice
from orderloop.ledger.operations import OperationEvent, OperationKind, OperationRow
from orderloop.ledger.operators import IssuedOperator, OperatorRole, OperatorRow
from orderloop.ledger.rollouts import RolloutChange, RolloutRow, RolloutStage
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
    "ExchangeDirection",
    "ExchangeEntry",
    "ExchangeFilter",
    "ExchangeOutcome",
    "ExchangeRow",
    "HoldRow",
    "HoldState",
    "InboundSeen",
    "InsufficientStock",
    "InvalidOperatorName",
    "InvalidQuantity",
    "IssuedOperator",
    "Ledger",
    "LedgerError",
    "LedgerEvent",
    "LedgerInvariantError",
    "LedgerUnavailable",
    "NoticeRow",
    "NoticeStatus",
    "OperationEvent",
    "OperationKind",
    "OperationRow",
    "OperatorExists",
    "OperatorRole",
    "OperatorRow",
    "OutboxRow",
    "OversoldRow",
    "Product",
    "ProductDefinitionError",
    "QueuedNotice",
    "Reservation",
    "ReservationConflict",
    "ReservationLine",
    "ReservationState",
    "ReserveResult",
    "RolloutChange",
    "RolloutRow",
    "RolloutStage",
    "Shortage",
    "SnapshotResult",
    "SnapshotRow",
    "UnknownOperator",
    "UnknownReservation",
    "channel_quantities",
]
