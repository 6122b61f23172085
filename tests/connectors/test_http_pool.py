"""The client pool the connectors, the sandboxes' webhook sender and the benchmark share: one
connection per client, a client per request at once, and connections kept from one request to
the next (a loopback server counts the connections it accepts)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from connectors.http_pool import ClientPool


class CountingServer:
    """An HTTP/1.1 server answering every request with 200 after `delay`, keeping connections."""

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.connections = 0
        self.requests = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    (
                        int(line.split(b":")[1])
                        for line in head.split(b"\r\n")
                        if line.lower().startswith(b"content-length:")
                    ),
                    0,
                )
                await reader.readexactly(length)
                self.requests += 1
                await asyncio.sleep(self.delay)
                writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()


@pytest.fixture
async def server() -> AsyncIterator[tuple[CountingServer, str]]:
    counting = CountingServer(delay=0.05)
    listening = await asyncio.start_server(counting.handle, "127.0.0.1", 0)
    port = listening.sockets[0].getsockname()[1]
    try:
        yield counting, f"http://127.0.0.1:{port}/x"
    finally:
        listening.close()


async def test_requests_at_once_get_a_client_and_a_connection_each_and_keep_them(
    server: tuple[CountingServer, str],
) -> None:
    counting, url = server
    pool = ClientPool(timeout=5)
    try:

        async def post() -> int:
            async with pool.client() as http:
                return (await http.post(url, json={"n": 1})).status_code

        assert await asyncio.gather(*(post() for _ in range(4))) == [200] * 4
        assert (pool.size, counting.connections) == (4, 4)
        # One at a time, then four at once again: the same clients over the same connections.
        for _ in range(3):
            assert await post() == 200
        assert await asyncio.gather(*(post() for _ in range(4))) == [200] * 4
        assert (pool.size, counting.connections, counting.requests) == (4, 4, 11)
    finally:
        await pool.aclose()


async def test_a_closed_pool_lends_nothing_more(server: tuple[CountingServer, str]) -> None:
    _, url = server
    pool = ClientPool(timeout=5)
    async with pool.client() as http:
        assert (await http.get(url)).status_code == 200
    await pool.aclose()
    assert pool.size == 0
    with pytest.raises(RuntimeError, match="closed"):
        async with pool.client():
            pass


async def test_the_clients_share_one_tls_context() -> None:
    pool = ClientPool(timeout=5)
    try:
        async with pool.client() as first, pool.client() as second:
            assert first is not second
            # Built once for the pool, not per client (loading the CA bundle is most of a
            # client's cost); httpx's own pool keeps the context it was given.
            contexts = [c._transport._pool._ssl_context for c in (first, second)]  # type: ignore[attr-defined]
        assert contexts[0] is contexts[1] and contexts[0] is not None
    finally:
        await pool.aclose()
