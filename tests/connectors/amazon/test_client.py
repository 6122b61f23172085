"""The SP-API client against the sandbox: the LWA token is fetched once, renewed when Amazon says
it expired, never shown; the rate of each operation follows `x-amzn-RateLimit-Limit`; a 429 backs
off one token's time; a loop of calls waits for its bucket client-side instead of meeting 429s."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from connectors.amazon import AmazonConnector
from connectors.amazon.client import Operation
from connectors.amazon.sandbox import create_app
from connectors.base import PermanentError, RateLimitedError
from tests.connectors.amazon.conftest import ORDER, REFRESH_TOKEN, make_channel
from tests.connectors.contract.sandbox_session import SandboxSession, open_sandbox

SINCE = datetime(2000, 1, 1, tzinfo=UTC)


async def requests(session: SandboxSession, path: str) -> list[dict[str, object]]:
    found: list[dict[str, object]] = (await session.http.get("/_sandbox/requests", params={"path_prefix": path})).json()
    return found


async def test_one_token_serves_many_calls_and_is_sent_as_x_amz_access_token(
    connector: AmazonConnector, session: SandboxSession
) -> None:
    placed = await session.control("POST", "/_sandbox/orders", json=ORDER)

    await connector.client.get_order(placed["id"], ["FULFILLMENT"])
    await connector.client.get_order(placed["id"], ["FULFILLMENT"])

    assert connector.client.tokens_fetched == 1
    [grant] = await requests(session, "/auth/o2/token")
    assert "grant_type=refresh_token" in str(grant["body"])
    reads = await requests(session, "/orders/2026-01-01/orders/")
    assert [r["status"] for r in reads] == [200, 200]
    assert all(str(r["headers"]["x-amz-access-token"]).startswith("Atza|") for r in reads)  # type: ignore[index]


async def test_an_expired_token_is_renewed_once_and_the_call_repeated(
    connector: AmazonConnector, session: SandboxSession
) -> None:
    placed = await session.control("POST", "/_sandbox/orders", json=ORDER)
    await connector.client.get_order(placed["id"], ["FULFILLMENT"])
    await session.control("POST", "/_sandbox/tokens/expire")

    order = await connector.client.get_order(placed["id"], ["FULFILLMENT"])

    assert order["orderId"] == placed["id"]
    assert connector.client.tokens_fetched == 2
    reads = await requests(session, "/orders/2026-01-01/orders/")
    assert [r["status"] for r in reads] == [200, 403, 200]


async def test_a_refused_refresh_token_is_permanent_and_keeps_the_secrets_out_of_the_message(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    channel = make_channel(monkeypatch)
    async with open_sandbox(channel, create_app) as session:
        monkeypatch.setenv("ORDERLOOP_AMAZON_REFRESH_TOKEN", "Atzr|revoked")
        connector = AmazonConnector(channel, http=session.http)
        with pytest.raises(PermanentError) as refused:
            await connector.client.tokens.token()
    message = str(refused.value)
    assert "HTTP 400: invalid_grant" in message
    assert "Atzr|revoked" not in message and REFRESH_TOKEN not in message
    assert refused.value.status_code == 400


async def test_the_rate_limit_header_sets_the_operations_rate(
    connector: AmazonConnector, session: SandboxSession
) -> None:
    await session.configure(usage_plans={Operation.GET_ORDER: [2.5, 30]})
    placed = await session.control("POST", "/_sandbox/orders", json=ORDER)
    assert connector.client.rate(Operation.GET_ORDER) == 0.5

    await connector.client.get_order(placed["id"], ["FULFILLMENT"])

    assert connector.client.rate(Operation.GET_ORDER) == 2.5
    [read] = await requests(session, "/orders/2026-01-01/orders/")
    assert read["status"] == 200


async def test_a_429_backs_off_one_token_at_the_operations_rate(
    connector: AmazonConnector, session: SandboxSession
) -> None:
    await session.configure(usage_plans={Operation.GET_ORDER: [0.25, 1]})
    placed = await session.control("POST", "/_sandbox/orders", json=ORDER)
    await connector.client.get_order(placed["id"], ["FULFILLMENT"])

    with pytest.raises(RateLimitedError) as throttled:
        await connector.client.get_order(placed["id"], ["FULFILLMENT"])

    # 0.25/s learnt from the first answer's x-amzn-RateLimit-Limit: 4 s for one token.
    assert throttled.value.retry_after == 4.0
    assert "QuotaExceeded" in str(throttled.value)


async def test_a_poll_beyond_the_burst_waits_for_the_bucket_without_meeting_a_429(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    channel = make_channel(monkeypatch, page_size=1)
    async with open_sandbox(channel, create_app, deliver_notifications=False) as session:
        for _ in range(22):
            await session.control("POST", "/_sandbox/orders", json=ORDER)
        connector = AmazonConnector(channel, http=session.http)

        with pytest.raises(RateLimitedError) as paced:
            await connector.poll_orders(SINCE)

        searches = await requests(session, "/orders/2026-01-01/orders")
    # searchOrders' burst is 20: the 21st page waits for a token (1/0.0056 s), as Temporal's retry.
    assert [r["status"] for r in searches] == [200] * 20
    assert "paced" in str(paced.value)
    assert paced.value.retry_after is not None and 170 < paced.value.retry_after <= 1 / 0.0056
