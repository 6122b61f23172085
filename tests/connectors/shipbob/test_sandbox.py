"""The ShipBob sandbox over raw HTTP: ShipBob's status codes, headers and error shapes, split
orders, knobs and the registry entry, so the emulator stays faithful where the connector does not
look."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from connectors.base import SandboxOptions
from connectors.registry import build_connector, connector_spec, sandbox_factory
from connectors.shipbob import ShipBobConnector
from connectors.shipbob.mapping import order_body
from connectors.shipbob.sandbox import create_app
from orderloop.config import ChannelConfig, parse_config
from tests.connectors.shipbob.conftest import (
    API_TOKEN,
    SHIPBOB_CHANNEL_ID,
    WEBHOOK_URL,
    Harness,
    MakeHarness,
    shipping_request,
)

AUTH = {"Authorization": f"Bearer {API_TOKEN}", "shipbob_channel_id": str(SHIPBOB_CHANNEL_ID)}


def body_for(harness: Harness, external_id: str, **changes: object) -> dict[str, object]:
    return order_body(shipping_request(external_id), harness.connector.settings) | changes


async def test_auth_version_and_channel_are_checked_like_shipbob(harness: Harness) -> None:
    denied = await harness.http.get("/2026-01/order", headers={"Authorization": "Bearer wrong"})
    assert denied.status_code == 401 and denied.headers["www-authenticate"] == "Bearer"
    assert "denied" in denied.json()["message"]
    assert (await harness.http.get("/1999-01/order", headers=AUTH)).status_code == 404
    assert (await harness.http.get("/2026-07/order", headers=AUTH)).status_code == 200
    body = body_for(harness, "3001")
    missing = await harness.http.post("/2026-01/order", json=body, headers={"Authorization": AUTH["Authorization"]})
    assert missing.status_code == 400 and "shipbob_channel_id" in missing.json()
    other = await harness.http.post("/2026-01/order", json=body, headers=AUTH | {"shipbob_channel_id": "1"})
    assert other.status_code == 403
    [channel] = (await harness.http.get("/2026-01/channel", headers=AUTH)).json()
    assert channel["id"] == SHIPBOB_CHANNEL_ID and "orders_write" in channel["scopes"]


async def test_order_validation_answers_in_shipbobs_shape(harness: Harness) -> None:
    async def post(body: object) -> httpx.Response:
        return await harness.http.post("/2026-01/order", json=body, headers=AUTH)

    malformed = await harness.http.post("/2026-01/order", content=b"{oops", headers=AUTH)
    assert malformed.status_code == 400
    assert list(malformed.json()) == [""] and "not valid JSON" in malformed.json()[""][0]
    no_products = await post(body_for(harness, "3002", products=[]))
    assert no_products.status_code == 400 and no_products.json() == {"products": ["At least one product is required."]}
    dropship = await post(body_for(harness, "3003", type="DropShip"))
    assert dropship.status_code == 422 and "retailer_program_data" in dropship.json()
    far_center = await post(body_for(harness, "3004", location_id=12345))
    assert far_center.status_code == 422 and "location_id" in far_center.json()
    created = await post(body_for(harness, "3005"))
    assert created.status_code == 201 and created.json()["status"] == "Processing"
    duplicate = await post(body_for(harness, "3005"))
    assert duplicate.status_code == 422 and duplicate.json()["reference_id"][0].startswith("Duplicate reference ID")
    not_a_number = await harness.http.get("/2026-01/order/abc", headers=AUTH)
    assert not_a_number.status_code == 400 and "order_id" in not_a_number.json()


async def test_order_list_filters_and_pages(harness: Harness) -> None:
    for n in range(3):
        await harness.connector.create_shipping_request(shipping_request(f"310{n}"))
    await harness.control("POST", "ship/order/storefront/3100/sr1")
    page = await harness.http.get("/2026-01/order", params={"Limit": 2, "Page": 2}, headers=AUTH)
    assert page.headers["total-count"] == "3" and page.headers["total-pages"] == "2"
    assert [o["reference_id"] for o in page.json()] == ["order/storefront/3102/sr1"]
    tracked = await harness.http.get("/2026-01/order", params={"HasTracking": "true"}, headers=AUTH)
    assert [o["reference_id"] for o in tracked.json()] == ["order/storefront/3100/sr1"]
    assert tracked.json()[0]["status"] == "Fulfilled"


async def test_remaining_calls_count_down_and_controls_are_free(make_harness: MakeHarness) -> None:
    harness = await make_harness(rate_limit=5)
    first = await harness.http.get("/2026-01/channel", headers=AUTH)
    second = await harness.http.get("/2026-01/channel", headers=AUTH)
    assert (first.headers["x-remaining-calls"], second.headers["x-remaining-calls"]) == ("4", "3")
    for _ in range(10):
        await harness.control("GET", "orders")
    assert harness.requests(path_prefix="/_sandbox") == []
    assert (await harness.http.get("/2026-01/channel", headers=AUTH)).headers["x-remaining-calls"] == "2"


async def test_split_orders_ship_one_shipment_after_the_other(make_harness: MakeHarness) -> None:
    harness = await make_harness(partial_ratio=1, auto_ship=True, ship_delay=0.05)
    request = shipping_request("3200")
    await harness.connector.create_shipping_request(request)
    order = harness.sandbox.by_reference[request.id]
    assert [sum(line.quantity for line in s.lines) for s in order.shipments] == [1, 2]
    await harness.receiver.wait_for(1)
    assert order.status.value in ("PartiallyFulfilled", "Fulfilled")
    deliveries = await harness.receiver.wait_for(2)
    assert order.status.value == "Fulfilled"
    shipments = [harness.connector.parse_webhook(d.headers, d.body).shipment for d in deliveries]
    assert [s.id for s in shipments if s] == [f"shipbob-{s.id}" for s in order.shipments]


async def test_failed_deliveries_are_retried_until_orderloop_answers(make_harness: MakeHarness) -> None:
    harness = await make_harness()
    harness.sandbox.sender.first_backoff = 0.01
    harness.receiver.status = 503
    request = shipping_request("3300")
    await harness.connector.create_shipping_request(request)
    await harness.control("POST", f"ship/{request.id}")
    await harness.receiver.wait_for(2)
    harness.receiver.status = 200
    await harness.sandbox.sender.drain(timeout=2)
    assert len({d.headers["webhook-id"] for d in harness.receiver.deliveries}) == 1
    assert (await harness.control("GET", "deliveries"))[0]["delivered"] is True


async def test_inventory_totals_and_stock_controls(harness: Harness) -> None:
    await harness.control("POST", "stock", json={"POSTER-A2": 9})
    totals = (await harness.http.get("/2026-01/inventory-level", params={"PageSize": 250}, headers=AUTH)).json()
    poster = next(i for i in totals["items"] if i["sku"] == "POSTER-A2")
    assert poster["total_on_hand_quantity"] == 18 and totals["next"] is None
    refused = await harness.http.post("/_sandbox/stock", json={"east": {"POSTER-A2": 1}})
    assert refused.status_code == 400 and "fulfillment center id" in refused.text
    bad_knob = await harness.http.post("/_sandbox/config", json={"stock": {"MUG-11OZ": -1}})
    assert bad_knob.status_code == 422 and "negative" in bad_knob.text
    assert (await harness.http.post("/_sandbox/config", json={"ship_delay": -1})).status_code == 422


async def test_nothing_to_ship_is_a_conflict(harness: Harness) -> None:
    request = shipping_request("3400")
    receipt = await harness.connector.create_shipping_request(request)
    await harness.connector.cancel_shipping_request(request, receipt.vendor_id)
    assert (await harness.http.post(f"/_sandbox/ship/{request.id}")).status_code == 409
    assert (await harness.http.post("/_sandbox/ship/order/nope/sr1")).status_code == 404


async def test_registry_builds_the_connector_and_its_sandbox(channel: ChannelConfig) -> None:
    spec = connector_spec("shipbob")
    assert isinstance(build_connector(channel), ShipBobConnector)
    factory = sandbox_factory(spec)
    assert factory is not None
    app = factory(SandboxOptions(channel=channel, webhook_url=WEBHOOK_URL))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sb") as http:
        assert (await http.get("/_sandbox/health")).json()["status"] == "ok"
        assert (await http.get("/_sandbox/config")).json()["rate_limit"] == 150
    await app.state.sandbox.aclose()


def test_sandbox_refuses_a_secret_that_is_not_a_whsec_key(
    channel: ChannelConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ORDERLOOP_TEST_SHIPBOB_WEBHOOK_SECRET", "plain-text-secret!")
    with pytest.raises(ValueError, match="whsec_"):
        create_app(SandboxOptions(channel=channel, webhook_url=WEBHOOK_URL))


async def test_cancelled_timers_do_not_ship(make_harness: MakeHarness) -> None:
    harness = await make_harness(auto_ship=True, ship_delay=0.05)
    request = shipping_request("3500")
    receipt = await harness.connector.create_shipping_request(request)
    await harness.connector.cancel_shipping_request(request, receipt.vendor_id)
    await asyncio.sleep(0.15)
    order = harness.sandbox.by_reference[request.id]
    assert [s.status.value for s in order.shipments] == ["Cancelled"]
    assert [d.headers["x-webhook-topic"] for d in harness.receiver.deliveries] == ["order.shipment.cancelled"]


EXAMPLE_CONFIG = """
tenant_id: demo-brand
locations:
  - {id: east, fulfillment_channel: shipbob, country: US, postal_code: "07001"}
  - {id: west, fulfillment_channel: shipbob, country: US, postal_code: "89501"}
channels:
  - id: storefront
    type: storefront
    role: selling
    base_url: http://127.0.0.1:8101
    credentials: {webhook_secret: ORDERLOOP_STOREFRONT_WEBHOOK_SECRET, api_token: ORDERLOOP_STOREFRONT_API_TOKEN}
  - id: shipbob
    type: shipbob
    role: fulfillment
    base_url: http://127.0.0.1:8104
    credentials:
      api_token: ORDERLOOP_TEST_SHIPBOB_API_TOKEN
      webhook_secret: ORDERLOOP_TEST_SHIPBOB_WEBHOOK_SECRET
    rate_limit_per_second: 2.5
    settings:
      channel_id: 341234
      api_version: "2026-01"
      fulfillment_centers: {east: 8, west: 10}
      default_shipping_method: Standard
      shipping_methods: {express: 2-Day}
"""


async def test_documented_channel_block_loads_and_serves_its_sandbox(channel: ChannelConfig) -> None:
    config = parse_config(EXAMPLE_CONFIG, "orderloop.yaml")
    shipbob = next(c for c in config.channels if c.id == "shipbob")
    connector = build_connector(shipbob)
    assert isinstance(connector, ShipBobConnector)
    assert connector.settings.locations.warehouse_of("west") == 10
    app = create_app(SandboxOptions(channel=shipbob, webhook_url=WEBHOOK_URL))
    assert sorted(app.state.sandbox.centers) == [8, 10]
    await app.state.sandbox.aclose()
    await connector.aclose()
