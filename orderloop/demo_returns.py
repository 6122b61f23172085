"""The demo's returns: a few of the demo's shipped orders on a channel with a return policy are
returned through the sandboxes as a customer and a warehouse would (the storefront delivers the
request, the customer ships the parcel back, the receiving warehouse receives it, the first unit
sellable and any other damaged), then followed through the operator API until each is done."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from typing import Any

import httpx

from orderloop.config import OrderloopConfig
from orderloop.contracts.returns import return_workflow_id
from orderloop.returns_model import ReturnStatus

_SETTLED = {ReturnStatus.CLOSED, ReturnStatus.REJECTED, ReturnStatus.CANCELLED, ReturnStatus.EXCEPTION}


def return_request(return_id: str, external_order_id: str, lines: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "externalId": return_id,
        "orderId": external_order_id,
        "returnNumber": f"RET-{return_id}",
        "outcome": "refund",
        "returnLineItems": [
            {
                "id": f"r{i}",
                "orderLineItemId": line["lineId"],
                "sku": line["sku"],
                "quantityReturned": line["shipped"],
                "returnReason": "no_longer_needed",
            }
            for i, line in enumerate(lines, 1)
        ],
    }


def receipt_lines(request: dict[str, Any]) -> list[dict[str, Any]]:
    """The first unit sellable, every other one damaged (the demo shows both going where they go)."""
    lines: list[dict[str, Any]] = []
    for item in request["returnLineItems"]:
        sellable = 1 if not lines else 0
        if sellable:
            lines.append({"sku": item["sku"], "quantity": 1, "condition": "sellable"})
        damaged = item["quantityReturned"] - sellable
        if damaged:
            lines.append({"sku": item["sku"], "quantity": damaged, "condition": "damaged"})
    return lines


async def return_demo_orders(
    config: OrderloopConfig, gateway_url: str, api_token: str, order_ids: list[str], count: int = 3
) -> Counter[str]:
    """Return up to `count` of `order_ids` (completed demo orders); their returns' final statuses."""
    headers = {"Authorization": f"Bearer {api_token}"}
    with_policy = {c.id for c in config.channels if c.returns is not None}
    candidates = [w for w in order_ids if w.split("/", 2)[1] in with_policy][:count]
    outcome: Counter[str] = Counter()
    async with httpx.AsyncClient(timeout=30) as http:

        async def one(workflow_id: str) -> str:
            _, channel_id, external_id = workflow_id.split("/", 2)
            view = (await http.get(f"{gateway_url}/api/orders/{channel_id}/{external_id}", headers=headers)).json()
            shipped = [line for line in view.get("lines", []) if line["shipped"] > 0]
            if not shipped or not view.get("shippingRequests"):
                return "not returned (nothing shipped)"
            return_id = f"{external_id}-r"
            request = return_request(return_id, external_id, shipped)
            channel = config.channel(channel_id)
            asked = await http.post(f"{channel.base_url}/_sandbox/returns", json=request)
            if asked.status_code == 404:
                return "not returned (the sandbox takes no returns)"
            asked.raise_for_status()
            location = config.location(view["shippingRequests"][0]["request"]["locationId"])
            warehouse = config.channel(location.fulfillment_channel)
            our_id = return_workflow_id(channel_id, return_id)
            rma = await _expected_at(http, warehouse.base_url, our_id)
            if rma is None:
                return await _settled(http, gateway_url, headers, channel_id, return_id)
            await http.post(f"{channel.base_url}/_sandbox/returns/{return_id}/ship", json={})
            received = await http.post(
                f"{warehouse.base_url}/_sandbox/returns/{rma}/receive", json={"lines": receipt_lines(request)}
            )
            received.raise_for_status()
            return await _settled(http, gateway_url, headers, channel_id, return_id)

        for status in await asyncio.gather(*(one(w) for w in candidates)):
            outcome[status] += 1
    return outcome


async def _expected_at(http: httpx.AsyncClient, warehouse_url: str, return_id: str, wait: float = 30) -> str | None:
    """The warehouse's id of the expected return, once Orderloop announced it (None: never)."""
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        response = await http.get(f"{warehouse_url}/_sandbox/returns")
        if response.status_code == 404:
            return None
        for rma in response.json():
            if rma.get("externalId") == return_id:
                return str(rma["id"])
        await asyncio.sleep(0.5)
    return None


async def _settled(
    http: httpx.AsyncClient,
    gateway_url: str,
    headers: dict[str, str],
    channel_id: str,
    return_id: str,
    wait: float = 60,
) -> str:
    deadline = time.monotonic() + wait
    status = "unknown"
    while time.monotonic() < deadline:
        response = await http.get(f"{gateway_url}/api/returns/{channel_id}/{return_id}", headers=headers)
        if response.status_code == 200:
            status = response.json()["status"]
            if status in _SETTLED:
                return str(status)
        await asyncio.sleep(0.5)
    return f"still {status}"
