"""The restock watcher's workflow: runs the long-lived outbox follower (`activities/restock.py`)
and continues as new after each bounded run, so its history stays short; Temporal restarts the
activity from its last heartbeat if a worker dies."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from orderloop.contracts import Activities
    from orderloop.contracts.restock import RESTOCK_WATCHER_WORKFLOW, RestockWatchInput, RestockWatchProgress


@workflow.defn(name=RESTOCK_WATCHER_WORKFLOW)
class RestockWatcherWorkflow:
    @workflow.run
    async def run(self, inp: RestockWatchInput) -> None:
        progress = await workflow.execute_activity(
            Activities.WATCH_RESTOCK,
            inp,
            result_type=RestockWatchProgress,
            start_to_close_timeout=inp.run_for + timedelta(minutes=5),
            heartbeat_timeout=timedelta(seconds=10),
            retry_policy=RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30)),
        )
        workflow.continue_as_new(inp.model_copy(update={"cursor": progress.cursor}))
