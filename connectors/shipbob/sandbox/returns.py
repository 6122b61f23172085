"""Return orders at ShipBob: created by a unique `reference_id` (validated the way ShipBob does:
a known fulfillment center, known inventory ids each listed once, positive quantities), listed
and read back, then arriving at the center and processed by its staff with an action per unit
(Restock, Quarantine, Dispose), each step with its webhook (`return.created`, `return.updated`,
`return.completed`). Restocked units go back on hand at the center."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

import httpx

from connectors.base import SandboxOptions
from connectors.sandbox_kit import ResourceStore
from connectors.shipbob.returns import ReturnAction, ReturnStatus
from connectors.shipbob.sandbox.inventory import Inventory
from connectors.shipbob.sandbox.merchant import ShipBobApiError, invalid, now
from connectors.shipbob.sandbox.payloads import Product
from connectors.shipbob.webhooks import ShipBobTopic
from connectors.signing import json_type


@dataclass
class ReturnLine:
    product: Product
    quantity: int
    requested: ReturnAction
    taken: list[dict[str, Any]] = field(default_factory=list)

    @property
    def processed(self) -> int:
        return sum(int(t["quantity_processed"]) for t in self.taken)


@dataclass
class SbReturn:
    id: int
    reference_id: str
    channel_id: int
    channel_name: str
    center: int
    center_name: str
    lines: list[ReturnLine]
    created: str
    tracking_number: str | None = None
    original_shipment_id: int | None = None
    store_order_id: str | None = None
    status: ReturnStatus = ReturnStatus.AWAITING_ARRIVAL
    completed: str | None = None
    history: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "reference_id": self.reference_id,
            "status": self.status.value,
            "return_type": "Regular",
            "channel": {"id": self.channel_id, "name": self.channel_name},
            "fulfillment_center": {"id": self.center, "name": self.center_name},
            "original_shipment_id": self.original_shipment_id,
            "store_order_id": self.store_order_id,
            "tracking_number": self.tracking_number,
            "customer_name": None,
            "insert_date": self.created,
            "completed_date": self.completed,
            "invoice_amount": 0.0 if self.completed else None,
            "transactions": [],
            "inventory": [
                {
                    "id": line.product.inventory_id,
                    "name": line.product.name,
                    "quantity": line.quantity,
                    "action_requested": {
                        "action": line.requested.value,
                        "action_type": "Merchant",
                        "instructions": None,
                    },
                    "action_taken": list(line.taken),
                }
                for line in self.lines
            ],
        }


class Returns(Inventory):
    """Return orders on top of the merchant's inventory."""

    def __init__(self, options: SandboxOptions, webhook_transport: httpx.AsyncBaseTransport | None = None) -> None:
        super().__init__(options, webhook_transport)
        self.returns: ResourceStore[SbReturn] = ResourceStore(
            itertools.count(400_000_001),
            id_of=lambda r: r.id,
            missing=lambda rid: ShipBobApiError(404, {"message": f"Return {rid} was not found."}),
        )
        self.returns_by_reference: dict[str, SbReturn] = {}

    # --- API ---

    def create_return(self, channel_id: int, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise invalid(400, "", "A non-empty JSON object is required.")
        reference = body.get("reference_id")
        if not isinstance(reference, str) or not 1 <= len(reference) <= 300:
            raise invalid(400, "reference_id", "The reference_id field is required.")
        center = body.get("fulfillment_center")
        center_id = center.get("id") if isinstance(center, dict) else None
        if not isinstance(center_id, int) or isinstance(center_id, bool):
            raise invalid(400, "fulfillment_center", "The fulfillment_center field with an id is required.")
        items = body.get("inventory")
        if not isinstance(items, list) or not items:
            raise invalid(400, "inventory", "At least one inventory item is required.")
        if reference in self.returns_by_reference:
            raise invalid(422, "reference_id", f"A return with reference_id '{reference}' already exists.")
        if center_id not in self.centers:
            raise invalid(422, "fulfillment_center.id", f"Fulfillment center {center_id} is not available.")
        lines = self._return_lines(items)
        at = now()
        order = SbReturn(
            id=self.returns.new_id(),
            reference_id=reference,
            channel_id=channel_id,
            channel_name=self.channel_name,
            center=center_id,
            center_name=self.centers[center_id],
            lines=lines,
            created=at,
            tracking_number=body.get("tracking_number"),
            original_shipment_id=body.get("original_shipment_id"),
            history=[{"status": ReturnStatus.AWAITING_ARRIVAL.value, "timestamp": at}],
        )
        self.returns.add(order)
        self.returns_by_reference[reference] = order
        self.emit(ShipBobTopic.RETURN_CREATED, order.to_json())
        return order.to_json()

    def _return_lines(self, items: list[Any]) -> list[ReturnLine]:
        by_inventory = {p.inventory_id: p for p in self.products.values()}
        seen: set[int] = set()
        lines = []
        for i, item in enumerate(items):
            if not isinstance(item, dict):
                raise invalid(400, f"inventory[{i}]", f"must be an object, not {json_type(item)}")
            inventory_id, quantity = item.get("id"), item.get("quantity")
            if not isinstance(inventory_id, int) or isinstance(inventory_id, bool):
                raise invalid(400, f"inventory[{i}].id", "The id field is required.")
            if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 1:
                raise invalid(400, f"inventory[{i}].quantity", "The quantity must be at least 1.")
            if inventory_id in seen:
                raise invalid(422, f"inventory[{i}].id", f"Inventory {inventory_id} is included more than once.")
            seen.add(inventory_id)
            product = by_inventory.get(inventory_id)
            if product is None:
                raise invalid(422, f"inventory[{i}].id", f"No inventory item with id {inventory_id} exists.")
            try:
                requested = ReturnAction(item.get("requested_action") or ReturnAction.DEFAULT.value)
            except ValueError:
                raise invalid(
                    400, f"inventory[{i}].requested_action", "Must be one of Default, Restock, Quarantine, Dispose."
                ) from None
            lines.append(ReturnLine(product, quantity, requested))
        return lines

    def list_returns(self, references: str | None, ids: str | None, statuses: str | None) -> list[SbReturn]:
        refs = {r.strip() for r in references.split(",") if r.strip()} if references else None
        wanted_ids = {int(i) for i in ids.split(",") if i.strip().isdigit()} if ids else None
        wanted_statuses = {s.strip() for s in statuses.split(",") if s.strip()} if statuses else None
        return [
            r
            for r in self.returns.values()
            if (refs is None or r.reference_id in refs)
            and (wanted_ids is None or r.id in wanted_ids)
            and (wanted_statuses is None or r.status.value in wanted_statuses)
        ]

    # --- controls: the parcel arrives, the staff process it ---

    def find_return(self, ref: str) -> SbReturn:
        found = self.returns_by_reference.get(ref)
        if found is None and ref.isdigit():
            found = self.returns.get(int(ref))
        if found is None:
            raise ShipBobApiError(404, {"message": f"Return {ref} was not found."})
        return found

    def arrive(self, ret: SbReturn) -> dict[str, Any]:
        if ret.status is not ReturnStatus.AWAITING_ARRIVAL:
            raise ShipBobApiError(409, {"message": f"Return {ret.id} is {ret.status.value}, not AwaitingArrival."})
        self._move(ret, ReturnStatus.ARRIVED)
        self.emit(ShipBobTopic.RETURN_UPDATED, ret.to_json())
        return ret.to_json()

    def process(self, ret: SbReturn, body: Any) -> dict[str, Any]:
        """`{"actions": [{"sku", "action", "quantity"?, "reason"?}], "complete"?: true}`: each
        SKU's units processed with an action (every unprocessed unit Restocked when no actions
        are given); the return completes unless `complete` is false. Units left unprocessed at
        completion were not in the parcel."""
        if ret.status in (ReturnStatus.COMPLETED, ReturnStatus.CANCELLED):
            raise ShipBobApiError(409, {"message": f"Return {ret.id} is {ret.status.value}."})
        spec = body if isinstance(body, dict) else {}
        actions = spec.get("actions")
        if actions is None:
            actions = [{"sku": line.product.sku, "action": ReturnAction.RESTOCK.value} for line in ret.lines]
        if not isinstance(actions, list):
            raise invalid(400, "actions", "actions must be an array of {sku, action, quantity, reason}")
        if ret.status is ReturnStatus.AWAITING_ARRIVAL:
            self._move(ret, ReturnStatus.ARRIVED)
        at = now()
        for i, action in enumerate(actions):
            self._take(ret, action, f"actions[{i}]", at)
        complete = spec.get("complete", True) is not False
        self._move(ret, ReturnStatus.COMPLETED if complete else ReturnStatus.PROCESSING)
        if complete:
            ret.completed = at
        self.emit(ShipBobTopic.RETURN_COMPLETED if complete else ShipBobTopic.RETURN_UPDATED, ret.to_json())
        return ret.to_json()

    def _take(self, ret: SbReturn, action: Any, where: str, at: str) -> None:
        if not isinstance(action, dict) or not isinstance(action.get("sku"), str):
            raise invalid(400, where, "each action needs a sku")
        line = next((ln for ln in ret.lines if ln.product.sku == action["sku"]), None)
        if line is None:
            raise invalid(422, f"{where}.sku", f"Return {ret.id} has no inventory {action['sku']!r}.")
        try:
            kind = ReturnAction(action.get("action") or ReturnAction.RESTOCK.value)
        except ValueError:
            raise invalid(400, f"{where}.action", "Must be one of Restock, Quarantine, Dispose.") from None
        left = line.quantity - line.processed
        quantity = action.get("quantity", left)
        if not isinstance(quantity, int) or isinstance(quantity, bool) or not 1 <= quantity <= left:
            raise invalid(422, f"{where}.quantity", f"{left} unit(s) of {action['sku']} are left to process.")
        line.taken.append(
            {
                "action": kind.value,
                "action_reason": action.get("reason"),
                "quantity_processed": quantity,
                "image_url": None,
            }
        )
        if kind is ReturnAction.RESTOCK:
            levels = self.stock.setdefault(ret.center, {})
            levels[line.product.sku] = levels.get(line.product.sku, 0) + quantity
        ret.history.append({"status": "Processing", "timestamp": at, "action": kind.value})

    def _move(self, ret: SbReturn, status: ReturnStatus) -> None:
        ret.status = status
        ret.history.append({"status": status.value, "timestamp": now()})
