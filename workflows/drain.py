"""What the drain-then-continue-as-new workflows share (the inventory sync, the restock
watcher): one bounded run of a long-lived, heartbeating activity, then continue as new from
the cursor it reached, so the workflow's history stays short. If a worker dies, Temporal
retries the activity after its heartbeat timeout, from the cursor it last heartbeated."""

from __future__ import annotations

from datetime import timedelta
from typing import Protocol, TypeVar

from pydantic import BaseModel
from temporalio import workflow
from temporalio.common import RetryPolicy

_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30))
_HEARTBEAT = timedelta(seconds=10)
# Beyond the run's own length: time to hand back its progress.
_RUN_GRACE = timedelta(minutes=5)


class _Progress(Protocol):
    cursor: int


P = TypeVar("P", bound=_Progress)


async def drain_then_continue(
    activity: str, inp: BaseModel, *, run_for: timedelta, progress: type[P], task_queue: str | None = None
) -> None:
    """Run `activity` over `inp` for about `run_for` (on `task_queue`, by default the
    workflow's own), then continue as new with `inp` moved on to the cursor the run reached."""
    reached = await workflow.execute_activity(
        activity,
        inp,
        result_type=progress,
        task_queue=task_queue,
        start_to_close_timeout=run_for + _RUN_GRACE,
        heartbeat_timeout=_HEARTBEAT,
        retry_policy=_RETRY,
    )
    workflow.continue_as_new(inp.model_copy(update={"cursor": reached.cursor}))
