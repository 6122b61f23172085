"""The restock watcher's contract: one workflow per deployment, its name and id, its input
(where it stands in the outbox, handed on at each continue-as-new), its progress, and the
outbox consumer name it saves its cursor under."""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel

RESTOCK_WATCHER_WORKFLOW = "RestockWatcher"
RESTOCK_CONSUMER = "restock-watcher"


def restock_watcher_workflow_id(prefix: str) -> str:
    return f"{prefix}/restock-watcher"


class RestockWatchInput(BaseModel):
    # -1: start from the newest outbox row (what happened before needs no wake-up).
    cursor: int = -1
    run_for: timedelta = timedelta(minutes=30)
    poll_interval: timedelta = timedelta(seconds=1)
    # At most one look at the availability per this window: a burst of changes is one batch.
    # Longer than the inventory sync's: a wake-up spares a waiting order its retry timer (the
    # channel's out_of_stock_retry, minutes), so a second more costs it nothing, while every
    # reservation, on every order, is a change the watcher reads (a watcher started with an
    # earlier default keeps it across its runs, since each run hands its input on).
    coalesce: timedelta = timedelta(seconds=1)
    # At most this many waiting orders are signalled per batch of changes.
    max_wakeups: int = 1000


class RestockWatchProgress(BaseModel):
    cursor: int
    woken: int = 0
