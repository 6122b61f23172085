"""The ShipHero sandbox as a client written from ShipHero's documentation sees it: tokens from
/auth, GraphQL errors in HTTP 200 answers, the credit throttle's body, the request cap's 429, the
error shape of routes it does not serve, signed webhooks per package, duplicates on demand."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest_asyncio

from connectors.shiphero.sandbox import create_app
from connectors.shiphero.webhooks import MESSAGE_ID_HEADER, SIGNATURE_HEADER, WebhookType, signature
from orderloop.config import ChannelConfig
from tests.connectors.contract.sandbox_session import SandboxSession, open_sandbox
from tests.connectors.shiphero.conftest import REFRESH_TOKEN, WAREHOUSES, WEBHOOK_SECRET

CREATE = """
mutation Create($data: CreateOrderInput!) {
  order_create(data: $data) { request_id complexity order { id partner_order_id fulfillment_status } }
}
"""
CANCEL = "mutation Cancel($id: String!) { order_cancel(data: {order_id: $id}) { request_id order { id } } }"


@pytest_asyncio.fixture
async def session(channel: ChannelConfig) -> AsyncIterator[SandboxSession]:
    async with open_sandbox(channel, create_app, auto_ship=False) as opened:
        yield opened


async def token(session: SandboxSession) -> str:
    answer = await session.control("POST", "/auth/refresh", json={"refresh_token": REFRESH_TOKEN})
    assert answer["expires_in"] == 2_419_200 and answer["token_type"] == "Bearer"
    return str(answer["access_token"])


async def graphql(session: SandboxSession, query: str, **variables: Any) -> tuple[int, Any, Any]:
    response = await session.http.post(
        "/graphql",
        json={"query": query, "variables": variables},
        headers={"Authorization": f"Bearer {await token(session)}"},
    )
    return response.status_code, response.json(), response.headers


def order(ref: str) -> dict[str, Any]:
    return {
        "order_number": ref,
        "partner_order_id": f"order/storefront/{ref}/sr1",
        "shipping_address": {"address1": "1 Main St", "city": "Reno", "zip": "89501", "country": "US"},
        "line_items": [
            {
                "sku": "MUG-11OZ",
                "partner_line_item_id": "L1",
                "quantity": 2,
                "price": "0.00",
                "warehouse_id": WAREHOUSES["east"],
            }
        ],
    }


async def test_a_created_order_reports_its_complexity(session: SandboxSession) -> None:
    status, body, _ = await graphql(session, CREATE, data=order("S1"))

    assert status == 200 and "errors" not in body
    created = body["data"]["order_create"]
    assert created["complexity"] == 10 and created["order"]["fulfillment_status"] == "pending"


async def test_bad_input_is_an_error_in_a_200_answer(session: SandboxSession) -> None:
    bad = order("S2")
    bad["shipping_address"]["city"] = ""

    status, body, _ = await graphql(session, CREATE, data=bad)

    assert status == 200 and body["data"] == {"order_create": None}
    [error] = body["errors"]
    assert error["operation"] == "order_create" and "city" in error["message"] and error["request_id"]


async def test_the_credit_throttle_says_when_to_try_again(session: SandboxSession) -> None:
    await session.configure(credits=15, credits_per_second=1)
    await graphql(session, CREATE, data=order("S3"))

    status, body, _ = await graphql(session, CREATE, data=order("S4"))

    [error] = body["errors"]
    assert status == 200 and error["code"] == 30
    assert error["required_credits"] == 10 and error["remaining_credits"] < 10
    assert error["time_remaining"].endswith("seconds") and "Try again in" in error["message"]


async def test_the_request_cap_answers_429_with_retry_after(session: SandboxSession) -> None:
    await session.configure(request_limit=1, request_window=300)
    await graphql(session, "{ orders { request_id } }")

    status, body, headers = await graphql(session, "{ orders { request_id } }")

    assert status == 429 and int(headers["Retry-After"]) > 0 and body["errors"][0]["code"] == 429


async def test_an_unknown_token_and_a_wrong_refresh_token_are_refused(session: SandboxSession) -> None:
    refused = await session.http.post("/graphql", json={"query": "{ orders { request_id } }"})
    wrong = await session.http.post("/auth/refresh", json={"refresh_token": "nope"})

    assert refused.status_code == 401 and refused.json()["errors"][0]["code"] == 401
    assert wrong.status_code == 403 and wrong.json()["error"] == "invalid_grant"


async def test_a_route_not_served_answers_in_shipheros_shape(session: SandboxSession) -> None:
    response = await session.http.get("/rest/orders")

    assert response.status_code == 404 and response.json()["errors"][0]["code"] == 404


async def test_cancel_is_refused_once_the_order_is_picked(session: SandboxSession) -> None:
    _, created, _ = await graphql(session, CREATE, data=order("S5"))
    order_id = created["data"]["order_create"]["order"]["id"]
    await session.control("POST", f"/_sandbox/pick/{order_id}")

    _, body, _ = await graphql(session, CANCEL, id=order_id)

    assert "being picked" in body["errors"][0]["message"]


async def test_each_package_is_its_own_signed_webhook_and_duplicates_keep_the_message_id(
    session: SandboxSession,
) -> None:
    await session.configure(duplicate_deliveries=True)
    await graphql(session, CREATE, data=order("S6"))
    mark = session.mark()

    await session.control("POST", "/_sandbox/ship/order/storefront/S6/sr1", params={"packages": 2})

    webhooks = await session.webhooks_since(mark, WebhookType.SHIPMENT_UPDATE, count=4)
    assert len(webhooks) == 4
    assert all(w.headers[SIGNATURE_HEADER] == signature(WEBHOOK_SECRET, w.body) for w in webhooks)
    assert len({w.headers[MESSAGE_ID_HEADER] for w in webhooks}) == 2


async def test_the_sandbox_lists_its_routes_and_controls(session: SandboxSession) -> None:
    page = (await session.http.get("/_sandbox")).text

    for route in ("POST /graphql", "POST /auth/refresh", "POST /_sandbox/pick/{ref:path}", "GET /_sandbox/webhooks"):
        assert route in page
