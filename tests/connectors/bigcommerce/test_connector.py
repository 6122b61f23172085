"""The BigCommerce connector against its sandbox: thin webhooks confirmed by reading the order
back, orders that may not ship yet starting nothing, cancels, BigCommerce's own duplicates, the
tracking push read back and matched (no idempotency key), inventory batches and refusals, the
poll, and the store quota's signals."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

import pytest

from connectors.base import (
    InboundEvent,
    InboundKind,
    PermanentError,
    RateLimitedError,
    RejectedError,
    RetryableError,
)
from connectors.bigcommerce import SPEC
from tests.connectors.bigcommerce.conftest import ACCESS_TOKEN, ADDRESS, STORE_HASH, Store, StoreFactory, shipment_for
from tests.connectors.webhook_receiver import ReceivedWebhook

SINCE = datetime(2000, 1, 1, tzinfo=UTC)


async def hooks(store: Store, scope: str, count: int = 1) -> list[ReceivedWebhook]:
    await store.delivered()
    return [w for w in store.receiver.received if json.loads(w.body)["scope"] == scope][-count:]


async def confirmed(store: Store, webhook: ReceivedWebhook) -> InboundEvent:
    return await store.connector.confirm_event(store.connector.parse_webhook(webhook.headers, webhook.body))


async def test_a_thin_created_hook_is_confirmed_with_the_order_its_products_and_addresses(store: Store) -> None:
    placed = await store.place()
    [hook] = await hooks(store, "store/order/created")
    await store.http.delete("/_sandbox/requests")

    event = await confirmed(store, hook)

    assert event.kind is InboundKind.ORDER_CREATED and event.external_order_id == str(placed["id"])
    assert [p["sku"] for p in event.payload["products"]] == ["TSHIRT-BLK-M", "MUG-11OZ"]
    assert event.payload["shipping_addresses"][0]["street_1"] == "350 5th Ave"
    paths = [r["path"] for r in await store.recorded("GET", f"/stores/{STORE_HASH}/v2/orders")]
    base = f"/stores/{STORE_HASH}/v2/orders/{placed['id']}"
    assert paths == [base, f"{base}/products", f"{base}/shipping_addresses"]
    order = store.connector.map_order(
        event.payload, order_id="order/bigcommerce/x", tenant_id="t", received_at=datetime.now(UTC)
    )
    assert [(line.sku, line.quantity) for line in order.line_items] == [("TSHIRT-BLK-M", 2), ("MUG-11OZ", 1)]


@pytest.mark.parametrize(("status", "reason"), [(0, "Incomplete"), (6, "Declined"), (12, "Manual Verification")])
async def test_an_order_that_may_not_ship_starts_nothing_until_its_status_says_it_can(
    store: Store, status: int, reason: str
) -> None:
    placed = await store.place(
        {"products": [{"sku": "MUG-11OZ", "quantity": 1}], "shippingAddress": ADDRESS, "status_id": status}
    )
    [created] = await hooks(store, "store/order/created")

    held = await confirmed(store, created)
    assert held.kind is InboundKind.IGNORED
    assert held.detail is not None and f"{reason}" in held.detail and f"(status {status})" in held.detail
    assert held.hold is not None and held.hold.reason == held.detail and held.hold.status.endswith(f"(status {status})")

    answer = await store.http.post(f"/_sandbox/orders/{placed['id']}/status", json={"status_id": 11})
    assert answer.status_code == 200, answer.text
    [status_hook] = await hooks(store, "store/order/statusUpdated")
    ready = await confirmed(store, status_hook)
    # An update of an order never accepted starts it (the intake's rule for a missed creation).
    assert ready.kind is InboundKind.ORDER_UPDATED
    assert ready.payload["status_id"] == 11 and ready.payload["products"][0]["sku"] == "MUG-11OZ"
    assert ready.hold is None


async def test_status_5_from_the_store_cancels_the_order(store: Store) -> None:
    placed = await store.place()
    response = await store.http.post(f"/_sandbox/orders/{placed['id']}/status", json={"status_id": 5})
    assert response.status_code == 200
    [status_hook] = await hooks(store, "store/order/statusUpdated")
    [updated_hook] = await hooks(store, "store/order/updated")

    for hook in (status_hook, updated_hook):
        event = await confirmed(store, hook)
        assert event.kind is InboundKind.ORDER_CANCELLED and event.external_order_id == str(placed["id"])


async def test_a_hook_fired_twice_by_bigcommerce_carries_one_delivery_id(open_store: StoreFactory) -> None:
    store = await open_store({"double_fire": True})
    await store.place()
    first, second = await hooks(store, "store/order/created", 2)

    assert first.headers["webhook-id"] != second.headers["webhook-id"]
    one, two = (store.connector.parse_webhook(w.headers, w.body) for w in (first, second))
    assert one.event_id == two.event_id == json.loads(first.body)["hash"]


async def test_a_disputed_order_is_the_orders_payment_disputed_case(store: Store) -> None:
    placed = await store.place()
    await store.http.post(f"/_sandbox/orders/{placed['id']}/status", json={"status_id": 13})
    [status_hook] = await hooks(store, "store/order/statusUpdated")

    event = await confirmed(store, status_hook)

    assert event.kind is InboundKind.ORDER_EXCEPTION and event.external_order_id == str(placed["id"])
    case = event.channel_exception
    assert case is not None and case.kind == "payment_disputed" and "disputes the payment" in case.message
    assert case.deadline is None and case.reference is not None and case.reference.startswith(f"{placed['id']}/")
    assert case.kind in SPEC.exception_kinds


async def test_a_hook_for_an_order_no_longer_in_the_store_is_ignored(store: Store) -> None:
    placed = await store.place()
    [hook] = await hooks(store, "store/order/created")
    store.sandbox.orders.remove(placed["id"])

    event = await confirmed(store, hook)

    assert event.kind is InboundKind.IGNORED and event.detail is not None and "not in the store" in event.detail


async def test_a_multi_address_order_is_read_back_and_each_shipment_goes_to_its_products_address(
    store: Store,
) -> None:
    second = {**ADDRESS, "first_name": "Grace", "street_1": "1 Navy Yard"}
    placed = await store.place(
        {
            "products": [{"sku": "MUG-11OZ", "quantity": 1}, {"sku": "POSTER-A2", "quantity": 1, "address_index": 1}],
            "shipping_addresses": [ADDRESS, second],
        }
    )
    order = await store.mapped(placed["id"])
    first_id, second_id = (a["id"] for a in store.sandbox.addresses[placed["id"]])
    mug, poster = order.line_items
    assert (mug.address_ref, poster.address_ref) == (str(first_id), str(second_id))
    assert poster.shipping_address is not None and poster.shipping_address.first_name == "Grace"

    await store.connector.push_shipment(order, shipment_for(order, ("MUG-11OZ", 1), number="1Z1", sid="S1"))
    await store.connector.push_shipment(order, shipment_for(order, ("POSTER-A2", 1), number="1Z2", sid="S2"))

    shipments = (await store.http.get("/_sandbox/shipments", params={"order": placed["id"]})).json()
    assert [(s["order_address_id"], s["tracking_number"]) for s in shipments] == [(first_id, "1Z1"), (second_id, "1Z2")]
    assert [s["shipping_address"]["first_name"] for s in shipments] == ["Ada", "Grace"]
    assert store.sandbox.order(placed["id"])["status_id"] == 2  # Shipped: both addresses' products


async def test_the_sandbox_refuses_a_shipment_naming_another_address_than_its_products(store: Store) -> None:
    placed = await store.place(
        {
            "products": [{"sku": "MUG-11OZ", "quantity": 1}, {"sku": "POSTER-A2", "quantity": 1, "address_index": 1}],
            "shipping_addresses": [ADDRESS, {**ADDRESS, "first_name": "Grace"}],
        }
    )
    first_id = store.sandbox.addresses[placed["id"]][0]["id"]
    poster = next(p for p in store.sandbox.products[placed["id"]] if p["sku"] == "POSTER-A2")

    answer = await store.http.post(
        f"/stores/{STORE_HASH}/v2/orders/{placed['id']}/shipments",
        json={"order_address_id": first_id, "items": [{"order_product_id": poster["id"], "quantity": 1}]},
        headers={"X-Auth-Token": ACCESS_TOKEN},
    )

    assert answer.status_code == 400
    assert answer.json() == [{"status": 400, "message": f"The field 'order_product_id' is invalid: {poster['id']}."}]


async def test_tracking_push_after_a_lost_answer_finds_its_shipment_and_creates_no_second(
    open_store: StoreFactory,
) -> None:
    store = await open_store({"lose_create_answers": 1})
    placed = await store.place()
    order = await store.mapped(placed["id"])
    parcel = shipment_for(order, ("TSHIRT-BLK-M", 2))

    with pytest.raises(RetryableError):
        await store.connector.push_shipment(order, parcel)
    again = await store.connector.push_shipment(order, parcel)

    shipments = (await store.http.get("/_sandbox/shipments", params={"order": placed["id"]})).json()
    assert len(shipments) == 1 and again == str(shipments[0]["id"])
    assert shipments[0]["items"] == [
        {"order_product_id": order.line_items[0].id and int(order.line_items[0].id), "product_id": 77, "quantity": 2}
    ]
    assert (shipments[0]["tracking_number"], shipments[0]["shipping_provider"]) == ("1Z999AA10123456784", "ups")
    creates = await store.recorded("POST", f"/stores/{STORE_HASH}/v2/orders/{placed['id']}/shipments")
    assert len(creates) == 1
    status = (await store.http.get(f"/_sandbox/orders/{placed['id']}")).json()["status_id"]
    assert status == 3  # Partially Shipped: the mug is still to ship


async def test_shipping_more_than_is_left_is_a_rejection(store: Store) -> None:
    placed = await store.place()
    order = await store.mapped(placed["id"])
    await store.connector.push_shipment(order, shipment_for(order, ("MUG-11OZ", 1), sid="S1"))

    with pytest.raises(RejectedError, match="greater than the quantity of the product that is available to ship"):
        await store.connector.push_shipment(order, shipment_for(order, ("MUG-11OZ", 1), number="1ZOTHER", sid="S2"))


async def test_the_last_parcel_moves_the_order_to_shipped(store: Store) -> None:
    placed = await store.place()
    order = await store.mapped(placed["id"])

    await store.connector.push_shipment(order, shipment_for(order, ("TSHIRT-BLK-M", 2), number="1ZA", sid="S1"))
    await store.connector.push_shipment(order, shipment_for(order, ("MUG-11OZ", 1), number="1ZB", sid="S2"))

    assert (await store.http.get(f"/_sandbox/orders/{placed['id']}")).json()["status_id"] == 2
    # Our own shipments make BigCommerce report status changes: they start and edit nothing.
    [status_hook] = await hooks(store, "store/order/statusUpdated")
    assert (await confirmed(store, status_hook)).kind is InboundKind.IGNORED


async def test_inventory_goes_in_batches_and_a_refused_sku_does_not_block_the_others(open_store: StoreFactory) -> None:
    store = await open_store(inventory_batch=2)

    await store.connector.push_inventory({"MUG-11OZ": 4, "NOT-IN-STORE": 1, "POSTER-A2": 0, "TSHIRT-BLK-M": 9})

    levels = (await store.http.get("/_sandbox/inventory")).json()["levels"]
    assert {sku: levels[sku]["1"] for sku in ("MUG-11OZ", "POSTER-A2", "TSHIRT-BLK-M")} == {
        "MUG-11OZ": 4,
        "POSTER-A2": 0,
        "TSHIRT-BLK-M": 9,
    }
    puts = await store.recorded("PUT", f"/stores/{STORE_HASH}/v3/inventory/adjustments/absolute")
    # Two batches of two; the first refused whole for its unknown SKU and sent again without it.
    assert [len(r["body"]["items"]) for r in puts] == [2, 1, 2]
    assert [r["status"] for r in puts] == [422, 200, 200]
    assert all(item["location_id"] == 1 for r in puts for item in r["body"]["items"])


async def test_poll_reads_every_page_reports_held_orders_with_their_hold_and_cancels(
    open_store: StoreFactory,
) -> None:
    store = await open_store({"deliver_webhooks": False}, page_size=2)
    ready = [await store.place() for _ in range(3)]
    incomplete = await store.place({"products": [{"sku": "MUG-11OZ"}], "shippingAddress": ADDRESS, "status_id": 0})
    cancelled = await store.place()
    await store.http.post(f"/_sandbox/orders/{cancelled['id']}/status", json={"status_id": 5})

    polled = await store.connector.poll_orders(SINCE)

    by_id = {p.external_id: p for p in polled}
    assert sorted(by_id) == sorted(str(o["id"]) for o in [*ready, cancelled, incomplete])
    held = by_id[str(incomplete["id"])]
    assert held.hold is not None and held.hold.status == "Incomplete (status 0)"
    assert "the checkout was not completed" in held.hold.reason and not held.cancelled
    assert [p.external_id for p in polled if p.hold is not None] == [str(incomplete["id"])]
    # A held order is reported as the order list has it: no products or addresses read for it.
    assert not await store.recorded("GET", f"/stores/{STORE_HASH}/v2/orders/{incomplete['id']}/products")
    assert by_id[str(cancelled["id"])].cancelled and by_id[str(cancelled["id"])].hold is None
    first = by_id[str(ready[0]["id"])]
    assert not first.cancelled and first.payload["products"][0]["sku"] == "TSHIRT-BLK-M"
    assert first.created_at is not None and first.updated_at == first.created_at
    lists = await store.recorded("GET", f"/stores/{STORE_HASH}/v2/orders")
    pages = [r for r in lists if r["path"] == f"/stores/{STORE_HASH}/v2/orders"]
    queries = [parse_qs(r["query"]) for r in pages]
    assert [q["page"] for q in queries] == [["1"], ["2"], ["3"]]
    assert all(q["min_date_modified"] == ["2000-01-01T00:00:00+00:00"] for q in queries)


async def test_a_spent_quota_is_a_rate_limit_with_the_windows_reset(open_store: StoreFactory) -> None:
    store = await open_store({"quota": 1})
    placed = await store.place()

    await store.connector.client.order(str(placed["id"]))
    with pytest.raises(RateLimitedError) as limited:
        await store.connector.client.order(str(placed["id"]))

    assert limited.value.retry_after is not None and 0 < limited.value.retry_after <= 30
    quota = store.connector.client.quota
    assert quota is not None and quota.quota == 1 and quota.left == 0


async def test_a_429_without_the_headers_is_the_platforms_overload_left_to_backoff(open_store: StoreFactory) -> None:
    store = await open_store({"platform_overload": 1})
    placed = await store.place()

    with pytest.raises(RateLimitedError) as limited:
        await store.connector.client.order(str(placed["id"]))

    assert limited.value.retry_after is None
    assert (await store.connector.client.order(str(placed["id"])))["id"] == placed["id"]


async def test_pages_wait_for_the_window_once_the_quota_is_nearly_spent(open_store: StoreFactory) -> None:
    # Five orders in pages of one through a quota of three per 300 ms: without pacing, a 429.
    store = await open_store({"deliver_webhooks": False, "quota": 3, "window_ms": 300}, page_size=1, quota_headroom=1)
    for _ in range(5):
        store.sandbox.place({"products": [{"sku": "MUG-11OZ"}], "shippingAddress": ADDRESS, "status_id": 0})

    pages = [page async for page in store.connector.client.orders_modified_since(SINCE)]

    assert len(pages) == 5
    statuses = [r["status"] for r in await store.recorded("GET", f"/stores/{STORE_HASH}/v2/orders")]
    assert 429 not in statuses


async def test_errors_carry_bigcommerces_own_words(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(PermanentError, match="HTTP 404: The requested resource was not found") as missing:
        await store.connector.client.order("999999")
    assert missing.value.status_code == 404

    monkeypatch.setenv("ORDERLOOP_BIGCOMMERCE_ACCESS_TOKEN", "a-revoked-token")
    with pytest.raises(PermanentError, match="HTTP 401: You are not authorized") as refused:
        await store.connector.client.order("100")
    assert refused.value.status_code == 401
    body: Any = refused.value.body
    assert body == [{"status": 401, "message": "You are not authorized to access this resource."}]
