"""In-memory emulation of the generic storefront for `make run` and the tests.

API (bearer token = the channel's `api_token`; faults from `POST /_sandbox/faults` apply here):
  POST /orders/{externalId}/fulfillments   record a fulfillment (Idempotency-Key replays the first)
  POST /inventory                          {"items": [{"sku", "available"}]}, kept per SKU
  GET  /orders?updated_since=&cursor=&limit=   {"orders": [...], "next_cursor"}
  GET  /orders/{externalId}

Controls (no auth):
  POST /_sandbox/orders?duplicate=&bad_signature=&deliver=   store an onX order, deliver `order.created`
                                                    (`deliver=false`: a webhook lost on the way,
                                                    logged and never sent unless redelivered)
  POST /_sandbox/orders/{externalId}/edit           merge fields, deliver `order.updated`
  POST /_sandbox/orders/{externalId}/cancel         {"reason"}, deliver `order.cancelled`
  GET  /_sandbox/orders, /_sandbox/fulfillments?order=&after=, /_sandbox/inventory
                                                    (`after=N`: the fulfillments recorded after
                                                    the first N, for a follower that reads on)
  GET|POST /_sandbox/config                         knobs (`StorefrontKnobs`)
  GET|POST|DELETE /_sandbox/faults                  {"status": 503|429, "count", "retry_after"}
plus the kit's `/_sandbox/requests`, `/_sandbox/deliveries`, `/_sandbox/health` and webhook
controls, a webhook's id being its `X-Orderloop-Delivery` (the `deliveryIds` answered above):
  GET  /_sandbox/webhooks?topic=&state=             every webhook, with its signed body
  GET  /_sandbox/webhooks/held                      the held queue
  POST /_sandbox/webhooks/hold?topic=               queue deliveries (of these events only) from now on
  POST /_sandbox/webhooks/release?order=fifo|reverse   send the queue one after the other
  POST|DELETE /_sandbox/webhooks/duplicate          every delivery twice from now on / once again
  POST /_sandbox/webhooks/{webhook_id}/redeliver    the same delivery again: same id, same body
"""

from __future__ import annotations

import json
import uuid
from collections import deque
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict

from connectors.base import SandboxOptions
from connectors.sandbox_kit import (
    FaultInjector,
    KnobHolder,
    Recorder,
    SandboxError,
    WebhookSender,
    bearer_auth,
    read_json,
    sandbox_app,
)
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


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _parse_time(value: Any) -> datetime:
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return datetime.min.replace(tzinfo=UTC)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)




def _fulfillment_problem(body: Any) -> str | None:
    if not isinstance(body, dict):
        return f"the fulfillment must be a JSON object, not {json_type(body)}"
    items = body.get("lineItems")
    if not isinstance(items, list) or not items:
        return "lineItems must be a non-empty array"
    for i, item in enumerate(items):
        if not isinstance(item, dict) or not item.get("sku"):
            return f"lineItems[{i}].sku is missing"
        quantity = item.get("quantity")
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
            return f"lineItems[{i}].quantity must be a positive integer"
    if not isinstance(body.get("trackingNumbers"), list):
        return "trackingNumbers must be an array"
    return None


class StorefrontSandbox:
    """The storefront's state; `create_app` wires it to routes."""

    def __init__(self, options: SandboxOptions) -> None:
        self.options = options
        self.knobs = KnobHolder(StorefrontKnobs, options.knobs)
        self.recorder = Recorder()
        self.sender = WebhookSender(self.recorder)
        self.faults = FaultInjector()
        self.secret = options.channel.credential("webhook_secret")
        self.api_token = options.channel.credential("api_token")
        self.orders: dict[str, dict[str, Any]] = {}
        self.fulfillments: list[dict[str, Any]] = []
        self.by_key: dict[str, dict[str, Any]] = {}
        self.inventory: dict[str, dict[str, Any]] = {}
        self.inventory_log: deque[dict[str, Any]] = deque(maxlen=10_000)

    async def aclose(self) -> None:
        await self.sender.aclose()

    # --- webhooks ---

    def deliver(
        self,
        event: StorefrontEvent,
        order: dict[str, Any],
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
        order = self.orders.get(external_id)
        if order is None:
            raise SandboxError(404, f"no order {external_id!r}", hint="create it with POST /_sandbox/orders")
        return order

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
        problem = _fulfillment_problem(body)
        if problem:
            raise SandboxError(422, problem)
        fulfillment_id = f"ful_{len(self.fulfillments) + 1:06d}"
        response = {
            "id": fulfillment_id,
            "orderId": external_id,
            "status": "success",
            "trackingNumbers": body["trackingNumbers"],
            "createdAt": _now(),
        }
        record = {"id": fulfillment_id, "orderId": external_id, "idempotencyKey": key, "body": body}
        self.fulfillments.append(record | {"response": response, "receivedAt": response["createdAt"]})
        if key:
            self.by_key[key] = self.fulfillments[-1]
        order = self.orders.get(external_id)
        if order is not None:
            order.setdefault("fulfillmentIds", []).append(fulfillment_id)
        return JSONResponse(response, status_code=201)

    def set_inventory(self, body: Any) -> dict[str, Any]:
        items = body.get("items") if isinstance(body, dict) else None
        if not isinstance(items, list):
            raise SandboxError(422, 'expected {"items": [{"sku": ..., "available": ...}]}')
        for i, item in enumerate(items):
            available = item.get("available") if isinstance(item, dict) else None
            if not isinstance(item, dict) or not isinstance(item.get("sku"), str) or not item["sku"]:
                raise SandboxError(422, f"items[{i}].sku is missing")
            if isinstance(available, bool) or not isinstance(available, int) or available < 0:
                raise SandboxError(422, f"items[{i}].available must be a non-negative integer")
        at = _now()
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
        since = _parse_time(updated_since) if updated_since else None
        rows = sorted(self.orders.values(), key=lambda o: (_parse_time(o.get("updatedAt")), o["externalId"]))
        if since is not None:
            rows = [o for o in rows if _parse_time(o.get("updatedAt")) >= since]
        try:
            start = int(cursor) if cursor else 0
        except ValueError:
            raise SandboxError(400, f"invalid cursor {cursor!r}") from None
        page = rows[start : start + limit]
        more = start + limit < len(rows)
        return {"orders": page, "next_cursor": str(start + limit) if more else None}

    # --- controls ---

    def place(self, order: Any, duplicate: bool, bad_signature: bool, deliver: bool = True) -> dict[str, Any]:
        if not isinstance(order, dict):
            raise SandboxError(422, f"the order must be a JSON object, not {json_type(order)}")
        external_id = order.get("externalId")
        if not isinstance(external_id, str) or not external_id:
            raise SandboxError(422, "externalId is missing")
        if external_id in self.orders:
            raise SandboxError(409, f"order {external_id!r} exists", hint="edit it with /_sandbox/orders/{id}/edit")
        now = _now()
        stored = {"createdAt": now, "updatedAt": now, "status": "open", **order}
        self.orders[external_id] = stored
        ids = self.deliver(
            StorefrontEvent.ORDER_CREATED, stored, duplicate=duplicate, bad_signature=bad_signature, send=deliver
        )
        return {"externalId": external_id, "event": StorefrontEvent.ORDER_CREATED, "deliveryIds": ids}

    def edit(self, external_id: str, changes: Any) -> dict[str, Any]:
        order = self.order(external_id)
        if not isinstance(changes, dict):
            raise SandboxError(422, "send the changed order fields as a JSON object")
        order.update({k: v for k, v in changes.items() if k != "externalId"}, updatedAt=_now())
        ids = self.deliver(StorefrontEvent.ORDER_UPDATED, order)
        return {"externalId": external_id, "event": StorefrontEvent.ORDER_UPDATED, "deliveryIds": ids}

    def cancel(self, external_id: str, body: Any) -> dict[str, Any]:
        order = self.order(external_id)
        reason = body.get("reason") if isinstance(body, dict) else None
        order.update(status="cancelled", cancelReason=reason or "customer", updatedAt=_now())
        ids = self.deliver(StorefrontEvent.ORDER_CANCELLED, order)
        return {"externalId": external_id, "event": StorefrontEvent.ORDER_CANCELLED, "deliveryIds": ids}


def create_app(options: SandboxOptions) -> FastAPI:
    sandbox = StorefrontSandbox(options)
    app = sandbox_app(f"storefront sandbox ({options.channel.id})", sandbox)

    api = APIRouter(dependencies=[Depends(sandbox.faults.check), Depends(bearer_auth(sandbox.api_token))])

    @api.post("/orders/{external_id:path}/fulfillments")
    async def create_fulfillment(external_id: str, request: Request) -> JSONResponse:
        body = await read_json(request)
        return sandbox.create_fulfillment(external_id, request.headers.get("idempotency-key"), body)

    @api.post("/inventory")
    async def set_inventory(request: Request) -> dict[str, Any]:
        return sandbox.set_inventory(await read_json(request))

    @api.get("/orders")
    async def list_orders(
        updated_since: str | None = None,
        cursor: str | None = None,
        limit: Annotated[int, Query(ge=1, le=250)] = 50,
    ) -> dict[str, Any]:
        return sandbox.list_orders(updated_since, cursor, limit)

    @api.get("/orders/{external_id:path}")
    async def get_order(external_id: str) -> dict[str, Any]:
        return sandbox.order(external_id)

    controls = APIRouter(prefix="/_sandbox")

    @controls.post("/orders", status_code=202)
    async def place_order(
        request: Request, duplicate: bool = False, bad_signature: bool = False, deliver: bool = True
    ) -> dict[str, Any]:
        return sandbox.place(await read_json(request), duplicate, bad_signature, deliver)

    @controls.post("/orders/{external_id:path}/edit", status_code=202)
    async def edit_order(external_id: str, request: Request) -> dict[str, Any]:
        return sandbox.edit(external_id, await read_json(request))

    @controls.post("/orders/{external_id:path}/cancel", status_code=202)
    async def cancel_order(external_id: str, request: Request) -> dict[str, Any]:
        return sandbox.cancel(external_id, await read_json(request))

    @controls.get("/orders")
    async def sandbox_orders() -> list[dict[str, Any]]:
        return list(sandbox.orders.values())

    @controls.get("/fulfillments")
    async def sandbox_fulfillments(
        order: str | None = None, after: Annotated[int, Query(ge=0)] = 0
    ) -> list[dict[str, Any]]:
        return [f for f in sandbox.fulfillments[after:] if order is None or f["orderId"] == order]

    @controls.get("/inventory")
    async def sandbox_inventory() -> dict[str, Any]:
        return {"levels": sandbox.inventory, "history": list(sandbox.inventory_log)}

    app.include_router(api)
    app.include_router(controls)
    return app
