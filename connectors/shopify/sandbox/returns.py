"""Returns at the shop: a customer requests one on fulfilled units (a control, as the customer
account page would), the merchant approves, declines or cancels it (controls), and the GraphQL
Admin API the connector calls, executed by graphql-core against `connectors.shopify.graphql.SDL`:
`return(id:)`, `returnApproveRequest` (creates the return's reverse fulfillment order) and
`reverseFulfillmentOrderDispose` (validated as Shopify does: known line items, no more units than
are left, a location for RESTOCKED, which adds the units to that location's available). Every
answer carries `extensions.cost`; a request beyond the cost bucket answers `THROTTLED`. Webhooks:
`returns/request`, `returns/approve`, `returns/decline`, `returns/cancel`, with the return JSON
Shopify's webhook reference shows (line items named by id only)."""

from __future__ import annotations

import itertools
import math
import time
from typing import Any

from fastapi.responses import JSONResponse
from graphql import GraphQLError, OperationDefinitionNode, OperationType, graphql_sync, parse

from connectors.sandbox_kit import SandboxError
from connectors.shopify.graphql import schema
from connectors.shopify.returns import LOCATION_GID, RETURN_GID, legacy_id
from connectors.shopify.sandbox.catalog import Catalog
from connectors.shopify.sandbox.shop import Row, iso, now
from connectors.shopify.webhooks import ShopifyTopic
from connectors.signing import json_type

QUERY_COST = 5
MUTATION_COST = 10
RETURN_REASONS = (
    "color", "defective", "not_as_described", "other", "size_too_large", "size_too_small", "style", "unknown",
    "unwanted", "wrong_item",
)  # fmt: skip


class CostBucket:
    """GraphQL's calculated-cost bucket: `size` points, restored at `rate` per second."""

    def __init__(self, size: int, rate: float) -> None:
        self.size, self.rate = size, rate
        self.available = float(size)
        self._at = time.monotonic()

    def take(self, cost: int) -> bool:
        now_ = time.monotonic()
        self.available = min(float(self.size), self.available + (now_ - self._at) * self.rate)
        self._at = now_
        if cost > self.available:
            return False
        self.available -= cost
        return True

    def status(self) -> dict[str, Any]:
        return {
            "maximumAvailable": float(self.size),
            "currentlyAvailable": math.floor(self.available),
            "restoreRate": float(self.rate),
        }


class Returns(Catalog):
    """Returns and reverse fulfillment orders on top of the shop's catalog and orders."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.returns: dict[int, Row] = {}
        self.return_ids = itertools.count(9_800_000_001)
        self.return_line_ids = itertools.count(10_900_000_001)
        self.fli_ids = itertools.count(12_300_000_001)
        self.rfo_ids = itertools.count(3_300_000_001)
        self.rfo_line_ids = itertools.count(3_400_000_001)
        self.disposition_ids = itertools.count(3_500_000_001)
        # (fulfillment id, line item id) -> fulfillment line item id
        self.fulfillment_line_items: dict[tuple[int, int], int] = {}
        self.cost_bucket = CostBucket(self.knobs.value.graphql_bucket_size, self.knobs.value.graphql_restore_rate)

    # --- controls ---

    def request_return(
        self, order_id: int, body: Any, *, duplicate: bool = False, bad_signature: bool = False
    ) -> dict[str, Any]:
        """`{"line_items": [{"sku" | "line_item_id", "quantity", "reason"?, "note"?}]}`: the
        customer requests a return of fulfilled units (status requested, `returns/request`)."""
        order = self.orders.find(order_id)
        if not isinstance(body, dict) or not isinstance(body.get("line_items"), list) or not body["line_items"]:
            raise SandboxError(422, 'a return request is {"line_items": [{"sku" | "line_item_id", "quantity"}]}')
        lines: list[Row] = []
        for i, spec in enumerate(body["line_items"]):
            lines.append(self._return_line(order, spec, f"line_items[{i}]", lines))
        return_id = next(self.return_ids)
        at = iso(now())
        record: Row = {
            "id": return_id,
            "order_id": order_id,
            "name": f"{order['name']}-R{1 + sum(1 for r in self.returns.values() if r['order_id'] == order_id)}",
            "status": "REQUESTED",
            "created_at": at,
            "updated_at": at,
            "lines": lines,
            "rfos": [],
            "decline": None,
        }
        self.returns[return_id] = record
        self.emit(
            ShopifyTopic.RETURNS_REQUEST, self.return_json(record), duplicate=duplicate, bad_signature=bad_signature
        )
        return self.return_json(record)

    def _return_line(self, order: Row, spec: Any, where: str, taken: list[Row]) -> Row:
        if not isinstance(spec, dict):
            raise SandboxError(422, f"{where} must be an object, not {json_type(spec)}")
        items = [
            li for li in order["line_items"] if li["id"] == spec.get("line_item_id") or li["sku"] == spec.get("sku")
        ]
        if not items:
            raise SandboxError(
                422, f"{where}: the order has no line item {spec.get('line_item_id') or spec.get('sku')}"
            )
        quantity = spec.get("quantity")
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
            raise SandboxError(422, f"{where}.quantity must be a positive integer")
        reason = str(spec.get("reason") or "unknown").lower()
        if reason not in RETURN_REASONS:
            raise SandboxError(422, f"{where}.reason must be one of {', '.join(RETURN_REASONS)}")
        item = items[0]
        returnable = self._returnable(order, item["id"]) - sum(
            t["quantity"] for t in taken if t["line_item_id"] == item["id"]
        )
        if quantity > returnable:
            raise SandboxError(
                422, f"{where}: only {returnable} fulfilled unit(s) of line item {item['id']} can be returned"
            )
        fulfillment = next(
            f for f in self.fulfillments.values()
            if f["order_id"] == order["id"] and f["status"] == "success"
            and any(li["id"] == item["id"] for li in f["line_items"])
        )  # fmt: skip
        key = (fulfillment["id"], item["id"])
        if key not in self.fulfillment_line_items:
            self.fulfillment_line_items[key] = next(self.fli_ids)
        return {
            "id": next(self.return_line_ids),
            "fulfillment_line_item_id": self.fulfillment_line_items[key],
            "line_item_id": item["id"],
            "sku": item["sku"],
            "name": item["name"],
            "quantity": quantity,
            "return_reason": reason,
            "return_reason_note": str(spec.get("note") or ""),
            "customer_note": spec.get("customer_note"),
        }

    def _returnable(self, order: Row, line_item_id: int) -> int:
        fulfilled = sum(
            li["quantity"]
            for f in self.fulfillments.values()
            if f["order_id"] == order["id"] and f["status"] == "success"
            for li in f["line_items"]
            if li["id"] == line_item_id
        )
        returned = sum(
            line["quantity"]
            for r in self.returns.values()
            if r["order_id"] == order["id"] and r["status"] not in ("DECLINED", "CANCELED")
            for line in r["lines"]
            if line["line_item_id"] == line_item_id
        )
        return fulfilled - returned

    def find_return(self, return_id: int) -> Row:
        found = self.returns.get(return_id)
        if found is None:
            raise SandboxError(404, f"no return {return_id}", hint="GET /_sandbox/returns lists them")
        return found

    def approve(self, record: Row) -> Row:
        if record["status"] != "REQUESTED":
            raise SandboxError(409, f"return {record['id']} is {record['status']}: only a requested return is approved")
        record["status"] = "OPEN"
        record["updated_at"] = iso(now())
        record["rfos"] = [
            {
                "id": next(self.rfo_ids),
                "status": "OPEN",
                "lines": [
                    {"id": next(self.rfo_line_ids), "return_line": line, "dispositions": []} for line in record["lines"]
                ],
            }
        ]
        self.emit(ShopifyTopic.RETURNS_APPROVE, self.return_json(record))
        return self.return_json(record)

    def decline(self, record: Row, body: Any) -> Row:
        if record["status"] != "REQUESTED":
            raise SandboxError(409, f"return {record['id']} is {record['status']}: only a requested return is declined")
        note = body.get("note") if isinstance(body, dict) else None
        record.update(status="DECLINED", updated_at=iso(now()), decline={"reason": "OTHER", "note": note})
        self.emit(ShopifyTopic.RETURNS_DECLINE, self.return_json(record))
        return self.return_json(record)

    def cancel_return(self, record: Row) -> Row:
        disposed = any(d for rfo in record["rfos"] for line in rfo["lines"] for d in line["dispositions"])
        if record["status"] not in ("REQUESTED", "OPEN") or disposed:
            raise SandboxError(409, f"return {record['id']} cannot be cancelled (status {record['status']})")
        record.update(status="CANCELED", updated_at=iso(now()))
        self.emit(ShopifyTopic.RETURNS_CANCEL, self.return_json(record))
        return self.return_json(record)

    def return_json(self, record: Row) -> dict[str, Any]:
        """The return as the return webhooks carry it."""
        return {
            "id": record["id"],
            "admin_graphql_api_id": f"{RETURN_GID}{record['id']}",
            "name": record["name"],
            "status": record["status"].lower(),
            "order": {"id": record["order_id"], "admin_graphql_api_id": f"gid://shopify/Order/{record['order_id']}"},
            "created_at": record["created_at"],
            "updated_at": record["updated_at"],
            "decline": record["decline"],
            "total_return_line_items": sum(line["quantity"] for line in record["lines"]),
            "return_line_items": [
                {
                    "id": line["id"],
                    "admin_graphql_api_id": f"gid://shopify/ReturnLineItem/{line['id']}",
                    "quantity": line["quantity"],
                    "return_reason": line["return_reason"],
                    "return_reason_note": line["return_reason_note"],
                    "customer_note": line["customer_note"],
                    "fulfillment_line_item": {
                        "id": line["fulfillment_line_item_id"],
                        "admin_graphql_api_id": f"gid://shopify/FulfillmentLineItem/{line['fulfillment_line_item_id']}",
                        "line_item": {
                            "id": line["line_item_id"],
                            "admin_graphql_api_id": f"gid://shopify/LineItem/{line['line_item_id']}",
                        },
                    },
                }
                for line in record["lines"]
            ],
            "exchange_line_items": [],
            "total_exchange_line_items": 0,
            "return_shipping_fees": [],
        }

    def returns_json(self) -> list[dict[str, Any]]:
        """Every return with its reverse fulfillment orders and their dispositions (controls)."""
        return [
            self.return_json(r) | {"reverse_fulfillment_orders": [self._rfo_graph(rfo) for rfo in r["rfos"]]}
            for r in self.returns.values()
        ]

    # --- GraphQL ---

    def graphql(self, request: Any, body: Any) -> JSONResponse:
        if not isinstance(body, dict) or not isinstance(body.get("query"), str):
            return self.reply(request, {"errors": [{"message": "No query string was present"}]}, 400)
        try:
            document = parse(body["query"])
        except GraphQLError as exc:
            error = {"message": exc.message, "extensions": {"code": "PARSE_ERROR"}}
            return self.reply(request, {"errors": [error]}, 200)
        mutation = any(
            d.operation is OperationType.MUTATION
            for d in document.definitions
            if isinstance(d, OperationDefinitionNode)
        )
        cost = MUTATION_COST if mutation else QUERY_COST
        if not self.cost_bucket.take(cost):
            throttled = {
                "errors": [
                    {
                        "message": "Throttled",
                        "extensions": {
                            "code": "THROTTLED",
                            "documentation": "https://shopify.dev/api/usage/rate-limits",
                        },
                    }
                ],
                "extensions": {"cost": self._cost(cost, None)},
            }
            return self.reply(request, throttled, 200)
        outcome = graphql_sync(
            schema(),
            body["query"],
            root_value=_Root(self),
            variable_values=body.get("variables") or None,
            operation_name=body.get("operationName"),
        )
        answer: dict[str, Any] = {"data": outcome.data}
        if outcome.errors:
            answer["errors"] = [
                {
                    "message": e.message,
                    "locations": [{"line": loc.line, "column": loc.column} for loc in e.locations or []],
                    "path": e.path,
                    "extensions": {"code": "argumentLiteralsIncompatible" if not e.path else "INTERNAL_SERVER_ERROR"},
                }
                for e in outcome.errors
            ]
        answer["extensions"] = {"cost": self._cost(cost, cost)}
        return self.reply(request, answer, 200)

    def _cost(self, requested: int, actual: int | None) -> dict[str, Any]:
        return {
            "requestedQueryCost": requested,
            "actualQueryCost": actual,
            "throttleStatus": self.cost_bucket.status(),
        }

    def return_graph(self, gid: str) -> dict[str, Any] | None:
        record = self.returns.get(int(legacy_id(gid) or 0)) if gid.startswith(RETURN_GID) else None
        if record is None:
            return None
        nodes = [self._rfo_graph(rfo) for rfo in record["rfos"]]
        return {
            "id": f"{RETURN_GID}{record['id']}",
            "name": record["name"],
            "status": record["status"],
            "order": {"id": f"gid://shopify/Order/{record['order_id']}", "legacyResourceId": str(record["order_id"])},
            # Connections as plain values: the default resolver takes them as they are (one page).
            "reverseFulfillmentOrders": {"nodes": nodes, "pageInfo": _page()},
        }

    def _rfo_graph(self, rfo: Row) -> dict[str, Any]:
        items = [self._rfo_line_graph(line) for line in rfo["lines"]]
        return {
            "id": f"gid://shopify/ReverseFulfillmentOrder/{rfo['id']}",
            "status": rfo["status"],
            "lineItems": {"nodes": items, "pageInfo": _page()},
        }

    @staticmethod
    def _rfo_line_graph(line: Row) -> dict[str, Any]:
        rl = line["return_line"]
        return {
            "id": f"gid://shopify/ReverseFulfillmentOrderLineItem/{line['id']}",
            "totalQuantity": rl["quantity"],
            "dispositions": [dict(d) for d in line["dispositions"]],
            "fulfillmentLineItem": {
                "id": f"gid://shopify/FulfillmentLineItem/{rl['fulfillment_line_item_id']}",
                "quantity": rl["quantity"],
                "lineItem": {
                    "id": f"gid://shopify/LineItem/{rl['line_item_id']}",
                    "sku": rl["sku"],
                    "name": rl["name"],
                },
            },
        }

    def approve_request(self, data: dict[str, Any]) -> dict[str, Any]:
        record = self.returns.get(int(legacy_id(data.get("id")) or 0))
        if record is None:
            return {"return": None, "userErrors": [_user_error(["id"], "Return does not exist.", "NOT_FOUND")]}
        if record["status"] != "REQUESTED":
            message = "Return is not approvable. Only returns with status REQUESTED can be approved."
            return {"return": None, "userErrors": [_user_error(["id"], message, "INVALID_STATE")]}
        self.approve(record)
        return {"return": self.return_graph(f"{RETURN_GID}{record['id']}"), "userErrors": []}

    def dispose(self, inputs: list[dict[str, Any]]) -> dict[str, Any]:
        lines = {
            f"gid://shopify/ReverseFulfillmentOrderLineItem/{line['id']}": (record, rfo, line)
            for record in self.returns.values()
            for rfo in record["rfos"]
            for line in rfo["lines"]
        }
        errors = []
        planned: dict[str, int] = {}
        for i, entry in enumerate(inputs):
            field = ["dispositionInputs", str(i)]
            found = lines.get(entry["reverseFulfillmentOrderLineItemId"])
            if found is None:
                errors.append(
                    _user_error([*field, "reverseFulfillmentOrderLineItemId"], "Line item not found.", "NOT_FOUND")
                )
                continue
            _, _, line = found
            left = line["return_line"]["quantity"] - sum(d["quantity"] for d in line["dispositions"])
            planned[entry["reverseFulfillmentOrderLineItemId"]] = planned.get(
                entry["reverseFulfillmentOrderLineItemId"], 0
            )
            planned[entry["reverseFulfillmentOrderLineItemId"]] += entry["quantity"]
            if entry["quantity"] < 1 or planned[entry["reverseFulfillmentOrderLineItemId"]] > left:
                errors.append(_user_error([*field, "quantity"], f"Quantity must be between 1 and {left}.", "INVALID"))
            if entry["dispositionType"] == "RESTOCKED":
                location = legacy_id(entry.get("locationId"))
                if location is None or int(location) not in self.locations:
                    errors.append(
                        _user_error([*field, "locationId"], "A valid location is required to restock.", "INVALID")
                    )
        if errors:
            return {"reverseFulfillmentOrderLineItems": None, "userErrors": errors}
        touched = []
        for entry in inputs:
            record, rfo, line = lines[entry["reverseFulfillmentOrderLineItemId"]]
            location = legacy_id(entry.get("locationId"))
            line["dispositions"].append(
                {
                    "id": f"gid://shopify/ReverseFulfillmentOrderDisposition/{next(self.disposition_ids)}",
                    "quantity": entry["quantity"],
                    "type": entry["dispositionType"],
                    "location": {"id": f"{LOCATION_GID}{location}"} if location else None,
                }
            )
            if entry["dispositionType"] == "RESTOCKED" and location is not None:
                self._restock(line["return_line"]["sku"], int(location), entry["quantity"])
            if all(
                sum(d["quantity"] for d in ln["dispositions"]) >= ln["return_line"]["quantity"] for ln in rfo["lines"]
            ):
                rfo["status"] = "CLOSED"
            record["updated_at"] = iso(now())
            touched.append(self._rfo_line_graph(line))
        return {"reverseFulfillmentOrderLineItems": touched, "userErrors": []}

    def _restock(self, sku: str, location_id: int, quantity: int) -> None:
        """Shopify adds restocked units to the location's available."""
        for variant in self.variants_by_sku(sku):
            item_id = variant["inventory_item_id"]
            level = self.levels.get((item_id, location_id))
            if level is not None:
                self._set_level(location_id, item_id, level["available"] + quantity)


class _Root:
    """What the GraphQL root fields resolve to."""

    def __init__(self, shop: Returns) -> None:
        self.shop = shop

    def __getattr__(self, name: str) -> Any:
        if name == "return":
            return lambda _info, id: self.shop.return_graph(id)
        raise AttributeError(name)

    def returnApproveRequest(self, _info: Any, input: dict[str, Any]) -> dict[str, Any]:
        return self.shop.approve_request(input)

    def reverseFulfillmentOrderDispose(self, _info: Any, dispositionInputs: list[dict[str, Any]]) -> dict[str, Any]:
        return self.shop.dispose(dispositionInputs)


def _user_error(field: list[str], message: str, code: str) -> dict[str, Any]:
    return {"field": field, "message": message, "code": code}


def _page() -> dict[str, Any]:
    return {"hasNextPage": False, "endCursor": None}
