"""The ShipHero client against its sandbox: the token got once and renewed when it expired,
errors[] in HTTP 200 answers classified (credits: retry after the message's delay; bad input:
rejected), complexity feeding the credit bucket, and the bucket pacing calls."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio

from connectors.base import RateLimitedError, RejectedError
from connectors.pacing import CreditBucket
from connectors.shiphero import ShipHeroConnector
from connectors.shiphero.documents import document
from connectors.shiphero.sandbox import create_app
from orderloop.config import ChannelConfig
from tests.connectors.contract.sandbox_session import SandboxSession, open_sandbox
from tests.connectors.shiphero.conftest import fixture, shipping_request


@pytest_asyncio.fixture
async def session(channel: ChannelConfig) -> AsyncIterator[SandboxSession]:
    async with open_sandbox(channel, create_app, auto_ship=False) as opened:
        yield opened


@pytest_asyncio.fixture
async def connector(channel: ChannelConfig, session: SandboxSession) -> AsyncIterator[ShipHeroConnector]:
    built = ShipHeroConnector(channel, http=session.http)
    yield built
    await built.aclose()


async def calls(session: SandboxSession, path: str) -> int:
    return sum(1 for r in await session.control("GET", "/_sandbox/requests") if r["path"] == path)


async def test_the_token_is_fetched_once_and_reused(session: SandboxSession, connector: ShipHeroConnector) -> None:
    await connector.create_shipping_request(shipping_request("T1"))
    await connector.fetch_stock()

    assert await calls(session, "/auth/refresh") == 1
    assert connector.client.tokens.grants == 1


async def test_an_expired_token_is_renewed_and_the_call_sent_once_more(
    session: SandboxSession, connector: ShipHeroConnector
) -> None:
    await session.configure(token_ttl=0.2)
    await connector.fetch_stock()
    # The client renews a token 5 minutes before its expiry; a token this short it renews only
    # when the sandbox refuses it. Make the cached one look fresh to see the refusal path.
    connector.client.tokens._expires_at = float("inf")
    await asyncio.sleep(0.3)

    await connector.fetch_stock()

    logged = await session.control("GET", "/_sandbox/requests", params={"path_prefix": "/graphql"})
    # One warehouse refused with 401, then sent again with a new token; then the other warehouse.
    assert [r["status"] for r in logged][-3:] == [401, 200, 200]
    assert connector.client.tokens.grants == await calls(session, "/auth/refresh")


async def test_not_enough_credits_is_rate_limited_with_the_delay_of_the_message(
    session: SandboxSession, connector: ShipHeroConnector
) -> None:
    await session.configure(credits=12, credits_per_second=1, mutation_cost=10)
    await connector.create_shipping_request(shipping_request("T2"))

    with pytest.raises(RateLimitedError) as limited:
        await connector.create_shipping_request(shipping_request("T3"))

    assert limited.value.retry_after is not None and limited.value.retry_after >= 1
    assert "not enough credits" in str(limited.value)


async def test_a_refused_address_is_rejected_in_shipheros_words(connector: ShipHeroConnector) -> None:
    with pytest.raises(RejectedError) as refused:
        await connector.create_shipping_request(shipping_request("T4", city=None, zip_code_or_postal_code=None))

    assert refused.value.status_code == 422
    assert "city, zip required" in str(refused.value)


async def test_complexity_is_remembered_per_operation(connector: ShipHeroConnector) -> None:
    await connector.create_shipping_request(shipping_request("T5"))

    assert connector.client.costs["OrderCreate"] == 10
    assert connector.client.costs["OrdersByPartnerId"] >= 1


async def test_the_bucket_waits_for_credits_and_refuses_a_long_wait() -> None:
    now = [0.0]
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    bucket = CreditBucket(10, 2, max_wait=3, clock=lambda: now[0], sleep=sleep)
    await bucket.take(8)
    await bucket.take(6)  # 2 left: waits 2 s for 4 more
    assert slept == [2.0]

    with pytest.raises(RateLimitedError) as paced:
        await bucket.take(10)
    assert paced.value.retry_after == 5.0


def test_a_document_that_does_not_match_the_schema_fails_at_import() -> None:
    with pytest.raises(ValueError, match="Cannot query field"):
        document("query Broken { orders { request_id no_such_field } }")


async def test_shipheros_documented_throttle_answer_sets_the_delay_and_the_bucket(channel: ChannelConfig) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/auth/refresh":
            return httpx.Response(200, json={"access_token": "jwt", "expires_in": 2419200, "token_type": "Bearer"})
        return httpx.Response(200, json=fixture("not_enough_credits.json"))

    async with httpx.AsyncClient(transport=httpx.MockTransport(answer), base_url=channel.base_url) as http:
        connector = ShipHeroConnector(channel, http=http)
        with pytest.raises(RateLimitedError) as limited:
            await connector.fetch_shipments(shipping_request("T6"), "T3JkZXI6MzAwMDAwNzc3")

    assert limited.value.retry_after == 2.0
    assert 44 <= connector.client.bucket.level < 50
