"""A Shopify return through ShipBob, end to end through the real stack: a Shopify order shipped
by ShipBob, a return requested on Shopify (its signed returns/request webhook), the return
workflow (authorised by an operator: the channel has the default, review-first policy), exactly
one ShipBob return order with our return id as reference_id, ShipBob's staff
processing it (one unit restocked, one quarantined), its signed return.completed webhook, the
ledger's stock back on hand at the ShipBob location (the damaged unit kept apart), and Shopify
told the return was received exactly once, with each unit's disposition."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest

from orderloop.stack import Stack
from tests.integration.stack import Api, named_operator
from tests.integration.test_order_loop import base_url
from tests.integration.test_returns import awaiting_review, eventually
from tests.integration.test_shopify_shipbob import completed, place_shopify_order

pytestmark = pytest.mark.integration

SKU = "TSHIRT-WHT-M"
LOCATION = "shipbob-nj"


async def test_a_shopify_return_is_received_at_shipbob_restocked_and_reported_to_shopify_once(
    stack: Stack, api: Api
) -> None:
    shopify, shipbob = base_url(stack, "shopify"), base_url(stack, "shipbob")
    async with httpx.AsyncClient(timeout=10) as http:
        order = await place_shopify_order(http, stack)
        view = await api.wait_order("shopify", str(order["id"]), completed)
        assert view["shippingRequests"][0]["request"]["locationId"] == LOCATION

        async def ledger() -> dict[str, Any]:
            return dict((await api.http.get(f"/api/inventory/{SKU}")).json())

        async def on_hand() -> int:
            rows = (await ledger())["locations"]
            return int(next(row["onHand"] for row in rows if row["location"] == LOCATION))

        before = await on_hand()
        asked = await http.post(
            f"{shopify}/_sandbox/orders/{order['id']}/returns",
            params={"duplicate": "true"},
            json={"line_items": [{"sku": SKU, "quantity": 2, "reason": "size_too_small"}]},
        )
        assert asked.status_code == 201, asked.text
        shopify_return = asked.json()
        return_id = str(shopify_return["id"])

        async def the_return() -> dict[str, Any]:
            response = await api.http.get(f"/api/returns/shopify/{return_id}")
            return dict(response.json()) if response.status_code == 200 else {}

        async def shipbob_returns() -> list[dict[str, Any]]:
            found = (await http.get(f"{shipbob}/_sandbox/returns")).json()
            return [r for r in found if r["reference_id"] == f"return/shopify/{return_id}"]

        # The Shopify channel declares no return policy: the default one asks an operator to review.
        await eventually(the_return, awaiting_review, "the return waiting for review")
        # Authorised by a named operator: the return records who (the body's "operator" is not
        # believed: the gateway names the credential's owner).
        name = f"e2e-{uuid.uuid4().hex[:6]}"
        as_e2e = await named_operator(stack, name)
        url = f"/api/returns/shopify/{return_id}/authorise"
        authorised = await api.http.post(url, json={"operator": "someone-else"}, headers=as_e2e)
        assert authorised.status_code == 200, authorised.text
        view = await eventually(the_return, lambda v: v.get("status") == "authorised", "the return authorised")
        assert view["authorisedBy"] == name
        assert view["orderWorkflowId"] == f"order/shopify/{order['id']}" and view["locationId"] == LOCATION
        assert view["fulfillmentChannelId"] == "shipbob"
        [rma] = await eventually(shipbob_returns, lambda found: len(found) == 1, "the ShipBob return order")
        assert rma["status"] == "AwaitingArrival" and rma["fulfillment_center"]["id"] == 8
        assert [(item["name"], item["quantity"]) for item in rma["inventory"]] == [(SKU, 2)]

        actions = [
            {"sku": SKU, "action": "Restock", "quantity": 1},
            {"sku": SKU, "action": "Quarantine", "quantity": 1, "reason": "Stained"},
        ]
        arrived = await http.post(f"{shipbob}/_sandbox/returns/{rma['id']}/arrive")
        assert arrived.status_code == 200, arrived.text
        processed = await http.post(f"{shipbob}/_sandbox/returns/{rma['id']}/process", json={"actions": actions})
        assert processed.status_code == 200, processed.text

        view = await eventually(the_return, lambda v: v.get("status") == "closed", "the return closed")
        assert (view["restocked"], view["nonSellable"]) == ({SKU: 1}, {SKU: 1})
        assert {(line["sku"], line["condition"]) for line in view["receipt"]["lines"]} == {
            (SKU, "sellable"),
            (SKU, "damaged"),
        }
        assert await on_hand() == before + 1
        assert {"location": LOCATION, "condition": "damaged", "quantity": 1} in (await ledger())["nonSellable"]

        # Exactly one ShipBob return order, however often the request was delivered.
        assert len(await shipbob_returns()) == 1
        created = (await http.get(f"{shipbob}/_sandbox/requests", params={"method": "POST"})).json()
        mine = [r for r in created if r["path"].endswith("/return") and f"return/shopify/{return_id}" in json.dumps(r)]
        assert len(mine) == 1
        # Shopify told once: one dispose mutation for this return, every unit of it disposed.
        [stored] = [r for r in (await http.get(f"{shopify}/_sandbox/returns")).json() if str(r["id"]) == return_id]
        [[item]] = [rfo["lineItems"]["nodes"] for rfo in stored["reverse_fulfillment_orders"]]
        assert sum(d["quantity"] for d in item["dispositions"]) == 2
        calls = (await http.get(f"{shopify}/_sandbox/requests", params={"method": "POST"})).json()
        disposes = [c for c in map(json.dumps, calls) if "reverseFulfillmentOrderDispose(" in c and item["id"] in c]
        assert len(disposes) == 1
