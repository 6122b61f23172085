"""The embedded dev server caches search attribute definitions, as a production server does:
orders started with Orderloop's search attributes straight after a fresh start are accepted,
and starting more of them reads no definitions from the server's database beyond its periodic
registry refresh (the dev server's own default re-reads them at every use: 20 reads per order in
bench.bench_e2e)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bench.bench_e2e import PERSISTENCE_PREFIX, server_requests
from orderloop.contracts import ORDER_WORKFLOW, order_start_search_attributes
from orderloop.devserver import DevServer
from orderloop.loopback_stack import free_port
from orderloop.temporal_client import connect

STARTS = 20
DEFINITION_READS = (PERSISTENCE_PREFIX + "GetCurrentClusterMetadata", PERSISTENCE_PREFIX + "GetNamespace")


async def test_orders_started_with_search_attributes_read_no_definitions(tmp_path: Path) -> None:
    metrics_port = free_port()
    server = DevServer(
        db_file=tmp_path / "temporal.db",
        port=free_port(),
        ui_port=None,
        extra_args=["--metrics-port", str(metrics_port)],
    )
    metrics = f"http://127.0.0.1:{metrics_port}/metrics"
    await server.start()
    try:
        client = await connect(server.address)

        async def start(i: int) -> None:
            await client.start_workflow(
                ORDER_WORKFLOW,
                {},
                id=f"order/storefront/cache-{i}",
                task_queue="nobody-polls",
                search_attributes=order_start_search_attributes("storefront"),
            )

        await start(0)  # right after the start: the attributes are known
        await asyncio.sleep(2)  # the server reports its counters every second or so
        before = await server_requests(metrics)
        for i in range(1, STARTS + 1):
            await start(i)
        await asyncio.sleep(2)
        after = await server_requests(metrics)

        started = after["StartWorkflowExecution"] - before["StartWorkflowExecution"]
        assert started == STARTS
        # Uncached, each start reads the definitions (20 reads per order); cached, the reads left
        # are the server's own periodic refresh of its namespace registry (every few seconds,
        # so a slow run can see one or two): far fewer than one per start.
        reads = {name: after[name] - before[name] for name in DEFINITION_READS}
        assert all(count < STARTS / 2 for count in reads.values()), reads
    finally:
        server.stop()
