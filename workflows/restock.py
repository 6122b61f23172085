"""The restock watcher's workflow: runs the long-lived outbox follower (`activities/restock.py`)
and continues as new after each bounded run, so its history stays short; Temporal restarts the
activity from its last heartbeat if a worker dies."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from orderloop.contracts import Activities
    from orderloop.contracts.restock import RESTOCK_WATCHER_WORKFLOW, RestockWatchInput, RestockWatchProgress

from workflows.drain import drain_then_continue


@workflow.defn(name=RESTOCK_WATCHER_WORKFLOW)
class RestockWatcherWorkflow:
    @workflow.run
    async def run(self, inp: RestockWatchInput) -> None:
        await drain_then_continue(Activities.WATCH_RESTOCK, inp, run_for=inp.run_for, progress=RestockWatchProgress)
