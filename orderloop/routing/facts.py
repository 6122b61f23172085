"""What routing reads from an order, normalised once per decision: the rules and filters then
compare plain strings, sets and numbers."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any, Generic, TypeVar

from orderloop.model import Order, OrderLine
from orderloop.routing.geo import Point, locate, normalise_postal

# (sku, location id) -> units free to reserve; a missing pair means none.
Stock = dict[tuple[str, str], int]
# An order line as routing reads it (id, sku, quantity).
Line = OrderLine
# [sku, units wanted, units free]: what a location lacks for one SKU (a list, as in the trace).
Missing = list[Any]


_NO_TAGS: frozenset[str] = frozenset()
T = TypeVar("T")


class _lazy(Generic[T]):
    """A value computed on first read and then kept in the instance (`functools.cached_property`
    without its lock, which costs more than most of the values it would guard here)."""

    def __init__(self, compute: Callable[[Any], T]) -> None:
        self.compute = compute
        self.name = compute.__name__

    def __get__(self, instance: Any, owner: Any = None) -> T:
        value = instance.__dict__[self.name] = self.compute(instance)
        return value


class OrderFacts:
    """The order as the rules read it. Fields only some rules read are computed on first use."""

    def __init__(self, order: Order) -> None:
        self.order = order
        self.channel = order.channel_id
        self.order_type: str = order.order_type.value
        # A wholesale order the buyer wants in one shipment: no step splits it.
        self.ship_complete = order.wholesale is not None and order.wholesale.ship_complete
        self.tags = frozenset(tag.strip().lower() for tag in order.tags) if order.tags else _NO_TAGS
        self.lines: tuple[Line, ...] = tuple(order.line_items)
        needs: dict[str, int] = {}
        for line in self.lines:
            needs[line.sku] = needs.get(line.sku, 0) + line.quantity
        # Units wanted per SKU over all lines, in the order the SKUs first appear.
        self.needs = tuple(needs.items())
        address = order.shipping_address
        self.country = (address.country or "").strip().upper() if address else ""
        self.state = (address.state_or_province or "").strip().upper() if address else ""
        self.postal = normalise_postal(address.zip_code_or_postal_code) if address else ""
        # "US NY 10118": the destination as traces and reasons name it.
        self.destination = " ".join(part for part in (self.country, self.state, self.postal) if part) or "unknown"

    @_lazy
    def shipping_method(self) -> str:
        return (self.order.shipping_code or "").strip().lower()

    @_lazy
    def service_level(self) -> str:
        return (self.order.shipping_class or "").strip().lower()

    @_lazy
    def value(self) -> Decimal | None:
        return _order_value(self.order)

    @_lazy
    def point(self) -> Point | None:
        """The destination's coordinates."""
        return locate(self.country, self.postal)

    def missing_at(self, location_id: str, stock: Stock) -> list[Missing]:
        """[sku, units wanted, units free] for each SKU the location cannot cover."""
        missing: list[Missing] = []
        for sku, wanted in self.needs:
            free = stock.get((sku, location_id), 0)
            if free < wanted:
                missing.append([sku, wanted, free if free > 0 else 0])
        return missing


def _order_value(order: Order) -> Decimal | None:
    """`totalPrice`, else `subTotalPrice`, else the sum of priced lines (None if a line has no price)."""
    if order.total_price is not None:
        return order.total_price
    if order.sub_total_price is not None:
        return order.sub_total_price
    total = Decimal(0)
    for line in order.line_items:
        if line.total_price is not None:
            total += line.total_price
        elif line.unit_price is not None:
            total += line.unit_price * line.quantity
        else:
            return None
    return total


def describe_missing(missing: list[Missing]) -> str:
    return ", ".join(f"{sku} needs {wanted}, has {free}" for sku, wanted, free in missing)
