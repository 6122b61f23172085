"""In-memory emulation of the generic storefront for `make run` and the tests: orders placed by
the controls (each delivering `order.created`, `order.updated` or `order.cancelled`, signed in
Orderloop's scheme, the delivery id being the webhook's id), fulfillments recorded once per
Idempotency-Key, inventory kept per SKU, and an updated-since order poll in cursor pages.

Returns: a customer's return requested by the controls (an onX return, delivering
`return.requested`), shipped back (`return.in_transit` with its label) or withdrawn
(`return.cancelled`); Orderloop's "return received" notice (`POST /returns/{id}/received`) is
recorded once per Idempotency-Key and marks the return received (the merchant refunds then).

The API takes bearer token = the channel's `api_token`; errors, and every route not served,
answer `{"error": ...}`. `GET /_sandbox` lists the routes and controls.
"""

from __future__ import annotations

import json
import uuid
from collections import deque
from typing import Annotated, Any

from fastapi import FastAPI, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict

from connectors.base import SandboxOptions
from connectors.sandbox_kit import (
    Call,
    ResourceStore,
    Route,
    RouteTable,
    SandboxError,
    SandboxState,
    bearer_auth,
    numbered,
    offset_page,
    sandbox_app,
)
from connectors.sandbox_kit.onx_bodies import fulfillment_problem, inventory_items, new_order_id, now_text, parse_time
from connectors.signing import json_type, orderloop_webhook_headers
from connectors.storefront.webhooks import StorefrontEvent


class StorefrontKnobs(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Answer 422 to every fulfillment (drives the `tracking_rejected` exception).
    reject_fulfillments: bool = False
    # Answer 404 to fulfillments for orders the sandbox never stored. Off by default, since
    # tests may post orders straight to the gateway.
    reject_unknown_orders: bool = False
    # Seconds before each webhook is delivered.
    webhook_delay: float = 0.0


def _no_order(external_id: Any) -> SandboxError:
    return SandboxError(404, f"no order {external_id!r}", hint="create it with POST /_sandbox/orders")


def _no_return(external_id: Any) -> SandboxError:
    return SandboxError(404, f"no return {external_id!r}", hint="request it with POST /_sandbox/returns")


_CONDITIONS = {"sellable", "damaged", "wrong_item", "missing"}


def _notice_problem(body: Any) -> str | None:
    if not isinstance(body, dict):
        return f"the notice must be a JSON object, not {json_type(body)}"
    items = body.get("returnLineItems")
    if not isinstance(items, list) or not items:
        return "returnLineItems must be a non-empty array"
    for i, item in enumerate(items):
        if not isinstance(item, dict) or not item.get("sku"):
            return f"returnLineItems[{i}].sku is missing"
        quantity = item.get("quantityReturned")
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
            return f"returnLineItems[{i}].quantityReturned must be a positive integer"
        condition = (item.get("inspection") or {}).get("conditionCategory")
        if condition not in _CONDITIONS:
            return f"returnLineItems[{i}].inspection.conditionCategory must be one of {', '.join(sorted(_CONDITIONS))}"
    return None


class StorefrontSandbox(SandboxState[StorefrontKnobs]):
    """The storefront's state; `create_app` wires it to routes."""

    def __init__(self, options: SandboxOptions) -> None:
        super().__init__(options, StorefrontKnobs)
        self.secret = options.channel.credential("webhook_secret")
        self.api_token = options.channel.credential("api_token")
        self.orders: ResourceStore[dict[str, Any]] = ResourceStore(id_of=lambda o: o["externalId"], missing=_no_order)
        self.fulfillments: ResourceStore[dict[str, Any]] = ResourceStore(numbered("ful_{:06d}"))
        self.by_key: dict[str, dict[str, Any]] = {}
        self.inventory: dict[str, dict[str, Any]] = {}
        self.inventory_log: deque[dict[str, Any]] = deque(maxlen=10_000)
        self.returns: ResourceStore[dict[str, Any]] = ResourceStore(id_of=lambda r: r["externalId"], missing=_no_return)
        self.return_notices: dict[str, dict[str, Any]] = {}

    # --- webhooks ---

    def deliver(
        self,
        event: StorefrontEvent,
        order: dict[str, Any],  # the order, or the return for return events
        *,
        duplicate: bool = False,
        bad_signature: bool = False,
        send: bool = True,
    ) -> list[str]:
        """Sign and send `event`; its delivery id is the webhook's id. A duplicate is a
        re-delivery: same body, same delivery id, as vendors retry. `send=False` only logs it."""
        body = json.dumps(order).encode()
        secret = "not-the-webhook-secret" if bad_signature else self.secret
        delivery_id = uuid.uuid4().hex
        headers = orderloop_webhook_headers(secret, event.value, body, delivery_id=delivery_id)
        self.sender.emit(
            self.options.webhook_url,
            event.value,
            body,
            headers,
            webhook_id=delivery_id,
            delay=self.knobs.value.webhook_delay,
            duplicate=duplicate,
            deliver=send,
        )
        return [delivery_id]

    def order(self, external_id: str) -> dict[str, Any]:
        return self.orders.find(external_id)

    # --- API ---

    def create_fulfillment(self, external_id: str, key: str | None, body: Any) -> JSONResponse:
        if key and key in self.by_key:
            first = self.by_key[key]
            return JSONResponse(first["response"], status_code=200, headers={"Idempotent-Replayed": "true"})
        knobs = self.knobs.value
        if knobs.reject_unknown_orders and external_id not in self.orders:
            raise SandboxError(404, f"no order {external_id!r}")
        if knobs.reject_fulfillments:
            raise SandboxError(422, "fulfillment refused (sandbox knob reject_fulfillments)")
        problem = fulfillment_problem(body)
        if problem:
            raise SandboxError(422, problem)
        fulfillment_id = self.fulfillments.new_id()
        response = {
            "id": fulfillment_id,
            "orderId": external_id,
            "status": "success",
            "trackingNumbers": body["trackingNumbers"],
            "createdAt": now_text(),
        }
        record = {"id": fulfillment_id, "orderId": external_id, "idempotencyKey": key, "body": body}
        stored = self.fulfillments.add(record | {"response": response, "receivedAt": response["createdAt"]})
        if key:
            self.by_key[key] = stored
        order = self.orders.get(external_id)
        if order is not None:
            order.setdefault("fulfillmentIds", []).append(fulfillment_id)
        return JSONResponse(response, status_code=201)

    def set_inventory(self, body: Any) -> dict[str, Any]:
        items = inventory_items(body)
        at = now_text()
        for item in items:
            previous = self.inventory.get(item["sku"], {})
            self.inventory[item["sku"]] = {
                "sku": item["sku"],
                "available": item["available"],
                "receivedAt": at,
                "updates": previous.get("updates", 0) + 1,
            }
            self.inventory_log.append({"sku": item["sku"], "available": item["available"], "receivedAt": at})
        return {"updated": len(items)}

    def list_orders(self, updated_since: str | None, cursor: str | None, limit: int) -> dict[str, Any]:
        since = parse_time(updated_since) if updated_since else None
        rows = self.orders.updated_since(since, lambda o: parse_time(o.get("updatedAt")))
        page, next_cursor = offset_page(rows, cursor, limit)
        return {"orders": page, "next_cursor": next_cursor}

    # --- controls ---

    def place(self, order: Any, duplicate: bool, bad_signature: bool, deliver: bool = True) -> dict[str, Any]:
        external_id = new_order_id(order, self.orders, "edit it with /_sandbox/orders/{id}/edit")
        now = now_text()
        stored = {"createdAt": now, "updatedAt": now, "status": "open", **order}
        self.orders.add(stored)
        ids = self.deliver(
            StorefrontEvent.ORDER_CREATED, stored, duplicate=duplicate, bad_signature=bad_signature, send=deliver
        )
        return {"externalId": external_id, "event": StorefrontEvent.ORDER_CREATED, "deliveryIds": ids}

    def edit(self, external_id: str, changes: Any, deliver: bool = True) -> dict[str, Any]:
        order = self.order(external_id)
        if not isinstance(changes, dict):
            raise SandboxError(422, "send the changed order fields as a JSON object")
        order.update({k: v for k, v in changes.items() if k != "externalId"}, updatedAt=now_text())
        ids = self.deliver(StorefrontEvent.ORDER_UPDATED, order, send=deliver)
        return {"externalId": external_id, "event": StorefrontEvent.ORDER_UPDATED, "deliveryIds": ids}

    def cancel(self, external_id: str, body: Any, deliver: bool = True) -> dict[str, Any]:
        order = self.order(external_id)
        reason = body.get("reason") if isinstance(body, dict) else None
        order.update(status="cancelled", cancelReason=reason or "customer", updatedAt=now_text())
        ids = self.deliver(StorefrontEvent.ORDER_CANCELLED, order, send=deliver)
        return {"externalId": external_id, "event": StorefrontEvent.ORDER_CANCELLED, "deliveryIds": ids}

    # --- returns ---

    def request_return(self, body: Any, duplicate: bool) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise SandboxError(422, f"the return must be a JSON object, not {json_type(body)}")
        external_id = body.get("externalId")
        if not isinstance(external_id, str) or not external_id:
            raise SandboxError(422, "externalId is missing")
        if external_id in self.returns:
            raise SandboxError(409, f"return {external_id!r} exists")
        if not isinstance(body.get("orderId"), str):
            raise SandboxError(422, "orderId (the storefront's order id) is missing")
        now = now_text()
        stored = {"createdAt": now, "updatedAt": now, "status": "requested", "outcome": "refund", **body}
        self.returns.add(stored)
        ids = self.deliver(StorefrontEvent.RETURN_REQUESTED, stored, duplicate=duplicate)
        return {"externalId": external_id, "event": StorefrontEvent.RETURN_REQUESTED, "deliveryIds": ids}

    def ship_return(self, external_id: str, body: Any) -> dict[str, Any]:
        found = self.returns.find(external_id)
        label = body if isinstance(body, dict) and body.get("trackingNumber") else None
        label = {"carrier": "UPS", "trackingNumber": f"1ZRET{external_id}", **(label or {}), "createdAt": now_text()}
        found.update(status="in_transit", labels=[label], updatedAt=now_text())
        ids = self.deliver(StorefrontEvent.RETURN_IN_TRANSIT, found)
        return {"externalId": external_id, "event": StorefrontEvent.RETURN_IN_TRANSIT, "deliveryIds": ids}

    def cancel_return(self, external_id: str, body: Any) -> dict[str, Any]:
        found = self.returns.find(external_id)
        reason = body.get("reason") if isinstance(body, dict) else None
        found.update(status="cancelled", cancelReason=reason or "customer", updatedAt=now_text())
        ids = self.deliver(StorefrontEvent.RETURN_CANCELLED, found)
        return {"externalId": external_id, "event": StorefrontEvent.RETURN_CANCELLED, "deliveryIds": ids}

    def return_received(self, external_id: str, key: str | None, body: Any) -> JSONResponse:
        if key and key in self.return_notices:
            first = self.return_notices[key]
            return JSONResponse(first["response"], status_code=200, headers={"Idempotent-Replayed": "true"})
        found = self.returns.find(external_id)
        problem = _notice_problem(body)
        if problem:
            raise SandboxError(422, problem)
        notice_id = f"rcv_{len(self.return_notices) + 1:06d}"
        response = {"id": notice_id, "returnId": external_id, "status": "received", "refund": "pending"}
        found.setdefault("receivedNotices", []).append({"id": notice_id, "idempotencyKey": key, "body": body})
        found.update(status="received", updatedAt=now_text())
        self.return_notices[key or notice_id] = {"response": response}
        return JSONResponse(response, status_code=201)


def api_routes(sandbox: StorefrontSandbox) -> RouteTable:
    async def list_orders(
        updated_since: str | None = None,
        cursor: str | None = None,
        limit: Annotated[int, Query(ge=1, le=250)] = 50,
    ) -> dict[str, Any]:
        """?updated_since=&cursor=&limit=: {"orders": [...], "next_cursor"}"""
        return sandbox.list_orders(updated_since, cursor, limit)

    def fulfill(call: Call) -> JSONResponse:
        key = call.request.headers.get("idempotency-key")
        return sandbox.create_fulfillment(call.path["external_id"], key, call.body)

    return RouteTable(
        dependencies=(bearer_auth(sandbox.api_token),),
        routes=(
            Route(
                "POST",
                "/orders/{external_id:path}/fulfillments",
                fulfill,
                "record a fulfillment (an Idempotency-Key seen before replays the first answer)",
            ),
            Route(
                "POST",
                "/inventory",
                lambda c: sandbox.set_inventory(c.body),
                '{"items": [{"sku", "available"}]}, kept per SKU',
            ),
            Route("GET", "/orders", endpoint=list_orders),
            Route("GET", "/orders/{external_id:path}", lambda c: sandbox.order(c.path["external_id"]), "one order"),
            Route(
                "POST",
                "/returns/{external_id:path}/received",
                lambda c: sandbox.return_received(
                    c.path["external_id"], c.request.headers.get("idempotency-key"), c.body
                ),
                "the return was received, each unit's condition (an Idempotency-Key seen before replays)",
            ),
            Route(
                "GET",
                "/returns/{external_id:path}",
                lambda c: sandbox.returns.find(c.path["external_id"]),
                "one return",
            ),
        ),
    )


def control_routes(sandbox: StorefrontSandbox) -> RouteTable:
    def place(call: Call) -> dict[str, Any]:
        return sandbox.place(call.body, call.flag("duplicate"), call.flag("bad_signature"), call.flag("deliver", True))

    async def fulfillments(order: str | None = None, after: Annotated[int, Query(ge=0)] = 0) -> list[dict[str, Any]]:
        """?order=&after=N: the fulfillments recorded (after the first N, for a follower that reads on)"""
        return [f for f in list(sandbox.fulfillments.values())[after:] if order is None or f["orderId"] == order]

    return RouteTable(
        prefix="/_sandbox",
        routes=(
            Route(
                "POST",
                "/orders",
                place,
                "?duplicate=&bad_signature=&deliver=: store an onX order, deliver order.created (deliver=false: "
                "a webhook lost on the way, logged and never sent unless redelivered)",
                status=202,
            ),
            Route(
                "POST",
                "/orders/{external_id:path}/edit",
                lambda c: sandbox.edit(c.path["external_id"], c.body, c.flag("deliver", True)),
                "?deliver=: merge fields, deliver order.updated (deliver=false: a lost webhook)",
                status=202,
            ),
            Route(
                "POST",
                "/orders/{external_id:path}/cancel",
                lambda c: sandbox.cancel(c.path["external_id"], c.body, c.flag("deliver", True)),
                '?deliver=: {"reason"}, deliver order.cancelled (deliver=false: a lost webhook)',
                status=202,
            ),
            Route("GET", "/orders", lambda _: list(sandbox.orders.values()), "every order"),
            Route(
                "POST",
                "/returns",
                lambda c: sandbox.request_return(c.body, c.flag("duplicate")),
                "?duplicate=: store an onX return request, deliver return.requested",
                status=202,
            ),
            Route(
                "POST",
                "/returns/{external_id:path}/ship",
                lambda c: sandbox.ship_return(c.path["external_id"], c.body),
                '{"carrier", "trackingNumber"}: the customer shipped it back, deliver return.in_transit',
                status=202,
            ),
            Route(
                "POST",
                "/returns/{external_id:path}/cancel",
                lambda c: sandbox.cancel_return(c.path["external_id"], c.body),
                '{"reason"}: the customer withdrew it, deliver return.cancelled',
                status=202,
            ),
            Route("GET", "/returns", lambda _: list(sandbox.returns.values()), "every return, with its notices"),
            Route("GET", "/fulfillments", endpoint=fulfillments),
            Route(
                "GET",
                "/inventory",
                lambda _: {"levels": sandbox.inventory, "history": list(sandbox.inventory_log)},
                "levels per SKU and their history",
            ),
        ),
    )


def create_app(options: SandboxOptions) -> FastAPI:
    sandbox = StorefrontSandbox(options)
    return sandbox_app(
        f"storefront sandbox ({options.channel.id})", sandbox, api_routes(sandbox), control_routes(sandbox)
    )
