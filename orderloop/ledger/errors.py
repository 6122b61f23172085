"""Errors the ledger raises; each says what was refused and why, so an activity can map it to a
non-retryable failure an operator can search for by type.
"""

from __future__ import annotations


class LedgerError(Exception):
    """Base of every refusal by the ledger."""


class InvalidQuantity(LedgerError, ValueError):
    """A quantity that makes no sense for the operation (zero, negative)."""


class InsufficientStock(LedgerError):
    """A change would take on hand below zero or below what is reserved."""

    def __init__(self, sku: str, location_id: str, on_hand: int, reserved: int, delta: int):
        self.sku = sku
        self.location_id = location_id
        self.on_hand = on_hand
        self.reserved = reserved
        self.delta = delta
        super().__init__(
            f"cannot change on hand of {sku!r} at {location_id!r} by {delta}: on hand {on_hand}, "
            f"reserved {reserved}; on hand may not go below zero or below the reserved quantity"
        )


class ProductDefinitionError(LedgerError):
    """A product definition the ledger cannot hold (nested bundle, bad component quantity)."""


class BundleHasNoStock(LedgerError):
    """Stock was moved on a bundle SKU; a bundle's stock is its components' stock."""

    def __init__(self, sku: str):
        self.sku = sku
        super().__init__(f"{sku!r} is a bundle: receive or adjust its components instead")


class ReservationConflict(LedgerError):
    """An order line is already reserved differently (another location or quantity)."""


class UnknownReservation(LedgerError):
    """A shipment names an order line that was never reserved."""


class LedgerInvariantError(LedgerError):
    """The stored state contradicts itself (reserved below an open reservation); run
    `Ledger.check_invariants()` and reconcile before retrying.
    """


class LedgerUnavailable(LedgerError):
    """The ledger's database cannot be reached, or cannot write (disk full, read-only file), so
    nothing was changed: the caller retries later (an activity through Temporal's retries; the
    gateway answers 503, which the sender retries)."""


class OperatorExists(LedgerError):
    """An operator credential of that name exists already (revoked ones too: a name in an
    order's timeline stays one person's)."""


class UnknownOperator(LedgerError):
    """No operator credential of that name."""


class InvalidOperatorName(LedgerError, ValueError):
    """A name an operator credential cannot have (see orderloop.ledger.operators.OPERATOR_NAME)."""
