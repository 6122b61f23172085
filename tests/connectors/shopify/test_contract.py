"""The Shopify connector against the Shopify sandbox: shipments fulfil exactly the shipped units
of the order's fulfillment orders and never twice, inventory reaches the location's levels,
lists are read to their last `Link` page, and Shopify's throttling and auth answers become the
connector errors Temporal acts on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from connectors.base import PermanentError, RateLimitedError, RejectedError, RetryableError
from connectors.shopify import ShopifyConnector
from connectors.shopify.client import CallLimit, ShopifySettings, shopify_time
from orderloop.config import ConfigError
from orderloop.model import Shipment, ShipmentLine
from tests.connectors.shopify.conftest import (
    ACCESS_TOKEN,
    ADDRESS,
    API_VERSION,
    LOCATION_ID,
    Shop,
    ShopFactory,
    make_channel,
    shipment_for,
)

API = f"/admin/api/{API_VERSION}"


async def api_get(shop: Shop, path: str, **params: Any) -> httpx.Response:
    return await shop.http.get(f"{API}/{path}", params=params, headers={"X-Shopify-Access-Token": ACCESS_TOKEN})


async def fulfillment_orders(shop: Shop, order_id: int) -> list[dict[str, Any]]:
    response = await api_get(shop, f"orders/{order_id}/fulfillment_orders.json")
    assert response.status_code == 200, response.text
    fos: list[dict[str, Any]] = response.json()["fulfillment_orders"]
    return fos


def remaining(fos: list[dict[str, Any]]) -> dict[int, int]:
    """Units left to fulfil per Shopify line item id."""
    left: dict[int, int] = {}
    for fo in fos:
        for item in fo["line_items"]:
            left[item["line_item_id"]] = left.get(item["line_item_id"], 0) + item["fulfillable_quantity"]
    return left


# --- fulfillments -------------------------------------------------------------------------------


async def test_partial_shipment_fulfils_only_the_shipped_lines(shop: Shop) -> None:
    raw = await shop.place()
    order = shop.map(raw)
    shirt, mug = (int(line.id) for line in order.line_items)

    fulfillment_id = await shop.connector.push_shipment(order, shipment_for(order, ("TSHIRT-BLK-M", 1)))

    assert fulfillment_id is not None
    record = shop.sandbox.fulfillments[int(fulfillment_id)]
    assert [(li["id"], li["quantity"]) for li in record["line_items"]] == [(shirt, 1)]
    assert (record["tracking_company"], record["tracking_numbers"]) == ("UPS", ["1Z999AA10123456784"])
    assert record["location_id"] == LOCATION_ID
    fos = await fulfillment_orders(shop, raw["id"])
    assert remaining(fos) == {shirt: 1, mug: 1}
    assert fos[0]["status"] == "in_progress"
    assert shop.sandbox.orders[raw["id"]]["fulfillment_status"] == "partial"
    sent = await shop.recorded("POST", f"{API}/fulfillments.json")
    assert sent[0]["body"]["fulfillment"]["line_items_by_fulfillment_order"] == [
        {
            "fulfillment_order_id": fos[0]["id"],
            "fulfillment_order_line_items": [{"id": fos[0]["line_items"][0]["id"], "quantity": 1}],
        }
    ]
    assert sent[0]["body"]["fulfillment"]["notify_customer"] is True


async def test_the_rest_of_the_order_in_a_second_shipment_closes_it(shop: Shop) -> None:
    raw = await shop.place()
    order = shop.map(raw)
    first = await shop.connector.push_shipment(order, shipment_for(order, ("TSHIRT-BLK-M", 1), number="1ZA", sid="S1"))
    second = await shop.connector.push_shipment(
        order, shipment_for(order, ("TSHIRT-BLK-M", 1), ("MUG-11OZ", 1), number="1ZB", sid="S2")
    )

    assert first != second
    fos = await fulfillment_orders(shop, raw["id"])
    assert set(remaining(fos).values()) == {0}
    assert fos[0]["status"] == "closed"
    assert shop.sandbox.orders[raw["id"]]["fulfillment_status"] == "fulfilled"


async def test_retried_push_shipment_creates_no_second_fulfillment(shop: Shop) -> None:
    raw = await shop.place()
    order = shop.map(raw)
    sent = shipment_for(order, ("TSHIRT-BLK-M", 2))

    first = await shop.connector.push_shipment(order, sent)
    again = await shop.connector.push_shipment(order, sent)

    assert first is not None and again == first
    assert list(shop.sandbox.fulfillments) == [int(first)]
    assert len(await shop.recorded("POST", f"{API}/fulfillments.json")) == 1
    assert remaining(await fulfillment_orders(shop, raw["id"]))[int(order.line_items[0].id)] == 0


async def test_shipment_line_without_line_id_is_matched_by_sku(shop: Shop) -> None:
    raw = await shop.place()
    order = shop.map(raw)
    by_sku = Shipment(
        id="S1",
        shipping_request_id=f"{order.id}/sr1",
        line_items=[ShipmentLine(sku="MUG-11OZ", quantity=1)],
        tracking_numbers=["1ZMUG"],
    )
    fulfillment_id = await shop.connector.push_shipment(order, by_sku)
    assert fulfillment_id is not None
    record = shop.sandbox.fulfillments[int(fulfillment_id)]
    assert [(li["sku"], li["quantity"]) for li in record["line_items"]] == [("MUG-11OZ", 1)]
    # Without a company or URL Shopify keeps the number alone.
    assert (record["tracking_company"], record["tracking_url"]) == (None, None)


async def test_shipment_beyond_what_remains_is_rejected_before_anything_is_sent(shop: Shop) -> None:
    raw = await shop.place()
    order = shop.map(raw)
    await shop.connector.push_shipment(order, shipment_for(order, ("MUG-11OZ", 1), number="1ZA"))
    with pytest.raises(RejectedError, match=r"MUG-11OZ x1 .*Shopify has 0 unit\(s\) left to fulfil"):
        await shop.connector.push_shipment(order, shipment_for(order, ("MUG-11OZ", 1), number="1ZB", sid="S2"))
    assert len(await shop.recorded("POST", f"{API}/fulfillments.json")) == 1


async def test_cancelled_order_refuses_tracking(shop: Shop) -> None:
    raw = await shop.place()
    order = shop.map(raw)
    response = await shop.http.post(f"/_sandbox/orders/{raw['id']}/cancel", json={"reason": "customer"})
    assert response.status_code == 200, response.text
    with pytest.raises(RejectedError, match="is cancelled"):
        await shop.connector.push_shipment(order, shipment_for(order, ("MUG-11OZ", 1)))


async def test_sandbox_refuses_a_quantity_beyond_what_remains_with_422(shop: Shop) -> None:
    raw = await shop.place()
    fo = (await fulfillment_orders(shop, raw["id"]))[0]
    body = {
        "fulfillment": {
            "line_items_by_fulfillment_order": [
                {
                    "fulfillment_order_id": fo["id"],
                    "fulfillment_order_line_items": [{"id": fo["line_items"][1]["id"], "quantity": 2}],
                }
            ]
        }
    }
    with pytest.raises(RejectedError, match="Invalid fulfillment order line item quantity requested") as caught:
        await shop.connector.client.create_fulfillment(body, "create fulfillment")
    assert caught.value.status_code == 422
    assert shop.sandbox.fulfillments == {}


async def test_knob_rejecting_fulfillments_gives_rejected_error(shop: Shop) -> None:
    raw = await shop.place()
    order = shop.map(raw)
    await shop.configure(reject_fulfillments=True)
    with pytest.raises(RejectedError, match="HTTP 422"):
        await shop.connector.push_shipment(order, shipment_for(order, ("MUG-11OZ", 1)))


async def test_units_at_two_locations_become_one_fulfillment_each_and_a_retry_adds_only_the_missing(
    shop: Shop,
) -> None:
    other = (await shop.http.post("/_sandbox/locations", json={"name": "Reno"})).json()["id"]
    raw = await shop.place(
        {
            "line_items": [
                {"sku": "TSHIRT-BLK-M", "quantity": 1},
                {"sku": "HOODIE-GRY-L", "quantity": 1, "location_id": other},
            ],
            "shipping_address": ADDRESS,
        }
    )
    order = shop.map(raw)
    both = shipment_for(order, ("TSHIRT-BLK-M", 1), ("HOODIE-GRY-L", 1))
    # An earlier attempt recorded the first location's units and then failed.
    fo_here = next(fo for fo in await fulfillment_orders(shop, raw["id"]) if fo["assigned_location_id"] == LOCATION_ID)
    earlier = shop.sandbox.create_fulfillment(
        {
            "fulfillment": {
                "line_items_by_fulfillment_order": [{"fulfillment_order_id": fo_here["id"]}],
                "tracking_info": {"number": "1Z999AA10123456784", "company": "UPS"},
            }
        }
    )

    ids = await shop.connector.push_shipment(order, both)

    assert ids is not None
    first, second = ids.split(",")
    assert int(first) == earlier["id"]
    created = shop.sandbox.fulfillments[int(second)]
    assert created["location_id"] == other
    assert [li["sku"] for li in created["line_items"]] == ["HOODIE-GRY-L"]
    assert set(remaining(await fulfillment_orders(shop, raw["id"])).values()) == {0}


# --- inventory ----------------------------------------------------------------------------------


async def test_inventory_is_set_per_sku_at_the_location_and_unknown_skus_are_skipped(shop: Shop) -> None:
    await shop.connector.push_inventory({"TSHIRT-BLK-M": 7, "MUG-11OZ": 0, "NOT-IN-SHOPIFY": 3})

    levels = (await shop.http.get("/_sandbox/inventory")).json()["levels"]
    assert levels["TSHIRT-BLK-M"] == {str(LOCATION_ID): 7}
    assert levels["MUG-11OZ"] == {str(LOCATION_ID): 0}
    assert "NOT-IN-SHOPIFY" not in levels
    sent = await shop.recorded("POST", f"{API}/inventory_levels/set.json")
    assert [(r["body"]["available"], r["status"]) for r in sent] == [(0, 200), (7, 200)]
    assert {r["body"]["location_id"] for r in sent} == {LOCATION_ID}


async def test_the_sku_map_is_cached_and_read_again_for_a_new_sku(shop: Shop) -> None:
    await shop.connector.push_inventory({"TSHIRT-BLK-M": 1, "NOT-IN-SHOPIFY": 1})
    await shop.connector.push_inventory({"TSHIRT-BLK-M": 2})
    # Still missing: not worth reading the catalogue again so soon.
    await shop.connector.push_inventory({"NOT-IN-SHOPIFY": 2})
    assert len(await shop.recorded("GET", f"{API}/products.json")) == 1

    response = await shop.http.post("/_sandbox/products", json={"sku": "CAP-BLK", "title": "Cap", "available": 0})
    assert response.status_code == 201
    await shop.connector.push_inventory({"CAP-BLK": 12})

    assert len(await shop.recorded("GET", f"{API}/products.json")) == 2
    assert (await shop.http.get("/_sandbox/inventory")).json()["levels"]["CAP-BLK"] == {str(LOCATION_ID): 12}


async def test_a_variant_without_inventory_tracking_is_skipped_not_fatal(shop: Shop) -> None:
    await shop.http.post("/_sandbox/products", json={"sku": "DIGITAL-1", "tracked": False})
    await shop.connector.push_inventory({"DIGITAL-1": 5, "POSTER-A2": 4})
    sent = await shop.recorded("POST", f"{API}/inventory_levels/set.json")
    assert sorted(r["status"] for r in sent) == [200, 422]
    assert (await shop.http.get("/_sandbox/inventory")).json()["levels"]["POSTER-A2"] == {str(LOCATION_ID): 4}


async def test_a_large_push_paces_itself_within_the_bucket(open_shop: ShopFactory) -> None:
    shop = await open_shop({"bucket_size": 4, "leak_rate": 25.0}, leak_rate=25.0, call_headroom=1)
    skus = [f"SKU-{i}" for i in range(10)]
    await shop.http.post("/_sandbox/products", json=[{"sku": sku} for sku in skus])

    await shop.connector.push_inventory(dict.fromkeys(skus, 3))

    statuses = [r["status"] for r in await shop.recorded("POST", f"{API}/inventory_levels/set.json")]
    assert statuses == [200] * 10
    levels = (await shop.http.get("/_sandbox/inventory")).json()["levels"]
    assert all(levels[sku] == {str(LOCATION_ID): 3} for sku in skus)


async def test_the_location_is_the_shops_only_one_when_not_configured(open_shop: ShopFactory) -> None:
    shop = await open_shop(location_id=None)
    await shop.connector.push_inventory({"MUG-11OZ": 9})
    assert (await shop.http.get("/_sandbox/inventory")).json()["levels"]["MUG-11OZ"] == {str(LOCATION_ID): 9}

    await shop.http.post("/_sandbox/locations", json={"name": "Reno"})
    fresh = ShopifyConnector(shop.connector.channel, http=shop.http)
    with pytest.raises(PermanentError, match=r"settings\.location_id is not set and the shop has 2 active locations"):
        await fresh.push_inventory({"MUG-11OZ": 1})


# --- polling ------------------------------------------------------------------------------------


async def test_poll_orders_follows_link_pagination_across_pages(open_shop: ShopFactory) -> None:
    shop = await open_shop({"max_page_size": 3})
    old = [await shop.place(_small_order() | {"created_at": "2024-01-05T10:00:00-05:00"}) for _ in range(2)]
    new = [await shop.place(_small_order()) for _ in range(7)]

    polled = await shop.connector.poll_orders(datetime.now(UTC) - timedelta(minutes=5))

    assert [p.external_id for p in polled] == [str(o["id"]) for o in new]
    assert all(not p.cancelled and p.payload["line_items"] for p in polled)
    assert str(old[0]["id"]) not in {p.external_id for p in polled}
    pages = await shop.recorded("GET", f"{API}/orders.json")
    assert len(pages) == 3
    assert "updated_at_min=" in pages[0]["query"] and "status=any" in pages[0]["query"]
    # Later pages carry only what the Link URL holds.
    assert all(set(_params(p["query"])) == {"limit", "page_info"} for p in pages[1:])


async def test_poll_orders_reports_cancelled_orders(shop: Shop) -> None:
    raw = await shop.place(_small_order())
    await shop.http.post(f"/_sandbox/orders/{raw['id']}/cancel", json={})
    polled = await shop.connector.poll_orders(datetime.now(UTC) - timedelta(minutes=5))
    assert [(p.external_id, p.cancelled) for p in polled] == [(str(raw["id"]), True)]


async def test_page_info_with_other_filters_is_refused_like_shopify(open_shop: ShopFactory) -> None:
    shop = await open_shop({"max_page_size": 1})
    for _ in range(2):
        await shop.place(_small_order())
    first = await api_get(shop, "orders.json", status="any", limit=1)
    next_url = httpx.URL(first.headers["Link"].split(";")[0].strip("<>"))
    assert next_url.params["limit"] == "1"
    refused = await api_get(shop, "orders.json", status="any", page_info=next_url.params["page_info"])
    assert refused.status_code == 400
    assert "page_info" in refused.json()["errors"]


# --- throttling, auth, failures -----------------------------------------------------------------


async def test_every_answer_reports_the_call_limit(shop: Shop) -> None:
    await shop.connector.client.locations()
    limit = shop.connector.client.call_limit
    assert limit is not None and (limit.used, limit.size) == (1, 40)


async def test_a_storm_beyond_the_bucket_is_rate_limited_with_shopifys_retry_after(shop: Shop) -> None:
    await shop.configure(bucket_size=40, leak_rate=0.1)
    raw = await shop.place(_small_order())
    outcomes: list[BaseException | None] = []
    for _ in range(45):
        try:
            await shop.connector.client.order(str(raw["id"]))
            outcomes.append(None)
        except RateLimitedError as exc:
            outcomes.append(exc)

    assert outcomes[:40] == [None] * 40
    throttled = [e for e in outcomes[40:] if isinstance(e, RateLimitedError)]
    assert len(throttled) == 5
    # One call leaks every 10 s: that is what Shopify tells the client to wait.
    assert all(e.retry_after is not None and 9.0 <= e.retry_after <= 10.0 for e in throttled)
    assert "HTTP 429" in str(throttled[0])
    assert shop.connector.client.call_limit is not None and shop.connector.client.call_limit.used == 40
    statuses = [r["status"] for r in await shop.recorded("GET", f"{API}/orders/")]
    assert statuses.count(429) == 5


async def test_a_bad_access_token_is_permanent(shop: Shop, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORDERLOOP_SHOPIFY_ACCESS_TOKEN", "shpat_revoked")
    with pytest.raises(PermanentError, match="Invalid API key or access token") as caught:
        await shop.connector.poll_orders(datetime.now(UTC))
    assert caught.value.status_code == 401
    assert not isinstance(caught.value, RetryableError)


async def test_an_unknown_order_is_permanent(shop: Shop) -> None:
    with pytest.raises(PermanentError) as caught:
        await shop.connector.client.order("999")
    assert caught.value.status_code == 404


async def test_a_shopify_outage_is_retryable(shop: Shop) -> None:
    response = await shop.http.post("/_sandbox/faults", json={"status": 503, "count": 1, "retry_after": 3})
    assert response.status_code == 200
    with pytest.raises(RetryableError) as caught:
        await shop.connector.push_inventory({"MUG-11OZ": 1})
    assert caught.value.retry_after == 3.0


# --- settings and client pieces -----------------------------------------------------------------


def test_settings_are_validated_with_the_field_named(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match=r"settings: api_version: .*predates 2024-01"):
        ShopifySettings.of(make_channel(monkeypatch, api_version="2023-10"))
    with pytest.raises(ConfigError, match="settings: locaton_id: Extra inputs are not permitted"):
        ShopifySettings.of(make_channel(monkeypatch, locaton_id=1))
    settings = ShopifySettings.of(make_channel(monkeypatch, shippable_financial_statuses=["pending", "paid"]))
    assert settings.api_version == API_VERSION
    assert {str(s) for s in settings.shippable_financial_statuses} == {"pending", "paid"}


def test_call_limit_header_and_time_format() -> None:
    limit = CallLimit.parse("32/40", now=5.0)
    assert limit == CallLimit(32, 40, 5.0) and limit.remaining == 8
    assert CallLimit.parse("garbage") is None and CallLimit.parse(None) is None
    assert shopify_time(datetime(2026, 11, 23, 9, 30, 15, 123456)) == "2026-11-23T09:30:15+00:00"


def _small_order() -> dict[str, Any]:
    return {"line_items": [{"sku": "MUG-11OZ", "quantity": 1}], "shipping_address": ADDRESS}


def _params(query: str) -> dict[str, str]:
    return dict(httpx.QueryParams(query))
