"""An order's address parts: its lines grouped by where they ship. An order whose lines carry
no address of their own is one part, shipped to `Order.shipping_address`; a channel's order
shipping to several addresses (BigCommerce's products, each bound to an `order_address_id`) has
one part per address, routed, sent and tracked on its own: routing never puts lines of two
parts in one location assignment, so each shipping request, and each of its parcels, goes to
one address.

Pure functions of the order: routing, allocation and the order workflow all read them.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass

from orderloop.model import Address, Order, OrderLine


@dataclass(frozen=True)
class AddressPart:
    """The lines that ship to one address. `ref` is the channel's reference to the address
    (None for the order's own `shipping_address`)."""

    ref: str | None
    address: Address | None
    lines: tuple[OrderLine, ...]

    @property
    def line_ids(self) -> list[str]:
        return [line.id for line in self.lines]

    def describe(self) -> str:
        """ "address 51 (line(s) 65, 66)": the part as messages name it."""
        where = f"address {self.ref}" if self.ref else "shipping address"
        return f"{where} (line(s) {', '.join(self.line_ids)})"


def has_line_addresses(order: Order) -> bool:
    """Whether some line ships to an address of its own (a multi-address order)."""
    return any(line.shipping_address is not None or line.address_ref is not None for line in order.line_items)


def address_parts(order: Order) -> list[AddressPart]:
    """The order's lines grouped by address, in the order of their first line; one part (every
    line, the order's address) when no line carries an address of its own."""
    if not has_line_addresses(order):
        return [AddressPart(None, order.shipping_address, tuple(order.line_items))]
    groups: dict[tuple[str | None, str], list[OrderLine]] = {}
    addresses: dict[tuple[str | None, str], Address | None] = {}
    for line in order.line_items:
        address = line.shipping_address or order.shipping_address
        key = (line.address_ref, address.model_dump_json() if address is not None else "")
        groups.setdefault(key, []).append(line)
        addresses.setdefault(key, address)
    return [AddressPart(key[0], addresses[key], tuple(lines)) for key, lines in groups.items()]


def part_order(order: Order, part: AddressPart) -> Order:
    """The order cut to one part's lines, shipping to that part's address (what routing reads)."""
    return order.model_copy(update={"line_items": list(part.lines), "shipping_address": part.address})


def request_address(order: Order, line_ids: Iterable[str]) -> Address | None:
    """Where a shipping request for `line_ids` goes: their own address when they carry one (all
    of one part: routing never assigns two parts together), else the order's."""
    wanted = set(line_ids)
    for line in order.line_items:
        if line.id in wanted and line.shipping_address is not None:
            return line.shipping_address
    return order.shipping_address


def missing_address(order: Order) -> str | None:
    """Why the order cannot ship yet for want of an address (None: every part's address has
    what a label needs). A one-address order reads as it always has."""
    if not has_line_addresses(order):
        address = order.shipping_address
        missing = address.missing_fields() if address is not None else ["shippingAddress"]
        return f"shipping address lacks {', '.join(missing)}" if missing else None
    reasons = []
    for part in address_parts(order):
        missing = part.address.missing_fields() if part.address is not None else ["shippingAddress"]
        if missing:
            reasons.append(f"{part.describe()} lacks {', '.join(missing)}")
    return "; ".join(reasons) or None


def incomplete_line_ids(order: Order) -> list[str]:
    """The lines of the parts whose address lacks what a label needs."""
    return [
        line_id
        for part in address_parts(order)
        if part.address is None or part.address.missing_fields()
        for line_id in part.line_ids
    ]


def amended(order: Order, address: Address, line_ids: Collection[str]) -> Order:
    """The multi-address order with the parts of `line_ids` shipping to `address` (each line
    keeps its channel reference, so its parcels stay bound to it); the order's own
    `shipping_address` follows when it was the address of one of those parts."""
    replaced = [line.shipping_address for line in order.line_items if line.id in line_ids]
    lines = [
        line.model_copy(update={"shipping_address": address}) if line.id in line_ids else line
        for line in order.line_items
    ]
    update: dict[str, object] = {"line_items": lines}
    if order.shipping_address is None or any(a is None or a == order.shipping_address for a in replaced):
        update["shipping_address"] = address
    return order.model_copy(update=update)
