"""The TikTok client against the sandbox: the signature (written out here from the documented
steps), the token renewed by its refresh and by its expiry as the answer gives it, TikTok's
codes mapped to the connector error tree, and the gate's refusals."""

from __future__ import annotations

import hashlib
import hmac
import time

import pytest

from connectors.base import PermanentError, RateLimitedError, RejectedError
from connectors.tiktok import TikTokConnector
from connectors.tiktok.client import TOKEN_REFRESH_PATH, TikTokCode, sign_request
from tests.connectors.contract.sandbox_session import SandboxSession
from tests.connectors.tiktok.conftest import APP_KEY, APP_SECRET, SHOP_CIPHER

Pair = tuple[SandboxSession, TikTokConnector]


def test_signature_follows_the_documented_steps() -> None:
    path = "/order/202309/orders/search"
    params = {"timestamp": "1764156000", "app_key": APP_KEY, "shop_cipher": SHOP_CIPHER, "page_size": "2"}
    body = b'{"update_time_ge":1764150000}'
    ignored = {**params, "sign": "whatever", "access_token": "ROW_x"}
    wrapped = (
        f"{APP_SECRET}{path}app_key{APP_KEY}page_size2shop_cipher{SHOP_CIPHER}timestamp1764156000".encode()
        + body
        + APP_SECRET.encode()
    )

    expected = hmac.new(APP_SECRET.encode(), wrapped, hashlib.sha256).hexdigest()

    assert sign_request(APP_SECRET, path, ignored, body) == expected
    assert sign_request(APP_SECRET, path, params, b"{}") != expected


async def test_first_call_renews_the_token_and_later_calls_reuse_it(tiktok: Pair) -> None:
    session, connector = tiktok

    await connector.client.get_orders(["1"])
    await connector.client.get_orders(["2"])

    refreshes = await session.control("GET", "/_sandbox/requests", params={"path_prefix": TOKEN_REFRESH_PATH})
    assert connector.client.tokens_fetched == 1 and len(refreshes) == 1
    assert "grant_type=refresh_token" in refreshes[0]["query"]


async def test_expired_token_is_renewed_once_and_the_call_signed_again(tiktok: Pair) -> None:
    session, connector = tiktok
    await connector.client.get_orders(["1"])
    await session.control("POST", "/_sandbox/tokens/expire")

    data = await connector.client.get_orders(["1"])

    assert data == []
    calls = await session.control("GET", "/_sandbox/requests", params={"path_prefix": "/order/202309/orders"})
    # The refused call (105002) and its repeat with the renewed token.
    assert [c["status"] for c in calls] == [200, 401, 200]
    assert connector.client.tokens_fetched == 2


async def test_token_expiry_is_read_from_the_answer(tiktok: Pair) -> None:
    session, connector = tiktok
    # Tokens that expire within the client's renewal margin are renewed before each use.
    await session.configure(token_ttl_seconds=60)

    for order_id in ("1", "2", "3"):
        await connector.client.get_orders([order_id])

    assert connector.client.tokens_fetched == 3
    calls = await session.control("GET", "/_sandbox/requests", params={"path_prefix": "/order/"})
    assert [c["status"] for c in calls] == [200, 200, 200]


async def test_a_refused_refresh_token_is_permanent_naming_the_credentials(
    tiktok: Pair, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, connector = tiktok
    monkeypatch.setenv("ORDERLOOP_TIKTOK_REFRESH_TOKEN", "ROW_revoked")

    with pytest.raises(PermanentError, match="refresh_token"):
        await connector.client.get_orders(["1"])


async def test_throttled_call_is_rate_limited_with_the_window_as_delay(tiktok: Pair) -> None:
    session, connector = tiktok
    await session.configure(qps=1)
    await connector.client.get_orders(["1"])

    with pytest.raises(RateLimitedError) as limited:
        await connector.client.get_orders(["1"])

    assert limited.value.retry_after == 1.0
    assert str(TikTokCode.TOO_MANY_REQUESTS.value) in str(limited.value)


async def test_business_refusal_in_a_200_body_is_a_rejection(tiktok: Pair) -> None:
    session, connector = tiktok
    order = await session.control("POST", "/_sandbox/orders", json={"line_items": [{"sku": "MUG-11OZ"}]})
    body = {"order_line_item_ids": ["1"], "tracking_number": "1Z1", "shipping_provider_id": "6617675021119438849"}

    with pytest.raises(RejectedError) as refused:
        await connector.client.mark_package_shipped(order["id"], body, "ship")

    assert refused.value.status_code == 200
    assert "line item 1 is not in the order" in str(refused.value)


async def test_the_gate_refuses_a_wrong_sign_a_stale_timestamp_and_a_missing_shop_cipher(tiktok: Pair) -> None:
    session, connector = tiktok
    token = await connector.client.tokens.token()
    path = "/order/202309/orders"
    good = {"app_key": APP_KEY, "timestamp": str(int(time.time())), "shop_cipher": SHOP_CIPHER, "ids": "1"}

    async def answer(params: dict[str, str]) -> tuple[int, int]:
        response = await session.http.get(path, params=params, headers={"x-tts-access-token": token})
        return response.status_code, response.json()["code"]

    assert await answer({**good, "sign": sign_request(APP_SECRET, path, good)}) == (200, 0)
    assert await answer({**good, "sign": sign_request("other-secret", path, good)}) == (401, TikTokCode.INVALID_SIGN)
    stale = {**good, "timestamp": str(int(time.time()) - 600)}
    assert await answer({**stale, "sign": sign_request(APP_SECRET, path, stale)}) == (
        401,
        TikTokCode.EXPIRED_TIMESTAMP,
    )
    bare = {k: v for k, v in good.items() if k != "shop_cipher"}
    assert await answer({**bare, "sign": sign_request(APP_SECRET, path, bare)}) == (400, TikTokCode.INVALID_PARAMS)
