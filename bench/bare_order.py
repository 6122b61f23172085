"""The bare Temporal shape of an order, for the end-to-end benchmark: the same activities as
Orderloop's order workflow (two local, one shipping request, one signal, one local, one
tracking push), each doing nothing. Kept apart from the benchmark so the workflow sandbox
imports nothing but temporalio."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio import activity, workflow
from temporalio.common import SearchAttributeKey

# The names Orderloop registers (orderloop.contracts.SearchAttributes), redeclared so this
# module stays free of Orderloop imports.
STATUS = SearchAttributeKey.for_keyword("OrderStatus")
LOCATION = SearchAttributeKey.for_keyword("FulfillmentLocation")
SLA = timedelta(hours=48)


@activity.defn(name="bare.noop")
async def noop(_: str) -> str:
    return "ok"


@workflow.defn(name="BareOrder")
class BareOrder:
    def __init__(self) -> None:
        self.shipped = False

    @workflow.run
    async def run(self, order_id: str, activity_queue: str = "", commands: bool = False) -> None:
        """`activity_queue`: run the two remote activities on that task queue (as Orderloop runs
        connector calls on each channel's own queue) instead of the workflow's, where the worker
        gets them eagerly, with the workflow task's completion. `commands`: also issue the
        other commands an Orderloop order gives the server: its status upserted when allocated,
        sent and completed, and the ship-by SLA timer while it waits for the shipment."""
        opts: dict[str, Any] = {"start_to_close_timeout": timedelta(seconds=30)}
        remote = dict(opts, task_queue=activity_queue) if activity_queue else opts
        for _ in range(2):  # ingest, allocate
            await workflow.execute_local_activity("bare.noop", order_id, **opts)
        if commands:
            workflow.upsert_search_attributes([STATUS.value_set("allocated"), LOCATION.value_set("east")])
        await workflow.execute_activity("bare.send", order_id, **remote)  # shipping request
        if commands:
            workflow.upsert_search_attributes([STATUS.value_set("sent_to_fulfillment")])
            await workflow.wait_condition(lambda: self.shipped, timeout=SLA)
        else:
            await workflow.wait_condition(lambda: self.shipped)
        await workflow.execute_local_activity("bare.noop", order_id, **opts)  # commit
        await workflow.execute_activity("bare.noop", order_id, **remote)  # push tracking
        if commands:
            workflow.upsert_search_attributes([STATUS.value_set("completed")])

    @workflow.signal
    def shipment(self) -> None:
        self.shipped = True
