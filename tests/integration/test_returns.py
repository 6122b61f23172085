"""Returns through the real stack: a shipped storefront order returned (one unit sellable, one
damaged) is received at the WMS; the sellable unit is back on hand at the receiving location and
on every selling channel, the damaged one is kept apart and never available, and the storefront
is told once. A request delivered twice starts one return; one beyond what shipped is refused."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import httpx
import jsonschema
import pytest
from typer.testing import CliRunner

from orderloop.cli import app
from orderloop.config import load_config
from orderloop.loopback_stack import TOKEN
from orderloop.model import ConnectorRole
from orderloop.returns_model import ReturnRequest
from orderloop.settings import get_settings
from orderloop.stack import Stack
from tests.integration.stack import Api
from tests.integration.test_inventory_jobs import published
from tests.integration.test_order_loop import base_url, completed, new_id, order_body, signed
from tests.onx.test_conformance import schema

pytestmark = pytest.mark.integration

SKU = "TSHIRT-WHT-M"


async def eventually(probe: Callable[[], Awaitable[Any]], done: Callable[[Any], bool], what: str) -> Any:
    """Poll `probe` until `done` holds (no fixed sleeps: a bounded number of short polls)."""
    last = None
    # A cap, not a timing check (a channel's drain may be backing off after another test's faults).
    for _ in range(1200):
        last = await probe()
        if done(last):
            return last
        await asyncio.sleep(0.1)
    raise AssertionError(f"{what} never happened; last: {last}")


def awaiting_review(view: dict[str, Any]) -> bool:
    """The return waits for an operator: mapped, matched to its order, and open to `authorise`
    (its status reads `requested` from the start, before the request is mapped)."""
    return view.get("status") == "requested" and "authorise" in view.get("actions", [])


def return_body(return_id: str, order_id: str, quantity: int) -> dict[str, Any]:
    return {
        "externalId": return_id,
        "orderId": order_id,
        "returnNumber": f"RET-{return_id}",
        "outcome": "refund",
        "returnLineItems": [
            {"id": "r1", "orderLineItemId": "1", "sku": SKU, "quantityReturned": quantity, "returnReason": "size_issue"}
        ],
    }


async def test_a_shipped_order_returned_restocks_every_channel_and_the_storefront_is_told_once(
    stack: Stack, api: Api
) -> None:
    storefront, wms = base_url(stack, "storefront"), base_url(stack, "wms")
    selling = [c for c in load_config(stack.config_path).channels if c.role is ConnectorRole.SELLING]
    order_id = new_id()
    async with httpx.AsyncClient(timeout=10) as http:

        async def channel_levels() -> dict[str, int | None]:
            levels: dict[str, int | None] = {}
            for channel in selling:
                answer = await http.get(f"{channel.base_url}/_sandbox/inventory")
                shown = answer.json() if answer.status_code == 200 else None
                if not (isinstance(shown, dict) and isinstance(shown.get("levels"), dict)):
                    # A sandbox without a levels view (the marketplaces): what Orderloop pushed
                    # to it and the channel accepted, as the ledger records it.
                    levels[channel.id] = (await published(stack, channel.id)).get(SKU)
                    continue
                found = shown["levels"].get(SKU)
                if found is None:
                    # Levels kept per buyer account (the B2B portal), not per SKU: the ledger's.
                    levels[channel.id] = (await published(stack, channel.id)).get(SKU)
                    continue
                # The storefront keeps {"available": n}; the shops one level per inventory
                # location, or the level itself.
                if isinstance(found, int) or found is None:
                    levels[channel.id] = found
                elif isinstance(found, dict) and "available" in found:
                    levels[channel.id] = found["available"]
                else:
                    levels[channel.id] = next(iter((found or {}).values()), None)
            return levels

        async def ledger() -> dict[str, Any]:
            return dict((await api.http.get(f"/api/inventory/{SKU}")).json())

        async def ledger_and_channels() -> tuple[dict[str, Any], dict[str, int | None]]:
            stock = await ledger()
            return stock, await channel_levels()

        def in_step(seen: tuple[dict[str, Any], dict[str, int | None]]) -> bool:
            # Against the ledger read with the levels, not one read before: an earlier test's
            # order (an out-of-stock retry, say) may still move the stock while this one starts.
            stock, levels = seen
            return levels == {c["channel"]: c["availableToSell"] for c in stock["channels"]}

        placed = await http.post(f"{storefront}/_sandbox/orders", json=order_body(order_id, sku=SKU, quantity=2))
        assert placed.status_code == 202, placed.text
        order = await api.wait_order("storefront", order_id, completed)
        location = order["shippingRequests"][0]["request"]["locationId"]
        before, before_levels = await eventually(
            ledger_and_channels, in_step, "every channel caught up with the ledger before the return"
        )
        on_hand = {row["location"]: (row["onHand"], row["available"]) for row in before["locations"]}

        # The customer asks to return both units; the storefront delivers its webhook twice.
        return_id = new_id()
        asked = await http.post(
            f"{storefront}/_sandbox/returns", params={"duplicate": "true"}, json=return_body(return_id, order_id, 2)
        )
        assert asked.status_code == 202, asked.text

        async def the_return() -> dict[str, Any]:
            response = await api.http.get(f"/api/returns/storefront/{return_id}")
            return dict(response.json()) if response.status_code == 200 else {}

        view = await eventually(the_return, lambda v: v.get("status") == "label_issued", "the label")
        assert view["orderWorkflowId"] == order["workflowId"] and view["locationId"] == location
        assert view["shipmentIds"] == sorted(s["id"] for s in order["shipments"])
        # The return as Orderloop holds it exports as a valid onX return.
        exported = ReturnRequest.model_validate(view["request"]).to_onx()
        jsonschema.Draft7Validator(schema("return")).validate(exported)
        assert exported["orderId"] == order["workflowId"] and exported["totalQuantity"] == 2
        # The same request once more, straight to the gateway: nothing new starts.
        again = json.dumps(return_body(return_id, order_id, 2)).encode()
        duplicate = await http.post(
            f"{stack.gateway_url}/webhooks/storefront", content=again, headers=signed(again, event="return.requested")
        )
        assert duplicate.status_code == 200 and duplicate.json()["status"] == "duplicate", duplicate.text
        rmas = [r for r in (await http.get(f"{wms}/_sandbox/returns")).json() if r["externalId"] == view["workflowId"]]
        assert len(rmas) == 1 and rmas[0]["labels"][0]["trackingNumber"] == view["label"]["trackingNumber"]

        shipped_back = await http.post(f"{storefront}/_sandbox/returns/{return_id}/ship", json={})
        assert shipped_back.status_code == 202, shipped_back.text
        await eventually(the_return, lambda v: v.get("status") == "in_transit", "in transit")
        receipt = {
            "lines": [
                {"sku": SKU, "quantity": 1, "condition": "sellable"},
                {"sku": SKU, "quantity": 1, "condition": "damaged"},
            ]
        }
        received = await http.post(f"{wms}/_sandbox/returns/{rmas[0]['id']}/receive", json=receipt)
        assert received.status_code == 200, received.text
        view = await eventually(the_return, lambda v: v.get("status") == "closed", "the return closed")
        assert (view["restocked"], view["nonSellable"]) == ({SKU: 1}, {SKU: 1})

        after = await ledger()
        now = {row["location"]: (row["onHand"], row["available"]) for row in after["locations"]}
        assert now[location] == (on_hand[location][0] + 1, on_hand[location][1] + 1)
        # The damaged unit is kept apart at the location (other returns of the session may hold some).
        apart = {(r["location"], r["condition"]): r["quantity"] for r in before["nonSellable"]}
        assert {
            "location": location,
            "condition": "damaged",
            "quantity": apart.get((location, "damaged"), 0) + 1,
        } in after["nonSellable"]
        assert after["totals"]["available"] == before["totals"]["available"] + 1
        # Every selling channel's available-to-sell rose by the one sellable unit.
        raised = {channel: (level or 0) + 1 for channel, level in before_levels.items()}
        await eventually(channel_levels, lambda levels: levels == raised, "every channel's level rising by 1")

        # The storefront was told once, with each unit's condition.
        stored = next(
            r for r in (await http.get(f"{storefront}/_sandbox/returns")).json() if r["externalId"] == return_id
        )
        assert stored["status"] == "received" and len(stored["receivedNotices"]) == 1
        conditions = [
            i["inspection"]["conditionCategory"] for i in stored["receivedNotices"][0]["body"]["returnLineItems"]
        ]
        assert sorted(conditions) == ["damaged", "sellable"]

        # Both units are claimed: one more is beyond what shipped and is refused with the reason.
        beyond_id = new_id()
        await http.post(f"{storefront}/_sandbox/returns", json=return_body(beyond_id, order_id, 1))

        async def beyond() -> dict[str, Any]:
            response = await api.http.get(f"/api/returns/storefront/{beyond_id}")
            return dict(response.json()) if response.status_code == 200 else {}

        refused = await eventually(beyond, lambda v: v.get("status") == "rejected", "the refusal")
        assert refused["declineReason"] == (
            f"cannot return beyond what shipped: order line 1 ({SKU}): 1 to return but 2 shipped, 2 already returned"
        )
        # The order view lists its returns.
        listed = (await api.order("storefront", order_id)).json()["returns"]
        assert {(r["externalId"], r["status"]) for r in listed} == {(return_id, "closed"), (beyond_id, "rejected")}


@pytest.fixture
def cli(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    monkeypatch.setenv("ORDERLOOP_GATEWAY_URL", stack.gateway_url)
    monkeypatch.setenv("ORDERLOOP_API_TOKEN", TOKEN)
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


async def test_a_return_for_an_order_never_seen_is_kept_and_resolved_from_the_cli(stack: Stack, cli: CliRunner) -> None:
    """Kept in an exception (never dropped), listed, authorised and received by hand from the CLI."""
    storefront = base_url(stack, "storefront")
    return_id, unknown_order = new_id(), new_id()
    async with httpx.AsyncClient(timeout=10) as http:
        asked = await http.post(f"{storefront}/_sandbox/returns", json=return_body(return_id, unknown_order, 1))
        assert asked.status_code == 202, asked.text

        async def shown() -> dict[str, Any]:
            result = await asyncio.to_thread(cli.invoke, app, ["returns", "show", "storefront", return_id, "--json"])
            return json.loads(result.output) if result.exit_code == 0 else {}

        view = await eventually(shown, lambda v: "authorise" in v.get("actions", []), "the unknown-order exception")
        assert view["status"] == "exception" and view["orderWorkflowId"] is None
        assert view["exceptions"][0]["kind"] == "unknown_order"
        listed = await asyncio.to_thread(cli.invoke, app, ["returns", "list", "--status", "exception", "--json"])
        assert listed.exit_code == 0, listed.output
        [mine] = [r for r in json.loads(listed.output)["returns"] if r["externalId"] == return_id]
        assert mine["orderId"] is None and mine["lines"][0]["sku"] == SKU
        table = await asyncio.to_thread(cli.invoke, app, ["returns", "list", "--channel", "storefront"])
        assert table.exit_code == 0 and "return(s)" in table.output
        refused = await asyncio.to_thread(
            cli.invoke, app, ["returns", "receive", "storefront", return_id, "--unit", f"{SKU}:1:sellable"]
        )
        assert refused.exit_code == 1 and "possible now: authorise, close, reject" in refused.output
        authorised = await asyncio.to_thread(cli.invoke, app, ["returns", "authorise", "storefront", return_id])
        assert authorised.exit_code == 0, authorised.output
        received = await asyncio.to_thread(
            cli.invoke,
            app,
            ["returns", "receive", "storefront", return_id, "--unit", f"{SKU}:1:sellable", "--location", "west"],
        )
        assert received.exit_code == 0 and "status now closed" in received.output, received.output
        stored = next(
            r for r in (await http.get(f"{storefront}/_sandbox/returns")).json() if r["externalId"] == return_id
        )
        assert stored["status"] == "received" and len(stored["receivedNotices"]) == 1
    bad = await asyncio.to_thread(
        cli.invoke, app, ["returns", "receive", "storefront", return_id, "--unit", "X:1:shiny"]
    )
    assert bad.exit_code == 2 and "SKU:QUANTITY:CONDITION" in bad.output
