"""What every fault drill does around its fault: place a batch of orders the way a channel does
(signed webhooks, retried until the gateway accepts them), then check the outcome: every order
completed or in a named exception, none duplicated, no shipping request sent twice to the
fulfillment sandbox, no tracking pushed twice to the selling channel (both counted from the
sandboxes' raw request logs, see `tests/faults/sends.py`), inventory pushed by one sync at a
time, the ledger consistent."""

from __future__ import annotations

import asyncio
import json
import os
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from connectors.signing import orderloop_webhook_headers
from orderloop.config import load_config
from orderloop.contracts.inventory_sync import InventorySyncInput
from orderloop.ledger import Ledger
from orderloop.stack import Stack
from orderloop.temporal_client import connect
from tests.faults.sends import inventory_push_problems, recorded, sent_once_problems
from tests.integration.stack import Api

DONE = {"completed", "cancelled"}


@dataclass
class Batch:
    channel: str
    external_ids: list[str]
    # Webhook attempts the gateway refused (503 while Temporal was away, connection errors).
    refused_attempts: int = 0
    # Every answer the gateway gave, by status code (0: no answer, a connection error).
    answers: Counter[int] = field(default_factory=Counter)
    statuses: Counter[str] = field(default_factory=Counter)


def order_body(external_id: str, quantity: int = 1) -> dict[str, Any]:
    return {
        "externalId": external_id,
        "lineItems": [
            {"id": "1", "sku": "TSHIRT-BLK-M", "quantity": quantity, "unitPrice": 19.0},
            {"id": "2", "sku": "MUG-11OZ", "quantity": 1, "unitPrice": 9.0},
        ],
        "shippingAddress": {
            "firstName": "Grace",
            "lastName": "Hopper",
            "address1": "1 Navy Way",
            "city": "Arlington",
            "stateOrProvince": "VA",
            "zipCodeOrPostalCode": "22202",
            "country": "US",
        },
    }


def channel_url(stack: Stack, channel_id: str) -> str:
    return load_config(stack.config_path).channel(channel_id).base_url


async def deliver(
    http: httpx.AsyncClient,
    stack: Stack,
    body: bytes,
    headers: dict[str, str],
    batch: Batch,
    gateway_url: str | None = None,
) -> None:
    """POST one webhook until the gateway (`gateway_url`, default the stack's) takes it,
    backing off as a channel's sender does."""
    url = f"{gateway_url or stack.gateway_url}/webhooks/{batch.channel}"
    for attempt in range(120):
        try:
            response = await http.post(url, content=body, headers=headers)
            batch.answers[response.status_code] += 1
            if response.status_code < 500:
                assert response.status_code in (200, 202), response.text
                return
        except httpx.TransportError:
            batch.answers[0] += 1
        batch.refused_attempts += 1
        await asyncio.sleep(min(0.25 * (attempt + 1), 2.0))
    raise AssertionError(f"the gateway never accepted {body[:80]!r}")


async def place(
    stack: Stack,
    count: int,
    *,
    channel: str = "storefront",
    concurrency: int = 10,
    body: Callable[[str], dict[str, Any]] = order_body,
    gateway_urls: list[str] | None = None,
) -> Batch:
    """Send `count` new orders (`body(external id)`), each retried until taken, spread over
    `gateway_urls` in turn (default: the stack's gateway)."""
    batch = Batch(channel=channel, external_ids=[f"drill-{uuid.uuid4().hex[:8]}-{i}" for i in range(count)])
    secret = os.environ["ORDERLOOP_STOREFRONT_WEBHOOK_SECRET"]
    gate = asyncio.Semaphore(concurrency)
    urls = gateway_urls or [stack.gateway_url]
    async with httpx.AsyncClient(timeout=10) as http:

        async def one(index: int, external_id: str) -> None:
            async with gate:
                # Built when its turn comes, so `body` can act at a point of the batch.
                raw = json.dumps(body(external_id)).encode()
                headers = orderloop_webhook_headers(secret, "order.created", raw) | {"Content-Type": "application/json"}
                await deliver(http, stack, raw, headers, batch, urls[index % len(urls)])

        await asyncio.gather(*(one(n, i) for n, i in enumerate(batch.external_ids)))
    return batch


async def settle(api: Api, batch: Batch, timeout: float = 120, allowed: frozenset[str] = frozenset()) -> dict[str, Any]:
    """Wait until every order is done or waits in an exception named in `allowed`; return the
    views. Fails naming the orders still moving."""
    views: dict[str, Any] = {}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for external_id in batch.external_ids:
            if external_id in views and _settled(views[external_id], allowed):
                continue
            response = await api.order(batch.channel, external_id)
            if response.status_code == 200:
                views[external_id] = response.json()
        if len(views) == len(batch.external_ids) and all(_settled(v, allowed) for v in views.values()):
            batch.statuses = Counter(_outcome(v) for v in views.values())
            return views
        await asyncio.sleep(0.5)
    moving = {i: _outcome(v) for i, v in views.items() if not _settled(v, allowed)}
    missing = [i for i in batch.external_ids if i not in views]
    raise AssertionError(f"orders not settled: {moving}; never started: {missing}")


def _outcome(view: dict[str, Any]) -> str:
    open_exc = [e for e in view["exceptions"] if not e.get("resolvedAt")]
    return f"exception:{open_exc[-1]['kind']}" if open_exc else view["status"]


def _settled(view: dict[str, Any], allowed: frozenset[str]) -> bool:
    outcome = _outcome(view)
    return outcome in DONE or (outcome.startswith("exception:") and outcome.split(":", 1)[1] in allowed)


async def check_nothing_lost_or_doubled(stack: Stack, batch: Batch, views: dict[str, Any]) -> None:
    """One workflow run per order; each shipping request the order sent stored once at the WMS
    and created there by exactly one call (every retry under the same key); each shipment's
    tracking accepted once by the selling channel (likewise); the channel's inventory pushed by
    one sync at a time; and a ledger whose invariants hold."""
    client = await connect(stack.address)
    wms_url, selling_url = channel_url(stack, "wms"), channel_url(stack, batch.channel)
    async with httpx.AsyncClient(timeout=30) as http:
        wms = (await http.get(f"{wms_url}/_sandbox/shipping-requests")).json()
        creates = await recorded(http, wms_url, "POST", "/shipping-requests")
        pushes = await recorded(http, selling_url, "POST", "/orders/")
        inventory = await recorded(http, selling_url, "POST", "/inventory")
    stored = Counter(r["externalId"] for r in wms)
    sent: list[str] = []
    tracking_problems: list[str] = []
    for external_id, view in views.items():
        runs = [wf async for wf in client.list_workflows(f"WorkflowId = '{view['workflowId']}'")]
        assert len(runs) == 1, f"{external_id}: {len(runs)} workflow runs"
        sent += [r["request"]["id"] for r in view["shippingRequests"] if r["state"] != "rejected"]
        # Counted among the pushes to this order's own path only.
        path = f"/orders/{external_id}/fulfillments"
        mine = [p for p in pushes if p["path"] == path]
        tracking_problems += sent_once_problems(mine, [s["id"] for s in view["shipments"]], "id")
    for request_id in sent:
        assert stored[request_id] == 1, f"{request_id} stored {stored[request_id]} times at the WMS"
    assert sent_once_problems(creates, sent, "externalId") == []
    assert tracking_problems == []
    channel = load_config(stack.config_path).channel(batch.channel)
    gap = max(
        1 / channel.rate_limit_per_second if channel.rate_limit_per_second else 0.0,
        InventorySyncInput.model_fields["coalesce"].default.total_seconds(),
    )
    assert inventory_push_problems(inventory, gap) == []
    ledger = await Ledger.open(stack.ledger_url)
    try:
        assert await ledger.check_invariants() == []
    finally:
        await ledger.close()
