"""Long-lived work the worker makes sure exists at start: one inventory sync workflow per
selling channel, the restock watcher, and the schedules of the stock snapshots and the
reconciliation."""

from __future__ import annotations

from datetime import timedelta

import structlog
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
)
from temporalio.common import WorkflowIDConflictPolicy

from orderloop.activity_models import InventorySyncInput, ReconcileInput, RestockWatchInput, SnapshotInput
from orderloop.config import OrderloopConfig
from orderloop.contracts import channel_task_queue, orders_task_queue
from orderloop.model import ConnectorRole
from workflows.inventory_jobs import RECONCILIATION_WORKFLOW, STOCK_SNAPSHOT_WORKFLOW
from workflows.inventory_sync import INVENTORY_SYNC_WORKFLOW, inventory_sync_workflow_id
from workflows.restock import RESTOCK_WATCHER_WORKFLOW, restock_watcher_workflow_id

log = structlog.get_logger("orderloop.worker")

SNAPSHOT_EVERY = timedelta(minutes=5)
RECONCILE_EVERY = timedelta(minutes=15)


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
        return
    log.info("schedule.created", schedule_id=schedule_id, every=str(every))


async def ensure_schedules(client: Client, config: OrderloopConfig, prefix: str) -> None:
    for channel in config.channels_with_role(ConnectorRole.FULFILLMENT):
        schedule_id = f"{prefix}/stock-snapshot/{channel.id}"
        action = ScheduleActionStartWorkflow(
            STOCK_SNAPSHOT_WORKFLOW,
            SnapshotInput(channel_id=channel.id, task_queue=channel_task_queue(prefix, channel.id)),
            id=schedule_id,
            task_queue=orders_task_queue(prefix),
        )
        await _ensure_schedule(client, schedule_id, action, SNAPSHOT_EVERY)
    schedule_id = f"{prefix}/inventory-reconciliation"
    action = ScheduleActionStartWorkflow(
        RECONCILIATION_WORKFLOW,
        ReconcileInput(task_queue=orders_task_queue(prefix)),
        id=schedule_id,
        task_queue=orders_task_queue(prefix),
    )
    await _ensure_schedule(client, schedule_id, action, RECONCILE_EVERY)
