"""ShipBob return orders <-> the canonical return: an `ExpectedReturn` becomes the body of
`POST /{version}/return` (our return id is its `reference_id`), and a ShipBob return order (the
API's `ReturnOrder`, also the body of its return webhooks) becomes a `ReturnReceipt` once ShipBob
processed its inventory.

What ShipBob documents (developer.shipbob.com, "Returns" guide and the Returns API reference of
the dated versions 2026-01/2026-07; the field names agree with ShipBob's generated OpenAPI
clients, e.g. stryd/shipbob-go `model_create_return.go`, `model_return_order.go`):

- Create: `POST /{version}/return` with the `shipbob_channel_id` header; body
  `{reference_id (required, unique: "client-defined external unique identifier"),
  fulfillment_center: {id} (required), inventory: [{id: inventory id, quantity,
  requested_action: Default|Restock|Quarantine|Dispose}] (required, each inventory id once),
  original_shipment_id?, tracking_number?}`. Without a tracking number the reference id is the
  RMA written on the box. A second create with a `reference_id` already used is refused (422);
  `GET /{version}/return?ReferenceIds=` lists the existing one.
- The return order: `{id, reference_id, status: AwaitingArrival|Arrived|Processing|Completed|
  Cancelled, return_type: Regular|ReturnToSender, fulfillment_center {id, name},
  original_shipment_id, tracking_number, store_order_id, customer_name, insert_date,
  completed_date, inventory: [{id, name, quantity, action_requested {action, action_type,
  instructions}, action_taken: [{action, action_reason, quantity_processed, image_url}]}],
  transactions, invoice_amount}`. Only an `AwaitingArrival` return can be modified or cancelled.
- Webhooks (dated API subscriptions, signed like every other ShipBob webhook): `return.created`,
  `return.updated` (its status moved: arrived, processing) and `return.completed` (processed and
  closed), each with the return order as its body.

Conditions: ShipBob reports what its staff did with each unit (`action_taken[].action`), not a
condition. `Restock` units were found sellable; `Quarantine` and `Dispose` units were not
(damaged or unsellable, which Orderloop calls damaged; an `action_reason` naming a wrong item
makes them `wrong_item`). Units announced but not processed when ShipBob completes the return
are `missing`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum
from typing import Any

from pydantic import ValidationError

from connectors.base import MappingError
from connectors.json_values import integer, text, utc_time
from connectors.shipbob.mapping import ShipBobSettings
from connectors.signing import json_type
from orderloop.returns_model import ExpectedReturn, ReceivedUnits, ReturnCondition, ReturnReceipt


class ReturnStatus(StrEnum):
    """`ReturnOrder.status`."""

    AWAITING_ARRIVAL = "AwaitingArrival"
    ARRIVED = "Arrived"
    PROCESSING = "Processing"
    COMPLETED = "Completed"
    CANCELLED = "Cancelled"


class ReturnAction(StrEnum):
    """`requested_action` / `action_taken[].action`."""

    DEFAULT = "Default"
    RESTOCK = "Restock"
    QUARANTINE = "Quarantine"
    DISPOSE = "Dispose"


ACTION_CONDITIONS: dict[ReturnAction, ReturnCondition] = {
    ReturnAction.RESTOCK: ReturnCondition.SELLABLE,
    ReturnAction.DEFAULT: ReturnCondition.SELLABLE,
    ReturnAction.QUARANTINE: ReturnCondition.DAMAGED,
    ReturnAction.DISPOSE: ReturnCondition.DAMAGED,
}
_WRONG_ITEM_WORDS = ("wrong item", "wrong product", "incorrect item", "not the item")


def return_body(
    expected: ExpectedReturn, settings: ShipBobSettings, inventory_ids: Mapping[str, int]
) -> dict[str, Any]:
    """`POST /{version}/return`: one inventory entry per SKU (ShipBob refuses an inventory id
    twice), `requested_action` Default (ShipBob's staff decide by what they find)."""
    # The return goes to the center of its receiving location; unmapped: MappingError naming it.
    center = settings.locations.warehouse_of(expected.location_id)
    quantities: dict[str, int] = {}
    for line in expected.lines:
        quantities[line.sku] = quantities.get(line.sku, 0) + line.quantity_returned
    unknown = sorted(sku for sku in quantities if sku not in inventory_ids)
    if unknown:
        raise MappingError(f"ShipBob has no inventory item for {', '.join(unknown)}")
    return {
        "reference_id": expected.return_id,
        "fulfillment_center": {"id": center},
        "inventory": [
            {"id": inventory_ids[sku], "quantity": quantity, "requested_action": ReturnAction.DEFAULT.value}
            for sku, quantity in sorted(quantities.items())
        ],
    }


def inventory_ids_by_sku(items: Iterable[Any]) -> dict[str, int]:
    """SKU -> inventory id from inventory levels (`{inventory_id, sku, ...}`)."""
    found: dict[str, int] = {}
    for item in items:
        if isinstance(item, Mapping):
            sku, inventory_id = text(item.get("sku")), integer(item.get("inventory_id"))
            if sku and inventory_id is not None:
                found.setdefault(sku, inventory_id)
    return found


def status_of(order: Mapping[str, Any]) -> ReturnStatus | None:
    try:
        return ReturnStatus(str(order.get("status")))
    except ValueError:
        return None


def condition_of(action: Any, reason: Any) -> ReturnCondition:
    said = (text(reason) or "").lower()
    try:
        condition = ACTION_CONDITIONS[ReturnAction(action)]
    except ValueError:
        raise MappingError(f"action_taken.action {action!r} is not a ShipBob return action") from None
    if condition is not ReturnCondition.SELLABLE and any(w in said for w in _WRONG_ITEM_WORDS):
        return ReturnCondition.WRONG_ITEM
    return condition


def receipt_from_return(
    order: Any, settings: ShipBobSettings, skus: Mapping[int, str], event_id: str | None = None
) -> ReturnReceipt | None:
    """The receipt a processed return order carries; None while nothing was processed.
    `skus` names each inventory id (ShipBob's return lists inventory by id and name).
    A `Completed` return counts every announced unit not processed as missing."""
    if not isinstance(order, Mapping):
        raise MappingError(f"a return order must be a JSON object, not {json_type(order)}")
    reference = text(order.get("reference_id"))
    if reference is None:
        raise MappingError(f"return {order.get('id')}: reference_id (Orderloop's return id) is missing")
    status = status_of(order)
    lines: list[ReceivedUnits] = []
    for index, item in enumerate(order.get("inventory") or []):
        if not isinstance(item, Mapping):
            raise MappingError(f"return {order.get('id')}: inventory[{index}] is not an object")
        inventory_id = integer(item.get("id"))
        sku = skus.get(inventory_id) if inventory_id is not None else None
        if sku is None:
            sku = text(item.get("sku")) or text(item.get("name"))
        if sku is None:
            raise MappingError(f"return {order.get('id')}: inventory[{index}] names no known inventory item")
        processed = 0
        for taken in item.get("action_taken") or []:
            if not isinstance(taken, Mapping):
                continue
            quantity = integer(taken.get("quantity_processed")) or 0
            if quantity <= 0:
                continue
            processed += quantity
            note = text(taken.get("action_reason"))
            lines.append(
                ReceivedUnits(sku=sku, quantity=quantity, condition=condition_of(taken.get("action"), note), note=note)
            )
        expected = integer(item.get("quantity")) or 0
        if status is ReturnStatus.COMPLETED and expected > processed:
            lines.append(
                ReceivedUnits(
                    sku=sku, quantity=expected - processed, condition=ReturnCondition.MISSING, note="not in the parcel"
                )
            )
    if not lines:
        return None
    center = order.get("fulfillment_center")
    center_id = integer(center.get("id")) if isinstance(center, Mapping) else None
    try:
        return ReturnReceipt(
            return_id=reference,
            lines=_merged(lines),
            location_id=settings.locations.location_of(center_id),
            received_at=utc_time(order.get("completed_date")) or utc_time(order.get("insert_date")),
            received_by="ShipBob",
            event_id=event_id,
        )
    except ValidationError as exc:
        raise MappingError("; ".join(e["msg"] for e in exc.errors()[:3])) from None


def _merged(lines: list[ReceivedUnits]) -> list[ReceivedUnits]:
    """One line per SKU and condition (ShipBob may process a SKU's units in several actions)."""
    merged: dict[tuple[str, ReturnCondition], ReceivedUnits] = {}
    for line in lines:
        key = (line.sku, line.condition)
        known = merged.get(key)
        merged[key] = line if known is None else known.model_copy(update={"quantity": known.quantity + line.quantity})
    return list(merged.values())
