"""The PostgreSQL ledger becomes unreachable for 30 s mid-run: the stack reaches it through a
loopback TCP proxy (on a schema of its own) that the drill cuts, while the server itself keeps
running. Meanwhile the gateway answers 503 to webhooks it cannot record (never 500, never 2xx)
and says so on /readyz; the orders in flight wait in their activities' retries; afterwards
every order, in flight or sent during the outage, completes once with nothing sent or pushed
twice."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio
from sqlalchemy.engine import make_url

from orderloop.loopback_stack import make_stack
from orderloop.stack import Stack
from tests.db import postgres_schema, postgres_url_or_skip
from tests.faults.batch import check_nothing_lost_or_doubled, place, settle
from tests.faults.tcp_proxy import TcpProxy
from tests.integration.stack import Api, started

pytestmark = pytest.mark.integration

OUTAGE = 30.0


@pytest_asyncio.fixture(scope="module")
async def proxy() -> AsyncIterator[TcpProxy]:
    url = make_url(postgres_url_or_skip())
    tunnel = TcpProxy(url.host or "127.0.0.1", url.port or 5432)
    await tunnel.start()
    try:
        yield tunnel
    finally:
        await tunnel.aclose()


@pytest_asyncio.fixture(scope="module")
async def stack(tmp_path_factory: pytest.TempPathFactory, proxy: TcpProxy) -> AsyncIterator[Stack]:
    url = postgres_url_or_skip()
    async with postgres_schema(url, "ledger_outage") as schema:
        built = make_stack(tmp_path_factory.mktemp("pg-outage"))
        through = make_url(url).set(host="127.0.0.1", port=proxy.port).update_query_dict({"schema": schema})
        built.database_url = through.render_as_string(hide_password=False)
        async with started(built) as running:
            yield running


async def test_orders_ride_out_a_30_second_ledger_outage(stack: Stack, api: Api, proxy: TcpProxy) -> None:
    in_flight = asyncio.create_task(place(stack, 12, concurrency=4))
    await asyncio.sleep(1.0)
    proxy.cut()
    cut_at = time.monotonic()
    during = asyncio.create_task(place(stack, 8, concurrency=4))
    await asyncio.sleep(3)
    async with httpx.AsyncClient(timeout=15) as http:
        ready = await http.get(f"{stack.gateway_url}/readyz")
    assert ready.status_code == 503 and ready.json()["ledger"] != "ok", ready.text
    assert ready.json()["temporal"] == "ok"
    await asyncio.sleep(OUTAGE - (time.monotonic() - cut_at))
    # Nothing of the second batch got in while the ledger was away.
    assert not during.done()
    proxy.restore()
    first, second = await in_flight, await during
    answers = first.answers + second.answers
    assert second.answers[503] > 0, second.answers
    assert {code for code in answers if code >= 500} == {503}, answers
    for batch in (first, second):
        views = await settle(api, batch, timeout=240)
        assert batch.statuses == {"completed": len(batch.external_ids)}
        await check_nothing_lost_or_doubled(stack, batch, views)
