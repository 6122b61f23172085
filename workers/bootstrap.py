"""Long-lived work the worker makes sure exists at start: one inventory sync workflow per
selling channel, the restock watcher, and the schedules: per channel, its stock snapshots,
report collection, order poll, return poll and shipment poll (where configured); then the
reconciliation."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import structlog
from pydantic import BaseModel
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
    ScheduleUpdate,
)
from temporalio.common import WorkflowIDConflictPolicy

from orderloop.config import ChannelConfig, OrderloopConfig
from orderloop.contracts import channel_task_queue, orders_task_queue
from orderloop.contracts.inventory_sync import INVENTORY_SYNC_WORKFLOW, InventorySyncInput, inventory_sync_workflow_id
from orderloop.contracts.restock import RESTOCK_WATCHER_WORKFLOW, RestockWatchInput, restock_watcher_workflow_id
from orderloop.contracts.scheduled_jobs import (
    ORDER_POLL_WORKFLOW,
    RECONCILE_EVERY,
    RECONCILIATION_WORKFLOW,
    REPORT_POLL_WORKFLOW,
    RETURN_POLL_WORKFLOW,
    SHIPMENT_POLL_WORKFLOW,
    SNAPSHOT_EVERY,
    STOCK_SNAPSHOT_WORKFLOW,
    CollectReportsInput,
    PollOrdersInput,
    PollReturnsInput,
    PollShipmentsInput,
    ReconcileInput,
    SnapshotInput,
)
from orderloop.model import ConnectorRole

log = structlog.get_logger("orderloop.worker")


async def ensure_inventory_sync(client: Client, config: OrderloopConfig, prefix: str) -> None:
    for channel in config.channels_with_role(ConnectorRole.SELLING):
        await client.start_workflow(
            INVENTORY_SYNC_WORKFLOW,
            InventorySyncInput(channel_id=channel.id, task_queue=channel_task_queue(prefix, channel.id)),
            id=inventory_sync_workflow_id(f"{prefix}/{channel.id}"),
            task_queue=orders_task_queue(prefix),
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        )


async def ensure_restock_watcher(client: Client, prefix: str) -> None:
    await client.start_workflow(
        RESTOCK_WATCHER_WORKFLOW,
        RestockWatchInput(),
        id=restock_watcher_workflow_id(prefix),
        task_queue=orders_task_queue(prefix),
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
    )


async def _ensure_schedule(
    client: Client, schedule_id: str, action: ScheduleActionStartWorkflow, every: timedelta
) -> None:
    schedule = Schedule(
        action=action,
        spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=every)]),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
    )
    try:
        await client.create_schedule(schedule_id, schedule)
    except ScheduleAlreadyRunningError:
        # Already there from an earlier start: take the configuration's interval and input.
        await client.get_schedule_handle(schedule_id).update(lambda _: ScheduleUpdate(schedule=schedule))
        log.info("schedule.updated", schedule_id=schedule_id, every=str(every))
        return
    log.info("schedule.created", schedule_id=schedule_id, every=str(every))


@dataclass(frozen=True)
class _ChannelJob:
    """One scheduled job per channel: its schedule is `<prefix>/<name>/<channel id>`, for the
    channels of `role` (every channel: None) whose `every` is set."""

    name: str
    workflow: str
    role: ConnectorRole | None
    every: Callable[[ChannelConfig], timedelta | None]
    job_input: Callable[[OrderloopConfig, ChannelConfig, str], BaseModel]


def _served(config: OrderloopConfig, channel: ChannelConfig) -> list[str]:
    return [loc.id for loc in config.locations if loc.fulfillment_channel == channel.id]


# In the order they are created (the test stacks wait for the reconciliation, made last).
_CHANNEL_JOBS = (
    _ChannelJob(
        "stock-snapshot",
        STOCK_SNAPSHOT_WORKFLOW,
        ConnectorRole.FULFILLMENT,
        lambda _: SNAPSHOT_EVERY,
        lambda _, channel, queue: SnapshotInput(channel_id=channel.id, task_queue=queue),
    ),
    _ChannelJob(
        "report-poll",
        REPORT_POLL_WORKFLOW,
        ConnectorRole.FULFILLMENT,
        lambda channel: channel.poll_reports_every,
        lambda _, channel, queue: CollectReportsInput(channel_id=channel.id, task_queue=queue),
    ),
    _ChannelJob(
        "order-poll",
        ORDER_POLL_WORKFLOW,
        ConnectorRole.SELLING,
        lambda channel: channel.poll_orders_every,
        lambda _, channel, queue: PollOrdersInput(channel_id=channel.id, task_queue=queue),
    ),
    # Return requests of selling channels; receipts of the returns expected at fulfillment ones.
    _ChannelJob(
        "return-poll",
        RETURN_POLL_WORKFLOW,
        None,
        lambda channel: channel.poll_returns_every,
        lambda config, channel, queue: PollReturnsInput(
            channel_id=channel.id, task_queue=queue, locations=_served(config, channel)
        ),
    ),
    _ChannelJob(
        "shipment-poll",
        SHIPMENT_POLL_WORKFLOW,
        ConnectorRole.FULFILLMENT,
        lambda channel: channel.poll_fulfillments_every,
        lambda _, channel, queue: PollShipmentsInput(channel_id=channel.id, task_queue=queue),
    ),
)


async def ensure_schedules(client: Client, config: OrderloopConfig, prefix: str) -> None:
    for job in _CHANNEL_JOBS:
        channels = config.channels if job.role is None else config.channels_with_role(job.role)
        for channel in channels:
            every = job.every(channel)
            if every is None:
                continue
            schedule_id = f"{prefix}/{job.name}/{channel.id}"
            action = ScheduleActionStartWorkflow(
                job.workflow,
                job.job_input(config, channel, channel_task_queue(prefix, channel.id)),
                id=schedule_id,
                task_queue=orders_task_queue(prefix),
            )
            await _ensure_schedule(client, schedule_id, action, every)
    schedule_id = f"{prefix}/inventory-reconciliation"
    action = ScheduleActionStartWorkflow(
        RECONCILIATION_WORKFLOW,
        ReconcileInput(task_queue=orders_task_queue(prefix)),
        id=schedule_id,
        task_queue=orders_task_queue(prefix),
    )
    await _ensure_schedule(client, schedule_id, action, RECONCILE_EVERY)
