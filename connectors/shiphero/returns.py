"""ShipHero returns (RMAs) <-> the canonical return: an `ExpectedReturn` becomes `return_create`'s
`CreateReturnInput` on the ShipHero order that shipped the returned lines (our return id is its
`partner_id`), and a ShipHero `Return` read back becomes a `ReturnReceipt` once the warehouse is
done receiving it.

What ShipHero documents (found with `search`, December 2026):
- developer.shiphero.com/flows/returns: get the order (`order` / `orders` by `order_number`,
  `partner_order_id`, `shop_name`), create the return with `return_create`, follow it with the
  Return Update webhook, read it back (`return(id)`), update or complete it
  (`return_update_status`).
- The input and the `Return` type: the schema introspected from the endpoint (see
  `connectors.shiphero.schema`): `order_id`, `warehouse_id`, `return_reason`, `label_type`
  (FLAT_RATE, FREE, PAID, SELF_RETURN), `label_cost`, `address`, `dimensions`,
  `shipping_carrier`, `shipping_method`, `line_items[{sku, quantity, return_reason, condition}]`
  (each sku one of the order's line items), `partner_id`; a return line counts `quantity`,
  `quantity_received`, `restock` and carries a free-text `condition`.
- The Return Update webhook (developer.shiphero.com/webhooks/return-update-webhook): fired when a
  return is created or updated, body `{webhook_type: "Return Update", return_id, return_uuid,
  status, reason, items[{id, uuid, quantity, quantity_received, sku, item_reason, restock,
  partner_line_item_id, warehouse_id}], order_id, order_uuid, partner_order_id, order_number,
  shop_name, created_at, label_type, label_cost, picked_up, tracking_number, date_used}`; it does
  not carry `partner_id` nor each line's condition, so the connector reads the return back.
- Statuses (software-help.shiphero.com "How to Use Return Statuses"): Pending (open RMA), Warehouse
  Complete (inventory received at the warehouse), Complete (fully processed); accounts may add
  custom ones (`ShipHeroSettings.return_received_statuses` names the finished ones).
Not found, assumed [?]: the spelling of the statuses in the API (compared without case), that
`returns` returns every return of the account when no filter is given, and that the webhook's
`picked_up` turns true once the carrier has the parcel (then in transit, with its
`tracking_number`).

Conditions: the units ShipHero `restock`ed were found sellable; received units not restocked are
damaged, or wrong items when their `condition` says so (ShipHero's condition is free text); units
announced but not received when the return is finished are missing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from connectors.base import MappingError
from connectors.json_values import integer, text, utc_time
from connectors.shiphero.mapping import FulfillmentStatus, ShipHeroSettings
from connectors.signing import json_type
from orderloop.model import Address, ShippingRequest
from orderloop.returns_model import (
    ExpectedReturn,
    ReceivedUnits,
    ReturnCondition,
    ReturnLabel,
    ReturnProgress,
    ReturnProgressKind,
    ReturnReceipt,
)

DEFAULT_REASON = "Customer return"
_WRONG_ITEM_WORDS = ("wrong", "incorrect", "not the item", "different item")


def order_for_return(orders: Iterable[Mapping[str, Any]], expected: ExpectedReturn) -> Mapping[str, Any]:
    """The ShipHero order that shipped every returned line (its line items' `partner_line_item_id`
    is `<our request id>/<order line id>`, its `partner_order_id` a request of the return's order).
    Lines shipped from two ShipHero orders are refused: ShipHero keeps one return per order."""
    wanted = {line.order_line_item_id for line in expected.lines}
    holders: dict[str, Mapping[str, Any]] = {}
    found: set[str] = set()
    for order in orders:
        if not _of_order(order, expected.order_id) or order.get("fulfillment_status") == FulfillmentStatus.CANCELED:
            continue
        lines = {_line_id(order, item) for item in line_items(order)} & wanted
        if lines:
            holders[str(order.get("id"))] = order
            found |= lines
    if not holders:
        raise MappingError(f"ShipHero has no order of {expected.order_id} with the returned lines")
    if len(holders) > 1:
        raise MappingError(
            f"the returned lines were shipped in ShipHero orders {', '.join(sorted(holders))}: "
            "ShipHero takes one return per order"
        )
    if found != wanted:
        raise MappingError(f"ShipHero's order of {expected.order_id} has no line {', '.join(sorted(wanted - found))}")
    return next(iter(holders.values()))


def return_input(expected: ExpectedReturn, order: Mapping[str, Any], settings: ShipHeroSettings) -> dict[str, Any]:
    """`CreateReturnInput` for the expected return on `order` (see `order_for_return`)."""
    skus = {_line_id(order, item): text(item.get("sku")) for item in line_items(order)}
    quantities: dict[str, int] = {}
    reasons: dict[str, str] = {}
    for line in expected.lines:
        sku = skus.get(line.order_line_item_id) or line.sku
        quantities[sku] = quantities.get(sku, 0) + line.quantity_returned
        reasons.setdefault(sku, _reason(line.return_reason))
    warehouse = settings.locations.warehouse_if_mapped(expected.location_id) or _warehouse_of(order)
    if warehouse is None:
        raise MappingError(f"no ShipHero warehouse for location {expected.location_id!r}")
    data: dict[str, Any] = {
        "order_id": str(order["id"]),
        "warehouse_id": warehouse,
        "return_reason": next(iter(reasons.values()), DEFAULT_REASON),
        "label_type": settings.return_label_type,
        "label_cost": "0.00",
        "address": address_input(expected.from_address, order.get("shipping_address")),
        "dimensions": dict(settings.return_dimensions),
        "shipping_carrier": settings.return_carrier,
        "shipping_method": settings.return_method,
        "line_items": [
            {"sku": sku, "quantity": quantity, "return_reason": reasons[sku]}
            for sku, quantity in sorted(quantities.items())
        ],
        "partner_id": expected.return_id,
    }
    if settings.customer_account_id:
        data["customer_account_id"] = settings.customer_account_id
    return data


def address_input(address: Address | None, shipped_to: Any) -> dict[str, Any]:
    """`AddressInput`: where the parcel comes from (the return's address, else the order's)."""
    if address is not None:
        name = " ".join(p for p in (address.first_name, address.last_name) if p) or address.company
        return {
            "name": name,
            "address1": address.address1,
            "address2": address.address2,
            "city": address.city,
            "state": address.state_or_province,
            "country": address.country,
            "zip": address.zip_code_or_postal_code,
            "phone": address.phone,
        }
    given = shipped_to if isinstance(shipped_to, Mapping) else {}
    name = " ".join(str(given[k]) for k in ("first_name", "last_name") if given.get(k)) or given.get("company")
    return {
        "name": name,
        **{key: given.get(key) for key in ("address1", "address2", "city", "state", "country", "zip", "phone")},
    }


def line_items(order: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """An order's line items (the nodes of its `line_items` connection)."""
    edges = (order.get("line_items") or {}).get("edges") or []
    return [e["node"] for e in edges if isinstance(e, Mapping) and isinstance(e.get("node"), Mapping)]


def receipt_from_return(ret: Any, settings: ShipHeroSettings, event_id: str | None = None) -> ReturnReceipt | None:
    """The receipt of a ShipHero return the warehouse finished receiving (its status is one of
    `return_received_statuses`); None while it is still being received or nothing came."""
    if not isinstance(ret, Mapping):
        raise MappingError(f"a return must be a JSON object, not {json_type(ret)}")
    if not settings.return_received(ret.get("status")):
        return None
    reference = text(ret.get("partner_id"))
    if reference is None:
        raise MappingError(f"return {ret.get('id')}: partner_id (Orderloop's return id) is missing")
    lines: list[ReceivedUnits] = []
    warehouses: list[str] = []
    for index, item in enumerate(ret.get("line_items") or []):
        if not isinstance(item, Mapping):
            raise MappingError(f"return {ret.get('id')}: line_items[{index}] is not an object")
        lines.extend(_units(item, str(ret.get("id")), index))
        warehouse = text(item.get("warehouse_id"))
        if warehouse:
            warehouses.append(warehouse)
    if not lines:
        return None
    try:
        return ReturnReceipt(
            return_id=reference,
            lines=_merged(lines),
            location_id=settings.locations.location_of(warehouses[0]) if warehouses else None,
            received_at=_last_update(ret),
            received_by="ShipHero",
            event_id=event_id,
        )
    except ValidationError as exc:
        raise MappingError("; ".join(e["msg"] for e in exc.errors()[:3])) from None


def progress_from_return(ret: Any, update: Mapping[str, Any], event_id: str | None = None) -> ReturnProgress | None:
    """The parcel in transit, from a Return Update with `picked_up` and the return read back
    (its `partner_id`); None for a return no longer open or without our reference."""
    if not isinstance(ret, Mapping) or text(ret.get("partner_id")) is None:
        return None
    tracking = text(update.get("tracking_number"))
    carrier = text(ret.get("shipping_carrier")) or "unknown"
    label = ReturnLabel(carrier=carrier, tracking_number=tracking) if tracking else None
    return ReturnProgress(
        return_id=str(ret["partner_id"]),
        kind=ReturnProgressKind.IN_TRANSIT,
        label=label,
        reason="picked up by the carrier (ShipHero)",
        event_id=event_id,
    )


def _last_update(ret: Mapping[str, Any]) -> datetime | None:
    """When the warehouse last touched the return: its lines' latest `updated_at` (the `Return`
    type has none of its own), else its creation."""
    times = [utc_time(item.get("updated_at")) for item in ret.get("line_items") or [] if isinstance(item, Mapping)]
    known = [t for t in times if t is not None]
    return max(known) if known else utc_time(ret.get("created_at"))


def condition_of(said: Any) -> ReturnCondition:
    """A received unit ShipHero did not restock: a wrong item when its condition says so, else damaged."""
    words = (text(said) or "").lower()
    return ReturnCondition.WRONG_ITEM if any(w in words for w in _WRONG_ITEM_WORDS) else ReturnCondition.DAMAGED


def _units(item: Mapping[str, Any], return_id: str, index: int) -> list[ReceivedUnits]:
    line = item.get("line_item")
    sku = text(line.get("sku")) if isinstance(line, Mapping) else None
    sku = sku or text(item.get("sku"))
    if sku is None:
        raise MappingError(f"return {return_id}: line_items[{index}] names no sku")
    expected = _count(item, "quantity", sku)
    received = _count(item, "quantity_received", sku)
    if expected:
        received = min(received, expected)
    restock = item.get("restock")
    restocked = received if restock is True else 0 if restock in (None, False) else _count(item, "restock", sku)
    restocked = min(restocked, received)
    note = text(item.get("condition"))
    units = []
    if restocked:
        units.append(ReceivedUnits(sku=sku, quantity=restocked, condition=ReturnCondition.SELLABLE, note=note))
    if received > restocked:
        units.append(ReceivedUnits(sku=sku, quantity=received - restocked, condition=condition_of(note), note=note))
    if expected > received:
        units.append(
            ReceivedUnits(sku=sku, quantity=expected - received, condition=ReturnCondition.MISSING, note="not received")
        )
    return units


def _count(item: Mapping[str, Any], key: str, sku: str) -> int:
    value = item.get(key)
    if value is None:
        return 0
    number = integer(value)
    if number is None or number < 0:
        raise MappingError(f"return line {sku}: {key} must be a whole number, got {value!r}")
    return number


def _merged(lines: list[ReceivedUnits]) -> list[ReceivedUnits]:
    """One line per SKU and condition (a SKU may sit on several return lines)."""
    merged: dict[tuple[str, ReturnCondition], ReceivedUnits] = {}
    for line in lines:
        key = (line.sku, line.condition)
        known = merged.get(key)
        merged[key] = line if known is None else known.model_copy(update={"quantity": known.quantity + line.quantity})
    return list(merged.values())


def _of_order(order: Mapping[str, Any], order_id: str) -> bool:
    try:
        return ShippingRequest.order_id_of(str(order.get("partner_order_id") or "")) == order_id
    except ValueError:
        return False


def _line_id(order: Mapping[str, Any], item: Mapping[str, Any]) -> str:
    """Our order line id in a line item's `partner_line_item_id` (`<request id>/<line id>`,
    the request id being the order's `partner_order_id`)."""
    given = str(item.get("partner_line_item_id") or "")
    prefix = f"{order.get('partner_order_id')}/"
    return given[len(prefix) :] if given.startswith(prefix) else given


def _warehouse_of(order: Mapping[str, Any]) -> str | None:
    return next((text(item.get("warehouse_id")) for item in line_items(order) if text(item.get("warehouse_id"))), None)


def _reason(reason: str) -> str:
    said = reason.replace("_", " ").strip()
    return DEFAULT_REASON if not said or said == "unspecified" else said
