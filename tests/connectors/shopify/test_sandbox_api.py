"""The Shopify sandbox's API where the connector's contract does not reach: a variant read by id
(with its inventory item, as an inventory integration needs), and Shopify's error body for ids,
paths and methods it does not serve."""

from __future__ import annotations

from typing import Any

import httpx

from tests.connectors.shopify.conftest import ACCESS_TOKEN, API_VERSION, Shop

ADMIN = f"/admin/api/{API_VERSION}"
AUTH = {"X-Shopify-Access-Token": ACCESS_TOKEN}


async def call(shop: Shop, method: str, path: str, **kwargs: Any) -> httpx.Response:
    return await shop.http.request(method, f"{ADMIN}{path}", headers=AUTH, **kwargs)


async def test_a_variant_is_read_by_id_with_its_inventory_item(shop: Shop) -> None:
    products = (await call(shop, "GET", "/products.json")).json()["products"]
    listed = products[0]["variants"][0]

    response = await call(shop, "GET", f"/variants/{listed['id']}.json")

    assert response.status_code == 200
    variant = response.json()["variant"]
    assert variant == listed
    assert variant["inventory_item_id"] in shop.sandbox.inventory_items
    assert response.headers["X-Shopify-API-Version"] == API_VERSION


async def test_an_unknown_variant_is_shopifys_not_found(shop: Shop) -> None:
    response = await call(shop, "GET", "/variants/1.json")

    assert response.status_code == 404
    assert response.json() == {"errors": "Not Found"}


async def test_a_variant_reflects_stock_set_at_the_location(shop: Shop) -> None:
    [product] = [p for p in shop.sandbox.products.values() if p["variants"][0]["sku"] == "MUG-11OZ"]
    variant = product["variants"][0]
    body = {"location_id": shop.sandbox.location_id, "inventory_item_id": variant["inventory_item_id"], "available": 7}
    assert (await call(shop, "POST", "/inventory_levels/set.json", json=body)).status_code == 200

    read = (await call(shop, "GET", f"/variants/{variant['id']}.json")).json()["variant"]

    assert read["inventory_quantity"] == 7


async def test_paths_and_methods_it_does_not_serve_answer_in_shopifys_shape(shop: Shop) -> None:
    unknown_path = await call(shop, "GET", "/gift_cards.json")
    not_an_id = await call(shop, "GET", "/orders/abc.json")
    wrong_method = await call(shop, "DELETE", "/orders.json")

    assert (unknown_path.status_code, unknown_path.json()) == (404, {"errors": "Not Found"})
    assert (not_an_id.status_code, not_an_id.json()) == (404, {"errors": "Not Found"})
    assert (wrong_method.status_code, wrong_method.json()) == (405, {"errors": "Method Not Allowed"})
    assert wrong_method.headers["Allow"] == "GET"
