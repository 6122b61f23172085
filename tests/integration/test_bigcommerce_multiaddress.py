"""A BigCommerce order shipping to two addresses through the real stack (issue 18): the thin
hook reaches the gateway, the order is read back and mapped with each product's address, routing
makes one part per address (both to ShipBob by the `bigcommerce-shipbob-first` rule), one ShipBob
order goes out per part with that part's recipient, and every parcel ShipBob ships becomes
exactly one BigCommerce shipment bound to the `order_address_id` of its products. Call counts
come from the sandboxes' request logs."""

from __future__ import annotations

import httpx
import pytest

from orderloop.stack import Stack
from tests.integration.stack import Api
from tests.integration.test_bigcommerce import ADDRESS, STORE, bigcommerce, logged
from tests.integration.test_order_loop import base_url, completed

pytestmark = pytest.mark.integration
__all__ = ["bigcommerce"]  # the fixture, shared with the one-address test

ADA = {**ADDRESS, "first_name": "Ada", "last_name": "Lovelace", "street_1": "350 5th Ave", "city": "New York"}
ADA.update(state="New York", zip="10118")


async def test_a_two_address_order_gives_two_shipping_requests_and_one_bigcommerce_shipment_per_parcel(
    stack: Stack, api: Api, bigcommerce: httpx.AsyncClient
) -> None:
    body = {
        "products": [
            {"sku": "TSHIRT-WHT-M", "quantity": 2, "price": "19.00"},
            {"sku": "MUG-11OZ", "quantity": 1, "address_index": 1},
        ],
        "shipping_addresses": [ADDRESS, ADA],
        "customer": {"email": "grace@example.com"},
        "status_id": 11,
    }
    placed = await bigcommerce.post("/_sandbox/orders", json=body)
    assert placed.status_code == 201, placed.text
    order_id = str(placed.json()["id"])

    view = await api.wait_order("bigcommerce", order_id, completed)

    document = (await bigcommerce.get(f"/_sandbox/orders/{order_id}")).json()
    grace_id, ada_id = (a["id"] for a in document["shipping_addresses"])
    address_of = {p["id"]: p["order_address_id"] for p in document["products"]}
    sku_of = {p["id"]: p["sku"] for p in document["products"]}
    # Two shipping requests, each with its part's lines and address.
    requests = [v["request"] for v in view["shippingRequests"]]
    assert [[ln["sku"] for ln in r["lineItems"]] for r in requests] == [["TSHIRT-WHT-M"], ["MUG-11OZ"]]
    assert [(r["shippingAddress"]["firstName"], r["shippingAddress"]["city"]) for r in requests] == [
        ("Grace", "Arlington"),
        ("Ada", "New York"),
    ]
    async with httpx.AsyncClient(timeout=10) as http:
        shipbob_orders = (await http.get(f"{base_url(stack, 'shipbob')}/_sandbox/orders")).json()
    mine = {o["reference_id"]: o for o in shipbob_orders if o["reference_id"] in {r["id"] for r in requests}}
    assert len(mine) == 2
    assert [mine[r["id"]]["recipient"]["address"]["city"] for r in requests] == ["Arlington", "New York"]
    # Exactly one BigCommerce shipment per parcel, each bound to its products' address.
    shipments = (await bigcommerce.get("/_sandbox/shipments", params={"order": order_id})).json()
    creates = await logged(bigcommerce, "POST", f"{STORE}/{order_id}/shipments")
    assert len(creates) == len(shipments) == len(view["shipments"]) >= 2
    for shipment in shipments:
        assert {address_of[i["order_product_id"]] for i in shipment["items"]} == {shipment["order_address_id"]}
    by_address: dict[int, dict[str, int]] = {}
    for shipment in shipments:
        for item in shipment["items"]:
            units = by_address.setdefault(shipment["order_address_id"], {})
            units[sku_of[item["order_product_id"]]] = units.get(sku_of[item["order_product_id"]], 0) + item["quantity"]
    assert by_address == {grace_id: {"TSHIRT-WHT-M": 2}, ada_id: {"MUG-11OZ": 1}}
    assert {s["shipping_address"]["city"] for s in shipments} == {"Arlington", "New York"}
    assert document["status_id"] == 2  # Shipped: every product of both addresses
