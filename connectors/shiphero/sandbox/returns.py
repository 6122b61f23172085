"""Returns (RMAs) at the ShipHero sandbox: `return_create` validated as ShipHero refuses (an order
and warehouse of the account, each sku a line item of the order, never more units than shipped
and not already returned), the `return` and `returns` queries, a Return Update webhook on every
change (the documented body), and the customer's and the warehouse's sides as controls: the parcel
picked up by the carrier (`picked_up`, a tracking number), units received, restocked or not,
with a condition, then the status Warehouse Complete. Restocked units go back on hand in the
return's warehouse. Like ShipHero, `partner_id` is kept but not unique: a caller must look first."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from connectors.sandbox_kit import Call, ResourceStore, Route
from connectors.shiphero.client import ErrorCode
from connectors.shiphero.sandbox.account import (
    Line,
    SbOrder,
    ShipHeroApiError,
    gid,
    gql_errors,
    invalid,
    now,
    request_id,
)
from connectors.shiphero.sandbox.orders import Root, ShipHeroSandbox, missing, paged, result
from connectors.shiphero.webhooks import WebhookType

PENDING = "pending"
WAREHOUSE_COMPLETE = "warehouse complete"
LABEL_NAMES = {"SELF_RETURN": "Self Return", "FREE": "Free", "PAID": "Paid", "FLAT_RATE": "Flat Rate"}


@dataclass
class SbReturnLine:
    id: str
    legacy_id: int
    line: Line
    warehouse_id: str
    quantity: int
    reason: str
    condition: str | None = None
    received: int = 0
    restocked: int = 0
    updated: str = ""


@dataclass
class SbReturn:
    id: str
    legacy_id: int
    order: SbOrder
    data: dict[str, Any]
    warehouse_id: str
    lines: list[SbReturnLine]
    created: str
    status: str = PENDING
    updated: str = ""
    picked_up: bool = False
    history: list[dict[str, Any]] = field(default_factory=list)

    @property
    def partner_id(self) -> str | None:
        value = self.data.get("partner_id")
        return value if isinstance(value, str) else None


class ShipHeroReturns(ShipHeroSandbox):
    """The account with its orders and their returns."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.returns: ResourceStore[SbReturn] = ResourceStore(id_of=lambda r: r.id)

    def root(self) -> Root:
        return ReturnsRoot(self)

    # --- JSON as the API returns it ---

    def return_json(self, ret: SbReturn) -> dict[str, Any]:
        return {
            "id": ret.id,
            "legacy_id": ret.legacy_id,
            "order_id": ret.order.id,
            "partner_id": ret.partner_id,
            "reason": ret.data.get("return_reason"),
            "status": ret.status,
            "label_type": ret.data.get("label_type"),
            "label_cost": ret.data.get("label_cost"),
            "shipping_carrier": ret.data.get("shipping_carrier"),
            "shipping_method": ret.data.get("shipping_method"),
            "dimensions": ret.data.get("dimensions"),
            "address": ret.data.get("address"),
            "line_items": [self.return_line_json(ret, line) for line in ret.lines],
            "total_items_expected": sum(line.quantity for line in ret.lines),
            "total_items_received": sum(line.received for line in ret.lines),
            "total_items_restocked": sum(line.restocked for line in ret.lines),
            "created_at": ret.created,
        }

    def return_line_json(self, ret: SbReturn, line: SbReturnLine) -> dict[str, Any]:
        return {
            "id": line.id,
            "legacy_id": line.legacy_id,
            "line_item_id": line.line.id,
            "warehouse_id": line.warehouse_id,
            "return_id": ret.id,
            "quantity": line.quantity,
            "quantity_received": line.received,
            "restock": line.restocked,
            "condition": line.condition,
            "is_component": False,
            "type": "Return",
            "reason": line.reason,
            "created_at": ret.created,
            "updated_at": line.updated or ret.created,
            "line_item": self.line_json(ret.order, line.line),
        }

    def return_update(self, ret: SbReturn) -> dict[str, Any]:
        """The Return Update body (developer.shiphero.com/webhooks/return-update-webhook)."""
        order = ret.order
        return {
            "test": "0",
            "webhook_type": WebhookType.RETURN_UPDATE.value,
            "return_id": ret.legacy_id,
            "return_uuid": ret.id,
            "status": ret.status,
            "reason": ret.data.get("return_reason") or "",
            "items": [
                {
                    "id": line.legacy_id,
                    "uuid": line.id,
                    "quantity": line.quantity,
                    "quantity_received": line.received,
                    "sku": line.line.sku,
                    "item_reason": line.reason,
                    "restock": line.restocked,
                    "partner_line_item_id": line.line.partner_line_item_id,
                    "warehouse_id": line.warehouse_id,
                }
                for line in ret.lines
            ],
            "order_id": order.legacy_id,
            "order_uuid": order.id,
            "partner_order_id": order.partner_order_id,
            "order_number": order.data.get("order_number"),
            "shop_name": order.data.get("shop_name"),
            "created_at": ret.created.replace("T", " ")[:19],
            "label_type": LABEL_NAMES.get(str(ret.data.get("label_type")), ret.data.get("label_type")),
            "label_cost": ret.data.get("label_cost") or "0.00",
            "picked_up": ret.picked_up,
            "tracking_number": ret.data.get("tracking_number"),
            "date_used": None,
        }

    # --- the API ---

    def create_return(self, data: dict[str, Any]) -> SbReturn:
        order = self.orders.get(str(data.get("order_id") or ""))
        if order is None:
            raise missing(str(data.get("order_id")), "return_create")
        warehouse = str(data.get("warehouse_id") or "")
        if warehouse not in self.warehouses:
            raise invalid(f"warehouse_id: {warehouse} is not a warehouse of this account", "return_create")
        items = data.get("line_items") or []
        if not items:
            raise invalid("line_items: a return needs at least one line item", "return_create")
        legacy = self.legacy_id()
        at = now()
        lines: list[SbReturnLine] = []
        for item in items:
            line = next((ln for ln in order.lines if ln.sku == item["sku"]), None)
            if line is None:
                reason = f"line_items: {item['sku']} is not a line item of order {order.legacy_id}"
                raise invalid(reason, "return_create")
            quantity = int(item["quantity"])
            returnable = line.shipped - self.returned(line) - sum(ln.quantity for ln in lines if ln.line is line)
            if not 1 <= quantity <= returnable:
                raise invalid(
                    f"line_items: {item['sku']}: {returnable} unit(s) of order {order.legacy_id} can be returned",
                    "return_create",
                )
            line_legacy = self.legacy_id()
            lines.append(
                SbReturnLine(
                    gid("ReturnLineItem", line_legacy),
                    line_legacy,
                    line,
                    warehouse,
                    quantity,
                    str(item["return_reason"]),
                    item.get("condition"),
                )
            )
        ret = SbReturn(gid("Return", legacy), legacy, order, dict(data), warehouse, lines, at, updated=at)
        ret.history.append({"status": PENDING, "at": at})
        self.returns.add(ret)
        self.emit(WebhookType.RETURN_UPDATE, self.return_update(ret))
        return ret

    def returned(self, line: Line) -> int:
        """Units of an order line already on a return."""
        return sum(rl.quantity for r in self.returns.values() for rl in r.lines if rl.line is line)

    # --- the warehouse's side ---

    def find_return(self, ref: str) -> SbReturn:
        for ret in self.returns.values():
            if ref in (ret.id, str(ret.legacy_id), ret.partner_id):
                return ret
        raise ShipHeroApiError(404, gql_errors(f"Return {ref} not found", ErrorCode.NOT_FOUND))

    def ship_back(self, ret: SbReturn, body: Any) -> dict[str, Any]:
        """`{"tracking_number"?, "carrier"?}`: the customer's parcel picked up by the carrier
        (`picked_up`, its tracking number); one Return Update webhook."""
        if ret.status != PENDING or ret.picked_up:
            raise ShipHeroApiError(409, {"error": f"return {ret.legacy_id} is {ret.status}: not awaiting its parcel"})
        spec = body if isinstance(body, dict) else {}
        ret.picked_up = True
        ret.data["tracking_number"] = str(spec.get("tracking_number") or ret.data.get("tracking_number") or "")
        ret.data["tracking_number"] = ret.data["tracking_number"] or self.tracking_number()
        if spec.get("carrier"):
            ret.data["shipping_carrier"] = str(spec["carrier"])
        ret.updated = now()
        ret.history.append({"status": "picked up", "at": ret.updated})
        self.emit(WebhookType.RETURN_UPDATE, self.return_update(ret))
        return self.return_json(ret)

    def receive(self, ret: SbReturn, body: Any) -> dict[str, Any]:
        """`{"lines": [{"sku", "quantity"?, "restock"?: bool, "condition"?}], "complete"?: bool,
        "status"?}`: units received (every unit not received yet, restocked, when no lines are
        given); restocked units back on hand; the status Warehouse Complete (or `status`) unless
        `complete` is false. One Return Update webhook."""
        if ret.status != PENDING:
            raise ShipHeroApiError(409, {"error": f"return {ret.legacy_id} is {ret.status}: nothing to receive"})
        spec = body if isinstance(body, dict) else {}
        given = spec.get("lines")
        if given is None:
            given = [{"sku": line.line.sku, "restock": True, "condition": "Good"} for line in ret.lines]
        if not isinstance(given, list):
            raise ShipHeroApiError(422, {"error": "lines must be an array of {sku, quantity, restock, condition}"})
        at = now()
        for index, part in enumerate(given):
            self._receive_line(ret, part, index, at)
        if spec.get("complete", True) is not False:
            ret.status = str(spec.get("status") or WAREHOUSE_COMPLETE)
            ret.history.append({"status": ret.status, "at": at})
        ret.updated = at
        self.emit(WebhookType.RETURN_UPDATE, self.return_update(ret))
        return self.return_json(ret)

    def _receive_line(self, ret: SbReturn, part: Any, index: int, at: str) -> None:
        if not isinstance(part, dict) or not isinstance(part.get("sku"), str):
            raise ShipHeroApiError(422, {"error": f"lines[{index}] needs a sku"})
        line = next((ln for ln in ret.lines if ln.line.sku == part["sku"] and ln.received < ln.quantity), None)
        if line is None:
            raise ShipHeroApiError(422, {"error": f"lines[{index}]: no unit of {part['sku']} is left to receive"})
        left = line.quantity - line.received
        quantity = part.get("quantity", left)
        if not isinstance(quantity, int) or isinstance(quantity, bool) or not 1 <= quantity <= left:
            raise ShipHeroApiError(422, {"error": f"lines[{index}]: {left} unit(s) of {part['sku']} are left"})
        line.received += quantity
        line.updated = at
        if part.get("condition") is not None:
            line.condition = str(part["condition"])
        if part.get("restock", True) is not False:
            line.restocked += quantity
            levels = self.stock.setdefault(ret.warehouse_id, {})
            levels[line.line.sku] = levels.get(line.line.sku, 0) + quantity


class ReturnsRoot(Root):
    """The GraphQL root with the returns fields (`return` is set below: a Python keyword)."""

    sb: ShipHeroReturns

    def __init__(self, sb: ShipHeroReturns) -> None:
        super().__init__(sb)
        self.sb = sb

    def return_create(self, _info: Any, data: dict[str, Any]) -> dict[str, Any]:
        ret = self.sb.create_return(data)
        return {"request_id": request_id(), "complexity": 0, "return": self.sb.return_json(ret)}

    def one_return(self, _info: Any, id: str, **_: Any) -> dict[str, Any]:
        found = self.sb.returns.get(id)
        if found is None:
            raise ShipHeroApiError(200, gql_errors(f"Return {id} not found", ErrorCode.NOT_FOUND, "return"))
        return result(self.sb.return_json(found))

    def returns(self, _info: Any, **args: Any) -> dict[str, Any]:
        rows = [
            self.sb.return_json(r)
            for r in self.sb.returns.values()
            if (not args.get("order_id") or r.order.id == args["order_id"])
            and (not args.get("warehouse_id") or r.warehouse_id == args["warehouse_id"])
            and (not args.get("date_from") or r.created >= str(args["date_from"]))
        ]
        return result(paged(rows))


# GraphQL's `return` field resolves to `one_return` (`return` is a Python keyword).
setattr(ReturnsRoot, "return", ReturnsRoot.one_return)


def return_control_routes(sb: ShipHeroReturns) -> tuple[Route, ...]:
    def receive(call: Call) -> dict[str, Any]:
        return sb.receive(sb.find_return(call.path["ref"]), call.body)

    def ship_back(call: Call) -> dict[str, Any]:
        return sb.ship_back(sb.find_return(call.path["ref"]), call.body)

    def listed(_: Call) -> list[dict[str, Any]]:
        return [sb.return_json(r) | {"history": r.history} for r in sb.returns.values()]

    return (
        Route(
            "POST",
            "/returns/{ref:path}/ship",
            ship_back,
            '{"tracking_number"?, "carrier"?}: the carrier picks the parcel up (picked_up); ref as below',
        ),
        Route(
            "POST",
            "/returns/{ref:path}/receive",
            receive,
            '{"lines": [{"sku", "quantity"?, "restock"?, "condition"?}], "complete"?, "status"?}: the warehouse '
            "receives (default: every unit restocked, Good); ref: id, legacy id or partner_id",
        ),
        Route("GET", "/returns", listed, "every return with its status history"),
    )
