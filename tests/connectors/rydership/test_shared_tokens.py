"""RyderShip's rotating refresh token shared by several workers through the token store in the
ledger database (SQLite and PostgreSQL), against the sandbox, which revokes each refresh token
once spent as Whiplash does: two connector instances (two token holders, two ledger
connections: two workers) never both spend the same refresh token, the loser takes the winner's
token, and a restarted worker goes on with the rotated token."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
import pytest_asyncio

from connectors.base import PermanentError
from connectors.rydership import RyderShipConnector
from orderloop.ledger import Ledger
from tests.connectors.rydership.conftest import REFRESH_TOKEN, Harness, MakeHarness, shipping_request
from tests.db import postgres_schema, postgres_url_or_skip

OpenLedger = Callable[[], Awaitable[Ledger]]


@pytest_asyncio.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
async def open_ledger(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[OpenLedger]:
    """Opens ledgers on one database, each with its own connections (one per worker)."""
    opened: list[Ledger] = []
    if request.param == "sqlite":
        url, schema = f"sqlite:///{tmp_path_factory.mktemp('tokens') / 'ledger.db'}", None

        async def open_one() -> Ledger:
            opened.append(await Ledger.open(url))
            return opened[-1]

        yield open_one
    else:
        pg = postgres_url_or_skip()
        async with postgres_schema(pg, "rydership_tokens") as schema:

            async def open_one() -> Ledger:
                opened.append(await Ledger.open(pg, schema=schema))
                return opened[-1]

            yield open_one
            for ledger in opened:
                await ledger.close()
            return
    for ledger in opened:
        await ledger.close()


async def worker(h: Harness, ledger: Ledger) -> RyderShipConnector:
    """A second connector instance on the same sandbox, its token in `ledger`."""
    connector = RyderShipConnector(h.connector.channel, http=h.http)
    connector.share_tokens(ledger)
    return connector


async def sandbox_tokens(h: Harness) -> dict[str, int]:
    return dict(await h.control("GET", "tokens"))


async def test_without_a_shared_store_a_second_worker_finds_the_refresh_token_revoked(
    make_harness: MakeHarness,
) -> None:
    h = await make_harness()
    second = RyderShipConnector(h.connector.channel, http=h.http)
    await h.connector.fetch_stock()
    with pytest.raises(PermanentError, match="refresh token is invalid"):
        await second.fetch_stock()
    await second.aclose()


async def test_two_workers_share_one_token_and_renew_it_once(
    make_harness: MakeHarness, open_ledger: OpenLedger
) -> None:
    h = await make_harness(per_second=1000)  # three stock reads at once: past Whiplash's 10 a second
    a, b = await worker(h, await open_ledger()), await worker(h, await open_ledger())
    request = shipping_request("SHARED-1")
    receipt = await a.create_shipping_request(request)
    assert await b.fetch_shipments(request, receipt.vendor_id) == []
    assert await sandbox_tokens(h) == {"issued": 1, "refresh_spent": 1, "throttled": 0}

    # Both find their token expired at once (a 401 each): one renewal, and both go on with it.
    await h.control("POST", "tokens/expire")
    results = await asyncio.gather(a.fetch_stock(), b.fetch_stock(), a.fetch_shipments(request, receipt.vendor_id))
    assert results[0] == results[1] != []
    assert await sandbox_tokens(h) == {"issued": 2, "refresh_spent": 2, "throttled": 0}
    assert a.client.tokens.grants + b.client.tokens.grants == 2
    assert a.client.tokens.access_token == b.client.tokens.access_token
    grants = h.sandbox.recorder.matching("POST", "/oauth/token")
    assert [("refresh_token=" + REFRESH_TOKEN) in str(g.body) for g in grants] == [True, False]
    for connector in (a, b):
        await connector.aclose()


async def test_a_restarted_worker_renews_with_the_rotated_refresh_token(
    make_harness: MakeHarness, open_ledger: OpenLedger
) -> None:
    h = await make_harness(per_second=1000)
    before = await worker(h, await open_ledger())
    await before.fetch_stock()
    await h.control("POST", "tokens/expire")
    await before.fetch_stock()  # renewed: the configured refresh token is spent now
    await before.aclose()

    # The worker restarts: a new process, a new connector, the same database.
    after = await worker(h, await open_ledger())
    assert await after.fetch_stock() != []
    assert after.client.tokens.grants == 0  # the stored access token is still valid
    await h.control("POST", "tokens/expire")
    assert await after.fetch_stock() != []
    assert after.client.tokens.grants == 1
    assert await sandbox_tokens(h) == {"issued": 3, "refresh_spent": 3, "throttled": 0}
    await after.aclose()
