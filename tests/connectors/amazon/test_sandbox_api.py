"""The sandbox as a client written against Amazon's documentation sees it: LWA's errors, the
403s of a missing or unknown token, the rate-limit headers (absent on the 429), searchOrders'
rules, Pending orders without address or prices, confirmShipment's validation and edits, and the
Listings Items merge keeping what it does not name."""

from __future__ import annotations

from typing import Any

import httpx

from connectors.amazon.client import Operation
from tests.connectors.amazon.conftest import CLIENT_ID, CLIENT_SECRET, MARKETPLACE, ORDER, REFRESH_TOKEN, SELLER_ID
from tests.connectors.contract.sandbox_session import SandboxSession

ORDERS = "/orders/2026-01-01/orders"
GRANT = {
    "grant_type": "refresh_token",
    "refresh_token": REFRESH_TOKEN,
    "client_id": CLIENT_ID,
    "client_secret": CLIENT_SECRET,
}


async def token(session: SandboxSession) -> dict[str, str]:
    answer = await session.control("POST", "/auth/o2/token", data=GRANT)
    return {"x-amz-access-token": answer["access_token"]}


def errors(response: httpx.Response) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = response.json()["errors"]
    return found


def confirmation(item_id: str, quantity: int, reference: str = "1", **detail: Any) -> dict[str, Any]:
    package = {
        "packageReferenceId": reference,
        "carrierCode": "UPS",
        "trackingNumber": "1Z999AA10123456784",
        "shipDate": "2026-11-24T15:04:05Z",
        "orderItems": [{"orderItemId": item_id, "quantity": quantity}],
        **detail,
    }
    return {"marketplaceId": MARKETPLACE, "packageDetail": package}


async def test_lwa_answers_its_own_errors(session: SandboxSession) -> None:
    wrong_client = await session.http.post("/auth/o2/token", data={**GRANT, "client_secret": "nope"})
    wrong_grant = await session.http.post("/auth/o2/token", data={**GRANT, "refresh_token": "Atzr|other"})
    ok = await session.http.post("/auth/o2/token", data=GRANT)

    assert (wrong_client.status_code, wrong_client.json()["error"]) == (401, "invalid_client")
    assert (wrong_grant.status_code, wrong_grant.json()["error"]) == (400, "invalid_grant")
    assert ok.json()["expires_in"] == 3600 and ok.json()["token_type"] == "bearer"


async def test_calls_without_a_live_token_are_403_with_amazons_details(session: SandboxSession) -> None:
    params = {"lastUpdatedAfter": "2026-01-01T00:00:00Z"}
    missing = await session.http.get(ORDERS, params=params)
    unknown = await session.http.get(ORDERS, params=params, headers={"x-amz-access-token": "Atza|forged"})

    assert missing.status_code == unknown.status_code == 403
    assert errors(unknown)[0]["code"] == "Unauthorized"
    assert "revoked, malformed or invalid" in errors(unknown)[0]["details"]
    assert "x-amzn-RateLimit-Limit" not in missing.headers and "x-amzn-RequestId" in missing.headers


async def test_answers_carry_the_rate_and_the_429_carries_only_a_request_id(session: SandboxSession) -> None:
    await session.configure(usage_plans={Operation.SEARCH_ORDERS: [0.0056, 1]})
    headers = await token(session)
    params = {"lastUpdatedAfter": "2026-01-01T00:00:00Z"}

    ok = await session.http.get(ORDERS, params=params, headers=headers)
    throttled = await session.http.get(ORDERS, params=params, headers=headers)

    assert ok.status_code == 200 and ok.headers["x-amzn-RateLimit-Limit"] == "0.0056"
    assert throttled.status_code == 429 and errors(throttled)[0]["code"] == "QuotaExceeded"
    assert "x-amzn-RateLimit-Limit" not in throttled.headers and "Retry-After" not in throttled.headers
    assert "x-amzn-RequestId" in throttled.headers


async def test_search_orders_needs_exactly_one_start_and_binds_its_token_to_the_filters(
    session: SandboxSession,
) -> None:
    await session.configure(max_page_size=1)
    headers = await token(session)
    for _ in range(2):
        await session.control("POST", "/_sandbox/orders", json=ORDER)

    neither = await session.http.get(ORDERS, headers=headers)
    both = await session.http.get(
        ORDERS,
        params={"createdAfter": "2026-01-01T00:00:00Z", "lastUpdatedAfter": "2026-01-01T00:00:00Z"},
        headers=headers,
    )
    first = await session.http.get(ORDERS, params={"lastUpdatedAfter": "2026-01-01T00:00:00Z"}, headers=headers)
    page_token = first.json()["pagination"]["nextToken"]
    second = await session.http.get(
        ORDERS, params={"lastUpdatedAfter": "2026-01-01T00:00:00Z", "paginationToken": page_token}, headers=headers
    )
    other_filters = await session.http.get(
        ORDERS,
        params={
            "lastUpdatedAfter": "2026-01-01T00:00:00Z",
            "fulfillmentStatuses": "SHIPPED",
            "paginationToken": page_token,
        },
        headers=headers,
    )

    assert neither.status_code == both.status_code == 400 and errors(neither)[0]["code"] == "InvalidInput"
    assert len(first.json()["orders"]) == 1 and len(second.json()["orders"]) == 1
    assert first.json()["orders"][0]["orderId"] != second.json()["orders"][0]["orderId"]
    assert "pagination" not in second.json()
    assert other_filters.status_code == 400


async def test_a_pending_order_shows_no_address_or_prices_until_authorised(session: SandboxSession) -> None:
    headers = await token(session)
    placed = await session.control("POST", "/_sandbox/orders", params={"pending": "true"}, json=ORDER)
    params = {"includedData": "RECIPIENT,PROCEEDS,FULFILLMENT"}

    pending = (await session.http.get(f"{ORDERS}/{placed['id']}", params=params, headers=headers)).json()["order"]
    await session.control("POST", f"/_sandbox/orders/{placed['id']}/authorize")
    ready = (await session.http.get(f"{ORDERS}/{placed['id']}", params=params, headers=headers)).json()["order"]
    bare = (await session.http.get(f"{ORDERS}/{placed['id']}", headers=headers)).json()["order"]

    assert pending["fulfillment"]["fulfillmentStatus"] == "PENDING"
    assert "recipient" not in pending and "proceeds" not in pending
    assert "price" not in pending["orderItems"][0]["product"]
    assert ready["fulfillment"]["fulfillmentStatus"] == "UNSHIPPED"
    assert ready["recipient"]["deliveryAddress"]["postalCode"] == "10118"
    assert ready["orderItems"][0]["product"]["price"]["unitPrice"] == {"amount": "19.00", "currencyCode": "USD"}
    # Datasets not asked for are not shown.
    assert "recipient" not in bare and "fulfillment" not in bare


async def test_confirm_shipment_validates_edits_by_reference_and_moves_the_status(session: SandboxSession) -> None:
    headers = await token(session)
    placed = await session.control("POST", "/_sandbox/orders", json=ORDER)
    shirts, mug = (item["orderItemId"] for item in placed["order"]["orderItems"])
    path = f"/orders/v0/orders/{placed['id']}/shipmentConfirmation"

    async def confirm(body: dict[str, Any]) -> httpx.Response:
        return await session.http.post(path, json=body, headers=headers)

    bad_carrier = await confirm(confirmation(shirts, 1, carrierCode="Pigeon"))
    other_unnamed = await confirm(confirmation(shirts, 1, carrierCode="Other"))
    not_numeric = await confirm(confirmation(shirts, 1, reference="PKG-1"))
    too_many = await confirm(confirmation(shirts, 3))
    first = await confirm(confirmation(shirts, 2))
    edited = await confirm(confirmation(shirts, 2, trackingNumber="1Z999AA10123456785"))
    partial = await session.control("GET", f"/_sandbox/orders/{placed['id']}")
    second = await confirm(confirmation(mug, 1, reference="2"))
    done = await session.control("GET", f"/_sandbox/orders/{placed['id']}")
    packages = await session.control("GET", "/_sandbox/packages", params={"order": placed["id"]})

    for refused, words in (
        (bad_carrier, "Invalid carrierCode"),
        (other_unnamed, "carrierName is required"),
        (not_numeric, "positive numeric"),
        (too_many, "exceeds the 2 unshipped"),
    ):
        assert refused.status_code == 400 and words in errors(refused)[0]["message"]
    assert first.status_code == edited.status_code == second.status_code == 204 and first.content == b""
    assert partial["fulfillment"]["fulfillmentStatus"] == "PARTIALLY_SHIPPED"
    assert done["fulfillment"]["fulfillmentStatus"] == "SHIPPED"
    assert [(p["packageReferenceId"], p["trackingNumber"], p["edits"]) for p in packages] == [
        ("1", "1Z999AA10123456785", 1),
        ("2", "1Z999AA10123456784", 0),
    ]


async def test_listings_merge_keeps_the_fields_it_does_not_name(session: SandboxSession) -> None:
    headers = await token(session)
    await session.control(
        "POST", "/_sandbox/listings", json={"sku": "LAMP-1", "quantity": 4, "restock_date": "2026-12-20"}
    )
    path = f"/listings/2021-08-01/items/{SELLER_ID}/LAMP-1"
    merge: dict[str, Any] = {
        "productType": "PRODUCT",
        "patches": [
            {
                "op": "merge",
                "path": "/attributes/fulfillment_availability",
                "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": 9}],
            }
        ],
    }
    params = {"marketplaceIds": MARKETPLACE}

    preview = await session.http.patch(
        path, params={**params, "mode": "VALIDATION_PREVIEW"}, json=merge, headers=headers
    )
    after_preview = (await session.http.get(path, params=params, headers=headers)).json()
    patched = await session.http.patch(path, params=params, json=merge, headers=headers)
    listing = (await session.http.get(path, params=params, headers=headers)).json()
    unknown = await session.http.patch(
        f"/listings/2021-08-01/items/{SELLER_ID}/NOPE", params=params, json=merge, headers=headers
    )
    nested = await session.http.patch(
        path,
        params=params,
        json={**merge, "patches": [{**merge["patches"][0], "path": "/attributes/a/b"}]},
        headers=headers,
    )

    assert preview.json()["status"] == "VALID"
    assert after_preview["attributes"]["fulfillment_availability"][0]["quantity"] == 4
    assert patched.status_code == 200 and patched.json()["status"] == "ACCEPTED" and patched.json()["submissionId"]
    assert listing["attributes"]["fulfillment_availability"] == [
        {
            "fulfillment_channel_code": "DEFAULT",
            "quantity": 9,
            "lead_time_to_ship_max_days": 2,
            "restock_date": "2026-12-20",
        }
    ]
    assert unknown.status_code == 404 and nested.status_code == 400
