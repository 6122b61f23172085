"""What an HTTP request costs the process that sends it, through one shared httpx client against
the client pool the connectors use (`connectors/http_pool.py`: one client of one connection per
request at once), with 1, 5 and 30 requests at once to a loopback server that answers at once.

CPU microseconds of this process per request (the server runs in another process). Also the
CPU of building one client, with httpx's own TLS context and with one shared.
Run: `python -m bench.bench_http_clients` (or `make bench`)."""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable

import httpx

from connectors.http_pool import ClientPool
from orderloop import event_loop

# A keep-alive HTTP/1.1 server answering every request with a small JSON body, as fast as a
# raw asyncio stream can: what is measured is the sender's side.
SERVER = """
import asyncio, sys
async def handle(reader, writer):
    try:
        while True:
            head = await reader.readuntil(b"\\r\\n\\r\\n")
            lines = head.lower().split(b"\\r\\n")
            length = next((int(l.split(b":")[1]) for l in lines if l.startswith(b"content-length:")), 0)
            await reader.readexactly(length)
            writer.write(b"HTTP/1.1 200 OK\\r\\ncontent-type: application/json\\r\\ncontent-length: 12\\r\\n\\r\\n"
                         b'{"ok": true}')
    except (asyncio.IncompleteReadError, ConnectionError):
        writer.close()
async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    await server.serve_forever()
asyncio.run(main())
"""
BODY = {"externalId": "SF-1001", "lineItems": [{"sku": "TSHIRT-BLK-M", "quantity": 1}] * 3}


async def cpu_per_request(post: Callable[[], Awaitable[object]], requests: int, at_once: int) -> float:
    """Microseconds of this process's CPU per request, `at_once` senders each sending in turn."""

    async def sender(n: int) -> None:
        for _ in range(n):
            await post()

    await asyncio.gather(*(sender(max(1, requests // (10 * at_once))) for _ in range(at_once)))  # warm up
    started = time.process_time()
    await asyncio.gather(*(sender(requests // at_once) for _ in range(at_once)))
    return (time.process_time() - started) / (requests // at_once * at_once) * 1e6


def client_cost(build: Callable[[], httpx.AsyncClient], n: int = 20) -> float:
    started = time.process_time()
    for _ in range(n):
        build()
    return (time.process_time() - started) / n * 1e3


async def pooled(url: str, requests: int, at_once: int) -> float:
    pool = ClientPool(timeout=10)

    async def borrowed() -> None:
        async with pool.client() as http:
            await http.post(url, json=BODY)

    try:
        return await cpu_per_request(borrowed, requests, at_once)
    finally:
        await pool.aclose()


async def measure(url: str, requests: int) -> None:
    print("| requests at once | one shared client, us/request | client pool, us/request |")
    print("| ---: | ---: | ---: |")
    for at_once in (1, 5, 30):
        async with httpx.AsyncClient() as shared:
            one = await cpu_per_request(lambda: shared.post(url, json=BODY), requests, at_once)
        lent = await pooled(url, requests, at_once)
        print(f"| {at_once} | {one:,.0f} | {lent:,.0f} |", flush=True)
    context = httpx.create_ssl_context()
    print(
        f"building a client: {client_cost(httpx.AsyncClient):.2f} ms with its own TLS context, "
        f"{client_cost(lambda: httpx.AsyncClient(verify=context)):.2f} ms with one shared"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=3000)
    args = parser.parse_args()
    server = subprocess.Popen([sys.executable, "-c", SERVER], stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        port = server.stdout.readline().strip()
        event_loop.run(measure(f"http://127.0.0.1:{port}/orders", args.requests))
    finally:
        server.kill()


if __name__ == "__main__":
    main()
