"""Shopify returns <-> the canonical return: a return JSON (the body of the `returns/request`
webhook) becomes a `ReturnRequest`, and a `ReturnReceipt` becomes the dispositions of the
return's reverse fulfillment order line items (`reverseFulfillmentOrderDispose`).

The webhook body, as Shopify's webhook reference shows it: `{id, admin_graphql_api_id, name
("#1001-R1"), status ("requested", "open", ...), order: {id, admin_graphql_api_id},
total_return_line_items, return_line_items: [{id, admin_graphql_api_id, quantity, return_reason,
return_reason_note, customer_note, fulfillment_line_item: {id, admin_graphql_api_id, line_item:
{id, admin_graphql_api_id}}}], exchange_line_items: [...], return_shipping_fees}`. A line names
the order's line item by id only, so `with_line_items` copies each line item's SKU, name and
price in from the order (`GET /orders/{id}.json`) before mapping; the line's
`order_line_item_id` is that line item id, which is our order line's id (see `mapping`).

Receipt -> dispositions: sellable units `RESTOCKED` at the channel's location, damaged and
wrong-item units `NOT_RESTOCKED`, missing units `MISSING`, matched to the reverse fulfillment
order line items by SKU. Units a line item already has dispositions for are not disposed again
(a retried push after a lost answer disposes only what is left), and units the receipt does not
mention are left for the merchant.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from connectors.base import MappingError, validated_by
from connectors.json_values import money, text, utc_time
from connectors.signing import json_type
from orderloop.returns_model import (
    ExchangeLine,
    ReturnCondition,
    ReturnLine,
    ReturnOutcome,
    ReturnReceipt,
    ReturnRequest,
)

RETURN_GID = "gid://shopify/Return/"
LOCATION_GID = "gid://shopify/Location/"

DISPOSITIONS: dict[ReturnCondition, str] = {
    ReturnCondition.SELLABLE: "RESTOCKED",
    ReturnCondition.DAMAGED: "NOT_RESTOCKED",
    ReturnCondition.WRONG_ITEM: "NOT_RESTOCKED",
    ReturnCondition.MISSING: "MISSING",
}


def legacy_id(value: Any) -> str | None:
    """Shopify's numeric id (an integer, its text, or the tail of a `gid://shopify/...` id)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value) if value > 0 else None
    if isinstance(value, str):
        tail = value.strip().rsplit("/", 1)[-1]
        return tail if tail.isdigit() else None
    return None


def external_return_id(raw: Mapping[str, Any]) -> str | None:
    return legacy_id(raw.get("id")) or legacy_id(raw.get("admin_graphql_api_id"))


def return_order_id(raw: Mapping[str, Any]) -> str | None:
    order = raw.get("order")
    if isinstance(order, Mapping):
        return legacy_id(order.get("id")) or legacy_id(order.get("admin_graphql_api_id"))
    return legacy_id(raw.get("order_id"))


def _line_item(line: Mapping[str, Any]) -> Mapping[str, Any]:
    fli = line.get("fulfillment_line_item")
    item = fli.get("line_item") if isinstance(fli, Mapping) else None
    return item if isinstance(item, Mapping) else {}


def needs_line_items(raw: Mapping[str, Any]) -> bool:
    """True when a return line names its line item without its SKU (the webhook's shape)."""
    lines = raw.get("return_line_items")
    return isinstance(lines, list) and any(
        isinstance(line, Mapping) and not text(_line_item(line).get("sku")) for line in lines
    )


def with_line_items(raw: Mapping[str, Any], order: Mapping[str, Any]) -> dict[str, Any]:
    """`raw` with each return line's line item completed from the order JSON (sku, name,
    price); a line item the order does not have is left as it is (the mapping refuses it)."""
    items = {legacy_id(item.get("id")): item for item in order.get("line_items") or [] if isinstance(item, Mapping)}
    completed = dict(raw)
    lines = []
    for line in raw.get("return_line_items") or []:
        if not isinstance(line, Mapping):
            lines.append(line)
            continue
        fli = dict(line.get("fulfillment_line_item") or {})
        item = dict(fli.get("line_item") or {})
        known = items.get(legacy_id(item.get("id")))
        if known is not None:
            for key in ("sku", "name", "price", "variant_id"):
                item.setdefault(key, known.get(key))
            if not item.get("sku"):
                item["sku"] = known.get("sku")
        fli["line_item"] = item
        lines.append({**line, "fulfillment_line_item": fli})
    completed["return_line_items"] = lines
    completed.setdefault("currency", order.get("currency"))
    return completed


def map_return(
    raw: Mapping[str, Any],
    *,
    return_id: str,
    tenant_id: str,
    channel_id: str,
    order_id: str,
    received_at: datetime,
) -> ReturnRequest:
    """A Shopify return JSON (completed by `with_line_items`) -> `ReturnRequest`."""
    if not isinstance(raw, Mapping):
        raise MappingError(f"the return must be a JSON object, not {json_type(raw)}")
    external_id = external_return_id(raw)
    if external_id is None:
        raise MappingError("id is missing or not a Shopify return id")
    order_ref = return_order_id(raw)
    if order_ref is None:
        raise MappingError(f"return {external_id}: order.id is missing: the return cannot be linked to its order")
    lines = raw.get("return_line_items")
    if not isinstance(lines, list) or not lines:
        raise MappingError(f"return {external_id}: return_line_items is missing or empty")
    created = utc_time(raw.get("created_at")) or received_at
    return validated_by(
        lambda: ReturnRequest(
            id=return_id,
            external_id=external_id,
            channel_id=channel_id,
            tenant_id=tenant_id,
            order_id=order_id,
            external_order_id=order_ref,
            created_at=created,
            updated_at=utc_time(raw.get("updated_at")) or created,
            requested_at=created,
            outcome=ReturnOutcome.EXCHANGE if raw.get("exchange_line_items") else ReturnOutcome.REFUND,
            return_number=text(raw.get("name")),
            status=text(raw.get("status")),
            return_line_items=[_return_line(line, i, external_id) for i, line in enumerate(lines)],
            exchange_line_items=[_exchange_line(x, i) for i, x in enumerate(raw.get("exchange_line_items") or [])],
            customer_note=_customer_note(lines),
            decline_reason=_decline_reason(raw.get("decline")),
        ),
    )


def _customer_note(lines: list[Any]) -> str | None:
    notes = (text(line.get("customer_note")) for line in lines if isinstance(line, Mapping))
    return next((note for note in notes if note), None)


def _decline_reason(decline: Any) -> str | None:
    if not isinstance(decline, Mapping):
        return None
    return text(decline.get("note")) or text(decline.get("reason"))


def _return_line(line: Any, index: int, return_id: str) -> ReturnLine:
    where = f"return_line_items[{index}]"
    if not isinstance(line, Mapping):
        raise MappingError(f"{where} must be an object, not {json_type(line)}")
    line_id = legacy_id(line.get("id")) or legacy_id(line.get("admin_graphql_api_id"))
    item = _line_item(line)
    item_id = legacy_id(item.get("id")) or legacy_id(item.get("admin_graphql_api_id"))
    if line_id is None or item_id is None:
        raise MappingError(f"{where}: id or fulfillment_line_item.line_item.id is missing")
    sku = text(item.get("sku"))
    if not sku:
        raise MappingError(f"return {return_id}: line item {item_id} has no SKU (or is not on the order)")
    quantity = line.get("quantity")
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
        raise MappingError(f"{where}.quantity must be a positive integer, got {quantity!r}")
    price = money(item.get("price"), f"{where}.price")
    return ReturnLine(
        id=line_id,
        order_line_item_id=item_id,
        sku=sku,
        quantity_returned=quantity,
        return_reason=(text(line.get("return_reason")) or "unknown").lower(),
        name=text(item.get("name")),
        unit_price=price,
    )


def _exchange_line(item: Any, index: int) -> ExchangeLine:
    where = f"exchange_line_items[{index}]"
    if not isinstance(item, Mapping):
        raise MappingError(f"{where} must be an object, not {json_type(item)}")
    nested = item.get("line_item")
    variant: Mapping[str, Any] = nested if isinstance(nested, Mapping) else item
    sku = text(variant.get("sku"))
    quantity = variant.get("quantity", item.get("quantity"))
    if not sku or isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
        raise MappingError(f"{where}: an exchange line needs a sku and a positive quantity")
    return ExchangeLine(sku=sku, quantity=quantity, name=text(variant.get("name")))


# --- receipt -> dispositions --------------------------------------------------------------------


def plan_dispositions(
    reverse_fulfillment_orders: Iterable[Mapping[str, Any]],
    receipt: ReturnReceipt,
    location_id: int | None,
    restock: bool = True,
) -> list[dict[str, Any]]:
    """The `dispositionInputs` that record `receipt` on the return's reverse fulfillment order
    line items (GraphQL shape, see `graphql.RETURN`), leaving out units already disposed.
    `restock` off: sellable units are NOT_RESTOCKED too (Orderloop's ledger restocks them and
    publishes the availability; see `ShopifySettings.restock_returns`)."""
    rfos = list(reverse_fulfillment_orders)
    room: list[tuple[str, str, int]] = []  # (line item id, sku, units without a disposition)
    for rfo in rfos:
        for item in ((rfo.get("lineItems") or {}).get("nodes")) or []:
            line = ((item.get("fulfillmentLineItem") or {}).get("lineItem")) or {}
            done = sum(int(d.get("quantity") or 0) for d in item.get("dispositions") or [])
            left = int(item.get("totalQuantity") or 0) - done
            if left > 0 and text(line.get("sku")):
                room.append((str(item["id"]), str(line["sku"]), left))
    wanted: dict[tuple[str, str], int] = {}
    for units in receipt.lines:
        kind = DISPOSITIONS[units.condition]
        if kind == "RESTOCKED" and not restock:
            kind = "NOT_RESTOCKED"
        wanted[(units.sku, kind)] = wanted.get((units.sku, kind), 0) + units.quantity
    already = _already_disposed(rfos)
    inputs: list[dict[str, Any]] = []
    # Restocked first, so the units restocked are never short when a SKU's units are split.
    for (sku, kind), quantity in sorted(wanted.items(), key=lambda kv: (kv[0][1] != "RESTOCKED", kv[0])):
        need = quantity - already.get((sku, kind), 0)
        for index, (item_id, item_sku, left) in enumerate(room):
            if need <= 0:
                break
            if item_sku != sku or left <= 0:
                continue
            take = min(need, left)
            entry: dict[str, Any] = {
                "reverseFulfillmentOrderLineItemId": item_id,
                "quantity": take,
                "dispositionType": kind,
            }
            if kind == "RESTOCKED":
                if location_id is None:
                    raise MappingError("restocking needs the channel's Shopify location (settings.location_id)")
                entry["locationId"] = f"{LOCATION_GID}{location_id}"
            inputs.append(entry)
            room[index] = (item_id, item_sku, left - take)
            need -= take
    return inputs


def _already_disposed(rfos: Iterable[Mapping[str, Any]]) -> dict[tuple[str, str], int]:
    done: dict[tuple[str, str], int] = {}
    for rfo in rfos:
        for item in ((rfo.get("lineItems") or {}).get("nodes")) or []:
            sku = text((((item.get("fulfillmentLineItem") or {}).get("lineItem")) or {}).get("sku"))
            for disposition in item.get("dispositions") or []:
                key = (sku or "", str(disposition.get("type")))
                done[key] = done.get(key, 0) + int(disposition.get("quantity") or 0)
    return done


def rfo_nodes(found: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return list(((found.get("reverseFulfillmentOrders") or {}).get("nodes")) or [])
