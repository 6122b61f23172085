"""A Shopify return through ShipHero, end to end through the real stack: a Shopify order of two
posters shipped by ShipHero (its rule card), a return requested on Shopify (its signed
returns/request webhook, delivered twice), the return workflow authorised by an operator, exactly
one ShipHero RMA (`return_create` with our return id as `partner_id`, on the ShipHero order that
shipped it), the parcel picked up (in transit), the warehouse receiving one unit restocked and
one damaged, its signed Return Update
webhook confirmed by reading the return back, the ledger's stock +1 on hand at the ShipHero
location (the damaged unit kept apart, never available), and Shopify told the return was
received exactly once. With ShipHero's webhooks lost, the channel's return poll (its schedule,
`poll_returns_every`; run here rather than waited for) finds the receipt instead."""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest
from temporalio.client import ScheduleActionStartWorkflow, ScheduleDescription
from temporalio.service import RPCError

from orderloop.contracts import channel_task_queue, orders_task_queue
from orderloop.contracts.scheduled_jobs import RETURN_POLL_WORKFLOW, PollReturnsInput, PollReturnsReport
from orderloop.stack import Stack
from orderloop.temporal_client import connect
from tests.integration.stack import Api, named_operator
from tests.integration.test_order_loop import base_url
from tests.integration.test_returns import awaiting_review, eventually
from tests.integration.test_shiphero import place_hoodie_order
from tests.integration.test_shopify_shipbob import completed

pytestmark = pytest.mark.integration

SKU = "POSTER-A2"
LOCATION = "shiphero-pa"


async def test_a_shopify_return_is_received_at_shiphero_restocked_and_reported_to_shopify_once(
    stack: Stack, api: Api
) -> None:
    shopify, shiphero = base_url(stack, "shopify"), base_url(stack, "shiphero")
    async with httpx.AsyncClient(timeout=10) as http:
        order_id = await place_hoodie_order(http, stack)
        view = await api.wait_order("shopify", order_id, completed)
        assert view["shippingRequests"][0]["request"]["locationId"] == LOCATION

        async def ledger() -> dict[str, Any]:
            return dict((await api.http.get(f"/api/inventory/{SKU}")).json())

        async def on_hand() -> int:
            rows = (await ledger())["locations"]
            return int(next(row["onHand"] for row in rows if row["location"] == LOCATION))

        async def damaged_apart() -> int:
            apart = (await ledger())["nonSellable"]
            return sum(r["quantity"] for r in apart if r["location"] == LOCATION and r["condition"] == "damaged")

        before, apart_before = await on_hand(), await damaged_apart()
        asked = await http.post(
            f"{shopify}/_sandbox/orders/{order_id}/returns",
            params={"duplicate": "true"},
            json={"line_items": [{"sku": SKU, "quantity": 2, "reason": "defective"}]},
        )
        assert asked.status_code == 201, asked.text
        return_id = str(asked.json()["id"])
        our_id = f"return/shopify/{return_id}"

        async def the_return() -> dict[str, Any]:
            response = await api.http.get(f"/api/returns/shopify/{return_id}")
            return dict(response.json()) if response.status_code == 200 else {}

        async def rmas() -> list[dict[str, Any]]:
            found = (await http.get(f"{shiphero}/_sandbox/returns")).json()
            return [r for r in found if r["partner_id"] == our_id]

        await eventually(the_return, awaiting_review, "the return waiting for review")
        as_e2e = await named_operator(stack, f"e2e-{uuid.uuid4().hex[:6]}")
        authorised = await api.http.post(f"/api/returns/shopify/{return_id}/authorise", json={}, headers=as_e2e)
        assert authorised.status_code == 200, authorised.text
        view = await eventually(the_return, lambda v: v.get("status") == "authorised", "the return authorised")
        assert view["locationId"] == LOCATION and view["fulfillmentChannelId"] == "shiphero"

        [rma] = await eventually(rmas, lambda found: len(found) == 1, "the ShipHero RMA")
        assert rma["status"] == "pending" and rma["label_type"] == "SELF_RETURN"
        assert [(i["line_item"]["sku"], i["quantity"]) for i in rma["line_items"]] == [(SKU, 2)]
        shiphero_orders = (await http.get(f"{shiphero}/_sandbox/orders")).json()
        [shipped] = [o for o in shiphero_orders if o["id"] == rma["order_id"]]
        assert shipped["partner_order_id"].startswith(f"order/shopify/{order_id}/")

        # The customer's parcel picked up by the carrier: the return in transit with its tracking.
        tracking = {"tracking_number": "9400111899223100000077", "carrier": "USPS"}
        shipped_back = await http.post(f"{shiphero}/_sandbox/returns/{rma['id']}/ship", json=tracking)
        assert shipped_back.status_code == 200, shipped_back.text
        view = await eventually(the_return, lambda v: v.get("status") == "in_transit", "the return in transit")
        assert view["label"]["trackingNumber"] == "9400111899223100000077"

        lines = [
            {"sku": SKU, "quantity": 1, "restock": True, "condition": "Good"},
            {"sku": SKU, "quantity": 1, "restock": False, "condition": "Creased corner"},
        ]
        received = await http.post(f"{shiphero}/_sandbox/returns/{rma['id']}/receive", json={"lines": lines})
        assert received.status_code == 200, received.text

        view = await eventually(the_return, lambda v: v.get("status") == "closed", "the return closed")
        assert (view["restocked"], view["nonSellable"]) == ({SKU: 1}, {SKU: 1})
        assert {(line["sku"], line["condition"], line["quantity"]) for line in view["receipt"]["lines"]} == {
            (SKU, "sellable", 1),
            (SKU, "damaged", 1),
        }
        assert await on_hand() == before + 1
        assert await damaged_apart() == apart_before + 1

        # Exactly one RMA and one return_create, however often Shopify delivered the request.
        assert len(await rmas()) == 1
        logged = (await http.get(f"{shiphero}/_sandbox/requests", params={"path_prefix": "/graphql"})).json()
        creates = [
            r
            for r in logged
            if (r["body"] or {}).get("operationName") == "ReturnCreate" and our_id in json.dumps(r["body"])
        ]
        assert len(creates) == 1
        # Shopify told once: one dispose mutation for this return, every unit of it disposed.
        [stored] = [r for r in (await http.get(f"{shopify}/_sandbox/returns")).json() if str(r["id"]) == return_id]
        [[item]] = [rfo["lineItems"]["nodes"] for rfo in stored["reverse_fulfillment_orders"]]
        assert sum(d["quantity"] for d in item["dispositions"]) == 2
        calls = (await http.get(f"{shopify}/_sandbox/requests", params={"method": "POST"})).json()
        disposes = [c for c in map(json.dumps, calls) if "reverseFulfillmentOrderDispose(" in c and item["id"] in c]
        assert len(disposes) == 1


async def poll_receipts(stack: Stack) -> PollReturnsReport:
    """One run of the ShipHero channel's return poll, as its schedule starts it."""
    client = await connect(stack.address)
    prefix = stack.task_queue_prefix
    return await client.execute_workflow(
        RETURN_POLL_WORKFLOW,
        PollReturnsInput(
            channel_id="shiphero", task_queue=channel_task_queue(prefix, "shiphero"), locations=[LOCATION]
        ),
        id=f"{prefix}/return-poll/shiphero/{uuid.uuid4().hex[:8]}",
        task_queue=orders_task_queue(prefix),
        result_type=PollReturnsReport,
        execution_timeout=timedelta(minutes=2),
    )


async def authorised_rma(
    http: httpx.AsyncClient, stack: Stack, api: Api, the_return: Callable[[], Awaitable[dict[str, Any]]], our_id: str
) -> dict[str, Any]:
    """The return authorised by an operator and its RMA at ShipHero."""
    await eventually(the_return, awaiting_review, "the return waiting for review")
    channel, _, return_id = our_id.removeprefix("return/").partition("/")
    as_e2e = await named_operator(stack, f"e2e-{uuid.uuid4().hex[:6]}")
    authorised = await api.http.post(f"/api/returns/{channel}/{return_id}/authorise", json={}, headers=as_e2e)
    assert authorised.status_code == 200, authorised.text

    async def rmas() -> list[dict[str, Any]]:
        found = (await http.get(f"{base_url(stack, 'shiphero')}/_sandbox/returns")).json()
        return [r for r in found if r["partner_id"] == our_id]

    [rma] = await eventually(rmas, lambda found: len(found) == 1, "the ShipHero RMA")
    return dict(rma)


async def test_with_shipheros_webhooks_lost_the_return_poll_finds_the_receipt(stack: Stack, api: Api) -> None:
    shopify, shiphero = base_url(stack, "shopify"), base_url(stack, "shiphero")
    async with httpx.AsyncClient(timeout=10) as http:
        order_id = await place_hoodie_order(http, stack, quantity=1)
        await api.wait_order("shopify", order_id, completed)
        asked = await http.post(
            f"{shopify}/_sandbox/orders/{order_id}/returns",
            json={"line_items": [{"sku": SKU, "quantity": 1, "reason": "unwanted"}]},
        )
        assert asked.status_code == 201, asked.text
        return_id = str(asked.json()["id"])

        async def the_return() -> dict[str, Any]:
            response = await api.http.get(f"/api/returns/shopify/{return_id}")
            return dict(response.json()) if response.status_code == 200 else {}

        rma = await authorised_rma(http, stack, api, the_return, f"return/shopify/{return_id}")
        assert (await http.post(f"{shiphero}/_sandbox/config", json={"drop_webhooks": True})).status_code == 200
        try:
            received = await http.post(f"{shiphero}/_sandbox/returns/{rma['id']}/receive", json={})
            assert received.status_code == 200, received.text
            assert (await the_return())["status"] == "authorised"  # no webhook: nothing told Orderloop

            report = await poll_receipts(stack)
        finally:
            await http.post(f"{shiphero}/_sandbox/config", json={"drop_webhooks": False})

        assert f"return/shopify/{return_id}" in report.received
        view = await eventually(the_return, lambda v: v.get("status") == "closed", "the return closed")
        assert view["restocked"] == {SKU: 1} and view["nonSellable"] == {}
        # A second poll finds nothing left to ask about for this return.
        assert f"return/shopify/{return_id}" not in (await poll_receipts(stack)).received


async def test_the_worker_schedules_shipheros_receipt_poll_over_the_locations_it_serves(stack: Stack) -> None:
    client = await connect(stack.address)
    handle = client.get_schedule_handle(f"{stack.task_queue_prefix}/return-poll/shiphero")

    async def described() -> ScheduleDescription | None:
        try:
            return await handle.describe()
        except RPCError:  # not created yet: the worker creates its schedules once it polls
            return None

    found = await eventually(described, lambda d: d is not None, "the return-poll schedule of shiphero")
    action = found.schedule.action
    assert isinstance(action, ScheduleActionStartWorkflow) and action.workflow == RETURN_POLL_WORKFLOW
    [inp] = await client.data_converter.decode(list(action.args), [PollReturnsInput])
    assert inp.channel_id == "shiphero" and inp.locations == [LOCATION]
    assert inp.task_queue == channel_task_queue(stack.task_queue_prefix, "shiphero")
