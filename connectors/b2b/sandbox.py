"""In-memory emulation of the B2B portal (its API v1, see `connectors/b2b/client.py`) for
`orderloop up` and the tests.

- Accounts: the buyers (`POST /_sandbox/accounts`; the channel's `settings.accounts` are there
  from the start). An order names its account; an order for an unknown account is refused.
- Orders placed by the controls deliver `order.created`; `/edit` delivers `order.updated` (the
  buyer amended the PO), `/cancel` `order.cancelled`. Deliveries are signed by Standard Webhooks
  with a fresh `webhook-timestamp` at every attempt and the same `webhook-id` across retries;
  the kit's webhook controls make them arrive twice, late or out of order
  (`/_sandbox/webhooks/hold`, `/release?order=reverse`, `/duplicate`, `/{id}/redeliver`), and
  the knob `duplicate_deliveries` sends every one twice.
- What Orderloop posts is recorded once per `Idempotency-Key` (a key seen before replays the
  first answer with `Idempotent-Replayed: true`): fulfillments, the acknowledgement (checked
  against the order's lines), the cancellation, documents (a PDF, base64). `GET /v1/orders/{id}`
  shows the order's status (open, acknowledged, partially_shipped, shipped, cancelled) and each
  line's decision and shipped quantity.
- Inventory per account (`PUT /v1/accounts/{id}/inventory`), kept with its history.
- Rate limit: `rate_limit` calls per `rate_window` seconds (knobs), then 429
  `{"error": "rate limit exceeded", "retryAfter": n}` with `Retry-After`; every API answer
  carries `X-RateLimit-Limit`, `X-RateLimit-Remaining` and `X-RateLimit-Reset`.

Errors answer `{"error": ...}` (the kit's shape). `GET /_sandbox` lists every route.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import time
import uuid
from collections import deque
from functools import partial
from typing import Annotated, Any

from fastapi import FastAPI, Query, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from connectors.b2b.webhooks import PortalEvent
from connectors.base import SandboxOptions
from connectors.sandbox_kit import (
    Call,
    ResourceStore,
    Route,
    RouteTable,
    SandboxError,
    SandboxState,
    SlidingWindow,
    bearer_auth,
    numbered,
    offset_page,
    sandbox_app,
)
from connectors.sandbox_kit.onx_bodies import fulfillment_problem, inventory_items, new_order_id, now_text, parse_time
from connectors.signing import json_type, standard_webhook_signature

_STATUSES = {"accepted", "changed", "rejected"}


class PortalKnobs(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rate_limit: int = Field(default=120, ge=1)
    rate_window: float = Field(default=60.0, gt=0)
    # Deliver every webhook twice (as a portal retrying after a timeout does).
    duplicate_deliveries: bool = False
    # Answer 422 to every fulfillment (drives `tracking_rejected`).
    reject_fulfillments: bool = False
    # Seconds before each webhook is delivered.
    webhook_delay: float = 0.0


def _no_order(external_id: Any) -> SandboxError:
    return SandboxError(404, f"no order {external_id!r}", hint="place it with POST /_sandbox/orders")


def _no_account(account: Any) -> SandboxError:
    return SandboxError(404, f"no account {account!r}", hint="create it with POST /_sandbox/accounts")


def _line_problem(body: Any, order: dict[str, Any]) -> str | None:
    """What is wrong with an acknowledgement of `order` (None: nothing)."""
    if not isinstance(body, dict):
        return f"the acknowledgement must be a JSON object, not {json_type(body)}"
    items = body.get("lineItems")
    if not isinstance(items, list) or not items:
        return "lineItems must be a non-empty array"
    ordered = {str(line.get("id")): line.get("quantity") for line in order.get("lineItems", [])}
    for i, item in enumerate(items):
        if not isinstance(item, dict) or str(item.get("lineId")) not in ordered:
            return f"lineItems[{i}].lineId is not a line of order {order['externalId']}"
        if item.get("status") not in _STATUSES:
            return f"lineItems[{i}].status must be one of {', '.join(sorted(_STATUSES))}"
        accepted = item.get("accepted")
        if isinstance(accepted, bool) or not isinstance(accepted, int) or accepted < 0:
            return f"lineItems[{i}].accepted must be a non-negative integer"
        if accepted > ordered[str(item["lineId"])]:
            return f"lineItems[{i}].accepted ({accepted}) is more than was ordered"
    return None


class PortalSandbox(SandboxState[PortalKnobs]):
    def __init__(self, options: SandboxOptions) -> None:
        super().__init__(options, PortalKnobs)
        self.secret = options.channel.credential("webhook_secret")
        self.api_token = options.channel.credential("api_token")
        self.accounts: ResourceStore[dict[str, Any]] = ResourceStore(id_of=lambda a: a["id"], missing=_no_account)
        for account in options.channel.settings.get("accounts") or {}:
            self.accounts.add({"id": str(account), "name": str(account)})
        self.orders: ResourceStore[dict[str, Any]] = ResourceStore(id_of=lambda o: o["externalId"], missing=_no_order)
        self.fulfillments: ResourceStore[dict[str, Any]] = ResourceStore(numbered("ful_{:06d}"))
        self.documents: ResourceStore[dict[str, Any]] = ResourceStore(numbered("doc_{:06d}"))
        # Idempotency-Key -> the first answer, per kind of call.
        self.answers: dict[tuple[str, str], dict[str, Any]] = {}
        self.inventory: dict[str, dict[str, dict[str, Any]]] = {}
        self.inventory_log: deque[dict[str, Any]] = deque(maxlen=10_000)
        self.window = SlidingWindow(self.knobs.value.rate_limit, self.knobs.value.rate_window)

    def knobs_changed(self, changes: dict[str, Any]) -> None:
        if "rate_limit" in changes or "rate_window" in changes:
            self.window = SlidingWindow(self.knobs.value.rate_limit, self.knobs.value.rate_window)

    # --- API checks ---

    async def rate_limit(self, response: Response) -> None:
        knobs = self.knobs.value
        wait = self.window.acquire()
        reset = str(math.ceil(knobs.rate_window))
        if wait > 0:
            seconds = max(1, math.ceil(wait))
            raise SandboxError(
                429,
                "rate limit exceeded",
                {
                    "Retry-After": str(seconds),
                    "X-RateLimit-Limit": str(knobs.rate_limit),
                    "X-RateLimit-Remaining": "0",
                    "X-RateLimit-Reset": str(seconds),
                },
                retryAfter=seconds,
            )
        response.headers["X-RateLimit-Limit"] = str(knobs.rate_limit)
        response.headers["X-RateLimit-Remaining"] = str(self.window.remaining)
        response.headers["X-RateLimit-Reset"] = reset

    # --- webhooks ---

    def deliver(self, event: PortalEvent, order: dict[str, Any], *, duplicate: bool = False, **flags: bool) -> str:
        """Sign and send `event` (the Standard Webhooks envelope around the order); its
        `webhook-id` is kept across retries and redeliveries."""
        webhook_id = f"msg_{uuid.uuid4().hex}"
        body = json.dumps({"type": event.value, "timestamp": now_text(), "data": order}).encode()
        secret = "whsec_" + base64.b64encode(b"not-the-portal-secret").decode() if flags.get("bad_signature") else None
        self.sender.emit(
            self.options.webhook_url,
            event.value,
            body,
            partial(self.signed_headers, webhook_id, body, secret),
            webhook_id=webhook_id,
            delay=self.knobs.value.webhook_delay,
            duplicate=duplicate or self.knobs.value.duplicate_deliveries,
            deliver=flags.get("deliver", True),
        )
        return webhook_id

    def signed_headers(self, webhook_id: str, body: bytes, secret: str | None = None) -> dict[str, str]:
        """Signed at each attempt, with the time of sending."""
        timestamp = int(time.time())
        signature = standard_webhook_signature(secret or self.secret, webhook_id, timestamp, body)
        return {
            "Content-Type": "application/json",
            "webhook-id": webhook_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": signature,
        }

    # --- idempotent posts ---

    def _replayed(self, kind: str, key: str | None) -> JSONResponse | None:
        first = self.answers.get((kind, key)) if key else None
        if first is None:
            return None
        return JSONResponse(first, status_code=200, headers={"Idempotent-Replayed": "true"})

    def _remember(self, kind: str, key: str | None, answer: dict[str, Any]) -> JSONResponse:
        if key:
            self.answers[(kind, key)] = answer
        return JSONResponse(answer, status_code=201)

    def fulfill(self, external_id: str, key: str | None, body: Any) -> JSONResponse:
        replay = self._replayed("fulfillment", key)
        if replay is not None:
            return replay
        order = self.orders.find(external_id)
        if self.knobs.value.reject_fulfillments:
            raise SandboxError(422, "fulfillment refused (sandbox knob reject_fulfillments)")
        problem = fulfillment_problem(body)
        if problem:
            raise SandboxError(422, problem)
        if order["status"] == "cancelled":
            raise SandboxError(409, f"order {external_id!r} is cancelled")
        fulfillment_id = self.fulfillments.new_id()
        shipped = order.setdefault("shipped", {})
        for item in body["lineItems"]:
            line = str(item.get("id") or item["sku"])
            shipped[line] = shipped.get(line, 0) + item["quantity"]
        ordered = {str(line["id"]): line["quantity"] for line in order["lineItems"]}
        done = all(shipped.get(line, 0) >= qty for line, qty in ordered.items())
        order.update(status="shipped" if done else "partially_shipped", updatedAt=now_text())
        answer = {"id": fulfillment_id, "orderId": external_id, "trackingNumbers": body["trackingNumbers"]}
        self.fulfillments.add({"id": fulfillment_id, "orderId": external_id, "idempotencyKey": key, "body": body})
        return self._remember("fulfillment", key, answer)

    def acknowledge(self, external_id: str, key: str | None, body: Any) -> JSONResponse:
        replay = self._replayed("acknowledgement", key)
        if replay is not None:
            return replay
        order = self.orders.find(external_id)
        if order["status"] == "cancelled":
            raise SandboxError(409, f"order {external_id!r} is cancelled")
        problem = _line_problem(body, order)
        if problem:
            raise SandboxError(422, problem)
        decisions = {str(item["lineId"]): item for item in body["lineItems"]}
        for line in order["lineItems"]:
            line["decision"] = decisions.get(str(line["id"]))
        order.setdefault("acknowledgements", []).append({"idempotencyKey": key, "body": body, "at": now_text()})
        if order["status"] == "open":
            order["status"] = "acknowledged"
        order["updatedAt"] = now_text()
        return self._remember("acknowledgement", key, {"orderId": external_id, "status": order["status"]})

    def cancel_by_seller(self, external_id: str, key: str | None, body: Any) -> JSONResponse:
        replay = self._replayed("cancellation", key)
        if replay is not None:
            return replay
        order = self.orders.find(external_id)
        if order["status"] in ("shipped", "partially_shipped"):
            raise SandboxError(409, f"order {external_id!r} has shipped")
        reason = body.get("reason") if isinstance(body, dict) else None
        order.update(status="cancelled", cancelReason=reason or "cancelled by the seller", updatedAt=now_text())
        return self._remember("cancellation", key, {"orderId": external_id, "status": "cancelled"})

    def add_document(self, external_id: str, key: str | None, body: Any) -> JSONResponse:
        replay = self._replayed("document", key)
        if replay is not None:
            return replay
        self.orders.find(external_id)
        if not isinstance(body, dict) or body.get("contentType") != "application/pdf":
            raise SandboxError(422, 'a document is {"kind", "filename", "contentType": "application/pdf", "content"}')
        try:
            pdf = base64.b64decode(str(body.get("content")), validate=True)
        except (binascii.Error, ValueError):
            raise SandboxError(422, "content must be base64") from None
        if not pdf.startswith(b"%PDF-"):
            raise SandboxError(422, "content is not a PDF")
        document_id = self.documents.new_id()
        self.documents.add(
            {
                "id": document_id,
                "orderId": external_id,
                "kind": body.get("kind"),
                "filename": body.get("filename"),
                "bytes": len(pdf),
                "content": body["content"],
                "idempotencyKey": key,
            }
        )
        return self._remember("document", key, {"id": document_id, "orderId": external_id})

    def set_inventory(self, account: str, body: Any) -> dict[str, Any]:
        self.accounts.find(account)
        items = inventory_items(body)
        at = now_text()
        levels = self.inventory.setdefault(account, {})
        for item in items:
            levels[item["sku"]] = {"sku": item["sku"], "available": item["available"], "receivedAt": at}
            self.inventory_log.append({"account": account, **levels[item["sku"]]})
        return {"account": account, "updated": len(items)}

    def list_orders(self, updated_since: str | None, cursor: str | None, limit: int) -> dict[str, Any]:
        since = parse_time(updated_since) if updated_since else None
        rows = self.orders.updated_since(since, lambda o: parse_time(o.get("updatedAt")))
        page, next_cursor = offset_page(rows, cursor, limit)
        return {"orders": page, "nextCursor": next_cursor}

    # --- controls ---

    def add_account(self, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict) or not isinstance(body.get("id"), str) or not body["id"]:
            raise SandboxError(422, 'an account is {"id", "name"}')
        if body["id"] in self.accounts:
            raise SandboxError(409, f"account {body['id']!r} exists")
        return self.accounts.add({"id": body["id"], "name": body.get("name") or body["id"]})

    def place(self, order: Any, **flags: bool) -> dict[str, Any]:
        external_id = new_order_id(order, self.orders, "amend it with /_sandbox/orders/{id}/edit")
        account = order.get("account")
        if account is None and self.accounts:
            # Placed by a control that names no buyer (the demo): the first account's buyer,
            # who gives the portal order number as the PO number.
            first = next(iter(self.accounts.values()))
            order = {"account": {"id": first["id"], "name": first["name"]}, **order}
            order.setdefault("customerPONumber", f"PO-{external_id}")
        else:
            self.accounts.find(account.get("id") if isinstance(account, dict) else None)
        now = now_text()
        stored = self.orders.add({"createdAt": now, "updatedAt": now, "status": "open", **order})
        webhook_id = self.deliver(PortalEvent.ORDER_CREATED, stored, duplicate=flags.pop("duplicate", False), **flags)
        return {"externalId": external_id, "event": PortalEvent.ORDER_CREATED, "deliveryIds": [webhook_id]}

    def edit(self, external_id: str, changes: Any, deliver: bool) -> dict[str, Any]:
        order = self.orders.find(external_id)
        if not isinstance(changes, dict):
            raise SandboxError(422, "send the amended order fields as a JSON object")
        order.update({k: v for k, v in changes.items() if k != "externalId"}, updatedAt=now_text())
        webhook_id = self.deliver(PortalEvent.ORDER_UPDATED, order, deliver=deliver)
        return {"externalId": external_id, "event": PortalEvent.ORDER_UPDATED, "deliveryIds": [webhook_id]}

    def cancel_by_buyer(self, external_id: str, body: Any, deliver: bool) -> dict[str, Any]:
        order = self.orders.find(external_id)
        reason = body.get("reason") if isinstance(body, dict) else None
        order.update(status="cancelled", cancelReason=reason or "cancelled by the buyer", updatedAt=now_text())
        webhook_id = self.deliver(PortalEvent.ORDER_CANCELLED, order, deliver=deliver)
        return {"externalId": external_id, "event": PortalEvent.ORDER_CANCELLED, "deliveryIds": [webhook_id]}


def api_routes(sandbox: PortalSandbox) -> RouteTable:
    async def list_orders(
        updated_since: Annotated[str | None, Query(alias="updatedSince")] = None,
        cursor: str | None = None,
        limit: Annotated[int, Query(ge=1, le=250)] = 50,
    ) -> dict[str, Any]:
        """?updatedSince=&cursor=&limit=: {"orders": [...], "nextCursor"}"""
        return sandbox.list_orders(updated_since, cursor, limit)

    def keyed(handler: Any) -> Any:
        return lambda c: handler(c.path["external_id"], c.request.headers.get("idempotency-key"), c.body)

    return RouteTable(
        dependencies=(bearer_auth(sandbox.api_token), sandbox.rate_limit),
        routes=(
            Route("POST", "/v1/orders/{external_id:path}/fulfillments", keyed(sandbox.fulfill), "record tracking"),
            Route(
                "POST",
                "/v1/orders/{external_id:path}/acknowledgement",
                keyed(sandbox.acknowledge),
                "each line's decision (accepted, changed, rejected), checked against the order",
            ),
            Route(
                "POST",
                "/v1/orders/{external_id:path}/cancellation",
                keyed(sandbox.cancel_by_seller),
                '{"reason"}: the seller cancelled the order',
            ),
            Route(
                "POST",
                "/v1/orders/{external_id:path}/documents",
                keyed(sandbox.add_document),
                '{"kind", "filename", "contentType", "content"}: a PDF for the buyer (base64)',
            ),
            Route(
                "PUT",
                "/v1/accounts/{account}/inventory",
                lambda c: sandbox.set_inventory(c.path["account"], c.body),
                '{"items": [{"sku", "available"}]}: what this buyer may order',
            ),
            Route("GET", "/v1/orders", endpoint=list_orders),
            Route(
                "GET",
                "/v1/orders/{external_id:path}",
                lambda c: sandbox.orders.find(c.path["external_id"]),
                "one order, with its status, line decisions and shipped quantities",
            ),
        ),
    )


def control_routes(sandbox: PortalSandbox) -> RouteTable:
    def place(call: Call) -> dict[str, Any]:
        flags = {
            "duplicate": call.flag("duplicate"),
            "bad_signature": call.flag("bad_signature"),
            "deliver": call.flag("deliver", True),
        }
        return sandbox.place(call.body, **flags)

    async def fulfillments(order: str | None = None) -> list[dict[str, Any]]:
        """?order=: the fulfillments recorded"""
        return [f for f in sandbox.fulfillments.values() if order is None or f["orderId"] == order]

    async def documents(order: str | None = None) -> list[dict[str, Any]]:
        """?order=: the documents posted (their base64 content included)"""
        return [d for d in sandbox.documents.values() if order is None or d["orderId"] == order]

    return RouteTable(
        prefix="/_sandbox",
        routes=(
            Route("POST", "/accounts", lambda c: sandbox.add_account(c.body), '{"id", "name"}: a buyer account'),
            Route("GET", "/accounts", lambda _: list(sandbox.accounts.values()), "every account"),
            Route(
                "POST",
                "/orders",
                place,
                "?duplicate=&bad_signature=&deliver=: store a portal order, deliver order.created",
                status=202,
            ),
            Route(
                "POST",
                "/orders/{external_id:path}/edit",
                lambda c: sandbox.edit(c.path["external_id"], c.body, c.flag("deliver", True)),
                "?deliver=: the buyer amends the PO (fields merged), deliver order.updated",
                status=202,
            ),
            Route(
                "POST",
                "/orders/{external_id:path}/cancel",
                lambda c: sandbox.cancel_by_buyer(c.path["external_id"], c.body, c.flag("deliver", True)),
                '?deliver=: {"reason"}: the buyer cancels, deliver order.cancelled',
                status=202,
            ),
            Route("GET", "/orders", lambda _: list(sandbox.orders.values()), "every order"),
            Route("GET", "/fulfillments", endpoint=fulfillments),
            Route("GET", "/documents", endpoint=documents),
            Route(
                "GET",
                "/inventory",
                lambda _: {"levels": sandbox.inventory, "history": list(sandbox.inventory_log)},
                "levels per account and SKU, and their history",
            ),
        ),
    )


def create_app(options: SandboxOptions) -> FastAPI:
    sandbox = PortalSandbox(options)
    return sandbox_app(
        f"B2B portal sandbox ({options.channel.id})", sandbox, api_routes(sandbox), control_routes(sandbox)
    )
