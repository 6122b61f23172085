"""The worker process: the orders queue (order workflows and internal steps) and one queue per
channel (that channel's connector calls, throttled to its rate limit).

Run: `python -m workers.main` (settings from ORDERLOOP_* environment variables)."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Sequence

import structlog
from temporalio.client import Client
from temporalio.worker import UnsandboxedWorkflowRunner, Worker, WorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from activities.channel_calls import ChannelActivities
from activities.inventory_jobs import InventoryJobs
from activities.inventory_sync import InventorySync
from activities.order_poll import OrderPoll
from activities.order_steps import OrderSteps
from activities.report_poll import ReportPoll
from activities.restock import RestockWatch
from activities.return_poll import ReturnPoll
from activities.returns import ReturnCalls, ReturnSteps
from activities.shipment_poll import ShipmentPoll
from connectors.base import Connector
from connectors.http import CALLS_AT_ONCE
from connectors.notice_sinks.sender import NoticeSender
from connectors.registry import build_connectors, load_connector_config
from orderloop import event_loop, metrics
from orderloop.config import ConfigError, OrderloopConfig
from orderloop.contracts import channel_task_queue, orders_task_queue
from orderloop.exchange_log import ExchangeRecorder
from orderloop.ledger import Ledger, Product
from orderloop.logging import configure_logging
from orderloop.payload_keys import PayloadKeyError
from orderloop.settings import get_settings
from orderloop.temporal_client import connect_when_up, data_converter, until_reachable
from workers.bootstrap import ensure_inventory_sync, ensure_restock_watcher, ensure_schedules
from workflows.inventory_sync import InventorySyncWorkflow
from workflows.order import OrderWorkflow
from workflows.restock import RestockWatcherWorkflow
from workflows.returns import ReturnWorkflow
from workflows.scheduled_jobs import (
    OrderPollWorkflow,
    ReconciliationWorkflow,
    ReportPollWorkflow,
    ReturnPollWorkflow,
    ShipmentPollWorkflow,
    StockSnapshotWorkflow,
)

log = structlog.get_logger("orderloop.worker")

WORKFLOWS: Sequence[type] = (
    OrderWorkflow,
    InventorySyncWorkflow,
    StockSnapshotWorkflow,
    ReconciliationWorkflow,
    RestockWatcherWorkflow,
    OrderPollWorkflow,
    ReturnPollWorkflow,
    ShipmentPollWorkflow,
    ReportPollWorkflow,
    ReturnWorkflow,
)


def workflow_runner(sandboxed: bool) -> WorkflowRunner:
    """The sandbox re-imports workflow modules for every run and crosses into the sandbox for
    every payload (half the workflow CPU at load, see docs/performance.md). The workflow tests
    and the replay tests always run sandboxed, so a non-deterministic call in workflow code fails
    there; production workers skip it unless ORDERLOOP_WORKFLOW_SANDBOX=true."""
    if not sandboxed:
        return UnsandboxedWorkflowRunner()
    # Orderloop's workflow modules import only temporalio, pydantic and the model: no need to
    # import them afresh for every run; the sandbox still refuses wall clock, I/O, randomness.
    return SandboxedWorkflowRunner(restrictions=SandboxRestrictions.default.with_passthrough_all_modules())


def build_workers(
    client: Client,
    config: OrderloopConfig,
    ledger: Ledger,
    connectors: dict[str, Connector],
    prefix: str,
    *,
    sandboxed: bool = True,
) -> list[Worker]:
    steps = OrderSteps(config, ledger, connectors, prefix)
    calls = ChannelActivities(connectors, config, ledger)
    sync = InventorySync(config, ledger, connectors)
    jobs = InventoryJobs(config, ledger, connectors)
    restock = RestockWatch(ledger)
    poll = OrderPoll(ledger, connectors, prefix, config)
    return_poll = ReturnPoll(ledger, connectors, prefix)
    shipment_poll = ShipmentPoll(ledger, connectors)
    report_poll = ReportPoll(config, ledger, connectors)
    return_steps = ReturnSteps(config, ledger, connectors, prefix, client)
    return_calls = ReturnCalls(connectors)
    workers = [
        Worker(
            client,
            task_queue=orders_task_queue(prefix),
            workflows=list(WORKFLOWS),
            activities=[
                steps.ingest,
                steps.allocate,
                steps.release,
                steps.commit_shipment,
                steps.notify,
                jobs.reconcile_inventory,
                restock.watch_restock,
                return_steps.prepare,
                return_steps.record_status,
                return_steps.restock,
                return_steps.start_exchange,
            ],
            max_cached_workflows=2000,
            max_concurrent_workflow_tasks=100,
            max_concurrent_local_activities=100,
            workflow_runner=workflow_runner(sandboxed),
        )
    ]
    for channel in config.channels:
        workers.append(
            Worker(
                client,
                task_queue=channel_task_queue(prefix, channel.id),
                activities=[
                    calls.send_shipping_request,
                    calls.cancel_shipping_request,
                    calls.push_tracking,
                    calls.fetch_shipments,
                    calls.cancel_on_channel,
                    calls.resolve_channel_exception,
                    calls.acknowledge_on_channel,
                    calls.confirm_allocation,
                    sync.sync_channel_inventory,
                    jobs.pull_stock_snapshot,
                    poll.poll_channel_orders,
                    return_poll.poll_channel_returns,
                    shipment_poll.poll_channel_shipments,
                    report_poll.collect_fulfillment_reports,
                    return_calls.create_expected_return,
                    return_calls.push_return_received,
                ],
                max_concurrent_activities=CALLS_AT_ONCE,
                max_task_queue_activities_per_second=channel.rate_limit_per_second,
            )
        )
    return workers


async def run_worker() -> None:
    settings = get_settings()
    data_converter()  # no payload keys: refuse to start now (PayloadKeyError says what to set)
    config = load_connector_config(settings.config)
    ledger = await Ledger.open(settings.database_url)
    # The configuration's products (bundles with their components) before any order needs them.
    await ledger.define_products(
        [Product(sku=p.sku, name=p.name, components=dict(p.components)) for p in config.products]
    )
    # Rotating refresh tokens (RyderShip) live in the ledger, shared by the channel's workers.
    exchange_log = ExchangeRecorder(ledger)
    exchange_log.start()
    connectors = build_connectors(config.channels, token_store=ledger, exchange_log=exchange_log, records=ledger)
    runtime = None
    if settings.temporal_metrics_port is not None:
        runtime = metrics.temporal_runtime(f"{settings.metrics_host}:{settings.temporal_metrics_port}")
    if settings.worker_metrics_port is not None:
        metrics.serve_worker_metrics(settings.worker_metrics_port, settings.metrics_host)
    client = await connect_when_up(settings.temporal_address, settings.namespace, runtime=runtime)
    workers = build_workers(
        client, config, ledger, connectors, settings.task_queue_prefix, sandboxed=settings.workflow_sandbox
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    log.info(
        "worker.started",
        task_queues=[w.task_queue for w in workers],
        temporal=settings.temporal_address,
        metrics_port=settings.worker_metrics_port,
        temporal_metrics_port=settings.temporal_metrics_port,
    )
    # Delivers the playbooks' notices from the ledger's outbox (every worker may run one: a
    # batch is claimed before it is sent).
    sender = NoticeSender(ledger, config.notifications)
    sending = asyncio.create_task(sender.run(stop))
    try:
        async with _all(workers):
            prefix = settings.task_queue_prefix
            await until_reachable(lambda: ensure_inventory_sync(client, config, prefix), "start the inventory syncs")
            await until_reachable(lambda: ensure_restock_watcher(client, prefix), "start the restock watcher")
            await until_reachable(lambda: ensure_schedules(client, config, prefix), "create the schedules")
            await stop.wait()
    finally:
        log.info("worker.stopping")
        stop.set()
        await sending
        await sender.aclose()
        for connector in connectors.values():
            await connector.aclose()
        await exchange_log.aclose()
        await ledger.close()


class _all:
    """Run several workers as one context."""

    def __init__(self, workers: list[Worker]) -> None:
        self.workers = workers

    async def __aenter__(self) -> None:
        for worker in self.workers:
            await worker.__aenter__()

    async def __aexit__(self, *exc: object) -> None:
        await asyncio.gather(*(w.__aexit__(None, None, None) for w in reversed(self.workers)))


def main() -> None:
    settings = get_settings()
    configure_logging("worker", settings.log_format, settings.log_level)
    code = 0
    try:
        event_loop.run(run_worker())
    except (ConfigError, PayloadKeyError) as exc:
        print(f"orderloop worker: {exc}", file=sys.stderr)
        code = 2
    except KeyboardInterrupt:
        pass
    sys.stderr.flush()
    sys.stdout.flush()
    # The temporalio Rust bridge can crash the interpreter at exit (sdk-python#300): leave now.
    os._exit(code)


if __name__ == "__main__":
    main()
