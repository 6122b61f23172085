"""What the exchange log costs a vendor call: `VendorClient.request` against a loopback server
(bench_http_clients' raw asyncio server, in another process) without the log, and with the
log writing to a real SQLite ledger in WAL mode (the recorder's batches, redaction included,
run in this process, so their CPU is counted), 1 and 30 calls at once. Also how long one call
waits on the hot path (the `add`), and the rows written, so nothing was dropped.

CPU microseconds of this process per call; wall milliseconds per call at the 30-at-once rate.
Run: `python -m bench.bench_exchange_log` (or `make bench`)."""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.bench_http_clients import BODY, SERVER
from connectors.http import VendorClient
from orderloop import event_loop
from orderloop.exchange_log import Captured, ExchangeRecorder
from orderloop.exchange_records import ExchangeDirection
from orderloop.ledger import ExchangeFilter, Ledger


async def per_call(client: VendorClient, calls: int, at_once: int) -> tuple[float, float]:
    """(CPU us, wall ms) per call, `at_once` senders each calling in turn."""

    async def sender(n: int) -> None:
        for _ in range(n):
            await client.request("POST", "/orders", "create order", json=BODY)

    await asyncio.gather(*(sender(max(1, calls // (10 * at_once))) for _ in range(at_once)))  # warm up
    each = calls // at_once
    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.gather(*(sender(each) for _ in range(at_once)))
    if client.exchange_log is not None:
        await client.exchange_log.flush()  # the batches of these calls are part of their cost
    n = each * at_once
    return (time.process_time() - cpu) / n * 1e6, (time.perf_counter() - wall) / n * 1e3


def add_cost(recorder: ExchangeRecorder, n: int = 20_000) -> float:
    """Microseconds one `add` (the hot path's whole share) takes."""
    captured = Captured(
        at=datetime.now(UTC),
        direction=ExchangeDirection.OUTBOUND,
        channel_id="bench",
        operation="create",
        summary="create order",
        ok=True,
        duration_ms=1,
        request_body=b"{}",
        response_body=b"{}",
    )
    started = time.perf_counter()
    for _ in range(n):
        recorder.add(captured)
    return (time.perf_counter() - started) / n * 1e6


async def measure(base_url: str, calls: int) -> None:
    with tempfile.TemporaryDirectory() as directory:
        ledger = await Ledger.open(f"sqlite:///{Path(directory) / 'ledger.db'}")
        recorder = ExchangeRecorder(ledger)
        recorder.start()
        try:
            print("| calls at once | without the log: CPU us/call, wall ms/call | with it: CPU us/call, wall ms/call |")
            print("| ---: | ---: | ---: |")
            for at_once in (1, 30):
                bare = VendorClient(base_url)
                logged = VendorClient(base_url)
                logged.exchange_log = recorder
                try:
                    without = await per_call(bare, calls, at_once)
                    with_log = await per_call(logged, calls, at_once)
                finally:
                    await bare.aclose()
                    await logged.aclose()
                print(
                    f"| {at_once} | {without[0]:,.0f} us, {without[1]:.2f} ms | {with_log[0]:,.0f} us, "
                    f"{with_log[1]:.2f} ms |",
                    flush=True,
                )
            await recorder.flush()
            rows = len(await ledger.exchanges(ExchangeFilter(limit=1_000_000)))
            print(f"rows written: {rows}, dropped: {recorder.dropped}")
            spare = ExchangeRecorder(ledger, max_pending=10**9, batch=10**9)
            print(f"the hot path's share (one add): {add_cost(spare):.2f} us")
        finally:
            await recorder.aclose()
            await ledger.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=3000)
    args = parser.parse_args()
    server = subprocess.Popen([sys.executable, "-c", SERVER], stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        port = server.stdout.readline().strip()
        event_loop.run(measure(f"http://127.0.0.1:{port}", args.calls))
    finally:
        server.kill()


if __name__ == "__main__":
    main()
