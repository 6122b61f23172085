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
    async def run(self, order_id: str) -> None:
        opts: dict[str, Any] = {"start_to_close_timeout": timedelta(seconds=30)}
        for _ in range(2):  # ingest, allocate
            await workflow.execute_local_activity("bare.noop", order_id, **opts)
        await workflow.execute_activity("bare.send", order_id, **opts)  # shipping request
        await workflow.wait_condition(lambda: self.shipped)
        await workflow.execute_local_activity("bare.noop", order_id, **opts)  # commit
        await workflow.execute_activity("bare.noop", order_id, **opts)  # push tracking

    @workflow.signal
    def shipment(self) -> None:
        self.shipped = True
