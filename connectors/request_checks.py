"""How a fulfillment connector tells the shipment poll how a sent request stands at the vendor:
still open, cancelled there, gone, or changed by hand (lines or address differ from what was
sent). A 3PL's own UI sends no webhook for such a change, so the poll is what notices it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

from connectors.base import PermanentError
from orderloop.activity_models import RequestCheck, RequestCondition
from orderloop.model import Address, ShippingRequest

# The address fields a hand edit that matters changes (where the parcel goes).
_ADDRESS_FIELDS = ("address1", "address2", "city", "zip_code_or_postal_code", "country")


def checked(
    request: ShippingRequest, quantities: Iterable[tuple[str, int]], address: Address | None = None
) -> RequestCheck:
    """OPEN, or CHANGED with what differs: the units per SKU the vendor holds against the request
    sent (`quantities`: (sku, quantity) pairs as the vendor lists them), and, when given, the
    address it ships to."""
    sent: dict[str, int] = {}
    for line in request.line_items:
        sent[line.sku] = sent.get(line.sku, 0) + line.quantity
    held: dict[str, int] = {}
    for sku, quantity in quantities:
        held[sku] = held.get(sku, 0) + quantity
    changes = [
        f"{sku}: {sent.get(sku, 0)} sent, {held.get(sku, 0)} at the vendor"
        for sku in sorted(set(sent) | set(held))
        if sent.get(sku, 0) != held.get(sku, 0)
    ]
    if address is not None:
        changes += [
            f"{name}: {getattr(request.shipping_address, name)!r} sent, {getattr(address, name)!r} at the vendor"
            for name in _ADDRESS_FIELDS
            if _norm(getattr(request.shipping_address, name)) != _norm(getattr(address, name))
        ]
    if changes:
        return RequestCheck(condition=RequestCondition.CHANGED, detail="; ".join(changes))
    return RequestCheck(condition=RequestCondition.OPEN)


def cancelled(status: str) -> RequestCheck:
    return RequestCheck(condition=RequestCondition.CANCELLED, detail=f"cancelled at the vendor (status {status})")


def missing(reference: str) -> RequestCheck:
    return RequestCheck(condition=RequestCondition.MISSING, detail=f"the vendor no longer knows {reference}")


async def read_back(
    request: ShippingRequest,
    order_id: str | None,
    read: Callable[[str], Awaitable[dict[str, Any]]],
    judge: Callable[[dict[str, Any]], RequestCheck],
    vendor: str,
) -> RequestCheck:
    """The check of a 3PL that keeps one order per request: MISSING when it has none
    (`order_id` None: not found by our request id) or answers 404 for it, else `judge` of the
    order `read` returns."""
    if order_id is None:
        return missing(request.id)
    try:
        order = await read(order_id)
    except PermanentError as exc:
        if exc.status_code == 404:
            return missing(f"{vendor} order {order_id}")
        raise
    return judge(order)


def _norm(value: object) -> str:
    return str(value or "").strip().casefold()


def quantities_of(lines: object, sku_key: str = "sku", quantity_key: str = "quantity") -> list[tuple[str, int]]:
    """(sku, quantity) pairs of a vendor's JSON line list (entries it cannot read are skipped)."""
    pairs: list[tuple[str, int]] = []
    for line in lines if isinstance(lines, list) else []:
        if isinstance(line, Mapping) and isinstance(line.get(sku_key), str):
            quantity = line.get(quantity_key)
            pairs.append((line[sku_key], quantity if isinstance(quantity, int) else 0))
    return pairs
