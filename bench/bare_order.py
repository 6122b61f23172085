"""The bare Temporal shape of an order, for the end-to-end benchmark: the same activities as
Orderloop's order workflow (two local, one shipping request, one signal, one local, one
tracking push), each doing nothing. Kept apart from the benchmark so the workflow sandbox
imports nothing but temporalio."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio import activity, workflow


@activity.defn(name="bare.noop")
async def noop(_: str) -> str:
    return "ok"


@workflow.defn(name="BareOrder")
class BareOrder:
    def __init__(self) -> None:
        self.shipped = False

    @workflow.run
    async def run(self, order_id: str, activity_queue: str = "") -> None:
        """`activity_queue`: run the two remote activities on that task queue (as Orderloop runs
        connector calls on each channel's own queue) instead of the workflow's, where the worker
        gets them eagerly, with the workflow task's completion."""
        opts: dict[str, Any] = {"start_to_close_timeout": timedelta(seconds=30)}
        remote = dict(opts, task_queue=activity_queue) if activity_queue else opts
        for _ in range(2):  # ingest, allocate
            await workflow.execute_local_activity("bare.noop", order_id, **opts)
        await workflow.execute_activity("bare.send", order_id, **remote)  # shipping request
        await workflow.wait_condition(lambda: self.shipped)
        await workflow.execute_local_activity("bare.noop", order_id, **opts)  # commit
        await workflow.execute_activity("bare.noop", order_id, **remote)  # push tracking

    @workflow.signal
    def shipment(self) -> None:
        self.shipped = True
