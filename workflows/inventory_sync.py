"""One workflow per selling channel keeps the channel's published stock equal to the ledger's
available-to-sell: a long-running, heartbeating activity drains the outbox and pushes changes.

If a worker dies, Temporal retries the activity after its heartbeat timeout, from the cursor
it last heartbeated (at-least-once: a repeated push re-sends the current quantity, harmless).
Every run is bounded; the workflow then continues as new, so its history stays short."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from orderloop.contracts import Activities
    from orderloop.contracts.inventory_sync import INVENTORY_SYNC_WORKFLOW, InventorySyncInput, InventorySyncProgress


@workflow.defn(name=INVENTORY_SYNC_WORKFLOW)
class InventorySyncWorkflow:
    @workflow.run
    async def run(self, inp: InventorySyncInput) -> None:
        progress = await workflow.execute_activity(
            Activities.SYNC_CHANNEL_INVENTORY,
            inp,
            result_type=InventorySyncProgress,
            task_queue=inp.task_queue,
            start_to_close_timeout=inp.run_for + timedelta(minutes=5),
            heartbeat_timeout=timedelta(seconds=10),
            retry_policy=RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30)),
        )
        workflow.continue_as_new(inp.model_copy(update={"cursor": progress.cursor}))
