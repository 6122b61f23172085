"""Long-lived work the worker makes sure exists at start: one inventory sync workflow per
selling channel, the restock watcher, and the schedules of the stock snapshots, the
reconciliation and each selling channel's order poll."""

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
    ScheduleUpdate,
)
from temporalio.common import WorkflowIDConflictPolicy

from orderloop.config import OrderloopConfig
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
    for channel in config.channels_with_role(ConnectorRole.FULFILLMENT):
        if channel.poll_reports_every is None:
            continue
        schedule_id = f"{prefix}/report-poll/{channel.id}"
        action = ScheduleActionStartWorkflow(
            REPORT_POLL_WORKFLOW,
            CollectReportsInput(channel_id=channel.id, task_queue=channel_task_queue(prefix, channel.id)),
            id=schedule_id,
            task_queue=orders_task_queue(prefix),
        )
        await _ensure_schedule(client, schedule_id, action, channel.poll_reports_every)
    for channel in config.channels_with_role(ConnectorRole.SELLING):
        if channel.poll_orders_every is None:
            continue
        schedule_id = f"{prefix}/order-poll/{channel.id}"
        action = ScheduleActionStartWorkflow(
            ORDER_POLL_WORKFLOW,
            PollOrdersInput(channel_id=channel.id, task_queue=channel_task_queue(prefix, channel.id)),
            id=schedule_id,
            task_queue=orders_task_queue(prefix),
        )
        await _ensure_schedule(client, schedule_id, action, channel.poll_orders_every)
    # Return requests of selling channels; receipts of the returns expected at fulfillment ones.
    for channel in config.channels:
        if channel.poll_returns_every is None:
            continue
        served = [loc.id for loc in config.locations if loc.fulfillment_channel == channel.id]
        schedule_id = f"{prefix}/return-poll/{channel.id}"
        action = ScheduleActionStartWorkflow(
            RETURN_POLL_WORKFLOW,
            PollReturnsInput(
                channel_id=channel.id, task_queue=channel_task_queue(prefix, channel.id), locations=served
            ),
            id=schedule_id,
            task_queue=orders_task_queue(prefix),
        )
        await _ensure_schedule(client, schedule_id, action, channel.poll_returns_every)
    for channel in config.channels_with_role(ConnectorRole.FULFILLMENT):
        if channel.poll_fulfillments_every is None:
            continue
        schedule_id = f"{prefix}/shipment-poll/{channel.id}"
        action = ScheduleActionStartWorkflow(
            SHIPMENT_POLL_WORKFLOW,
            PollShipmentsInput(channel_id=channel.id, task_queue=channel_task_queue(prefix, channel.id)),
            id=schedule_id,
            task_queue=orders_task_queue(prefix),
        )
        await _ensure_schedule(client, schedule_id, action, channel.poll_fulfillments_every)
    schedule_id = f"{prefix}/inventory-reconciliation"
    action = ScheduleActionStartWorkflow(
        RECONCILIATION_WORKFLOW,
        ReconcileInput(task_queue=orders_task_queue(prefix)),
        id=schedule_id,
        task_queue=orders_task_queue(prefix),
    )
    await _ensure_schedule(client, schedule_id, action, RECONCILE_EVERY)
