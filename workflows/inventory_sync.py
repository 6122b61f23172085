"""One workflow per selling channel keeps the channel's published stock equal to the ledger's
available-to-sell: a long-running, heartbeating activity drains the outbox and pushes changes.

If a worker dies, Temporal retries the activity after its heartbeat timeout, from the cursor
it last heartbeated (at-least-once: a repeated push re-sends the current quantity, harmless).
Every run is bounded; the workflow then continues as new, so its history stays short."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from orderloop.contracts import Activities
    from orderloop.contracts.inventory_sync import INVENTORY_SYNC_WORKFLOW, InventorySyncInput, InventorySyncProgress

from workflows.drain import drain_then_continue


@workflow.defn(name=INVENTORY_SYNC_WORKFLOW)
class InventorySyncWorkflow:
    @workflow.run
    async def run(self, inp: InventorySyncInput) -> None:
        await drain_then_continue(
            Activities.SYNC_CHANNEL_INVENTORY,
            inp,
            run_for=inp.run_for,
            progress=InventorySyncProgress,
            task_queue=inp.task_queue,
        )
