"""The bare Temporal shape of an order, for the end-to-end benchmark: the five activities of an
order (ingest, allocate, shipping request, commit, tracking push) and one signal, each activity
doing nothing. As the issue and ARCHITECTURE.md define it, all five are plain activities; with
`local_steps` the three internal steps run as local activities instead, as Orderloop runs them
(the stricter comparison: Orderloop's own local-activity choice is then no longer measured).
Kept apart from the benchmark so the workflow sandbox imports nothing but temporalio."""

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
    async def run(
        self, order_id: str, activity_queue: str = "", commands: bool = False, local_steps: bool = True
    ) -> None:
        """`activity_queue`: run the two remote activities on that task queue (as Orderloop runs
        connector calls on each channel's own queue) instead of the workflow's, where the worker
        gets them eagerly, with the workflow task's completion. `commands`: also issue the
        other commands an Orderloop order gives the server: its status upserted when allocated,
        sent and completed, and the ship-by SLA timer while it waits for the shipment.
        `local_steps`: ingest, allocate and commit as local activities (else plain ones)."""
        opts: dict[str, Any] = {"start_to_close_timeout": timedelta(seconds=30)}
        remote = dict(opts, task_queue=activity_queue) if activity_queue else opts

        async def step() -> None:  # an internal step: ingest, allocate or commit
            if local_steps:
                await workflow.execute_local_activity("bare.noop", order_id, **opts)
            else:
                await workflow.execute_activity("bare.noop", order_id, **opts)

        for _ in range(2):  # ingest, allocate
            await step()
        if commands:
            workflow.upsert_search_attributes([STATUS.value_set("allocated"), LOCATION.value_set("east")])
        await workflow.execute_activity("bare.send", order_id, **remote)  # shipping request
        if commands:
            workflow.upsert_search_attributes([STATUS.value_set("sent_to_fulfillment")])
            await workflow.wait_condition(lambda: self.shipped, timeout=SLA)
        else:
            await workflow.wait_condition(lambda: self.shipped)
        await step()  # commit
        await workflow.execute_activity("bare.noop", order_id, **remote)  # push tracking
        if commands:
            workflow.upsert_search_attributes([STATUS.value_set("completed")])

    @workflow.signal
    def shipment(self) -> None:
        self.shipped = True
