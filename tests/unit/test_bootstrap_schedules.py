"""The schedules the worker makes at start (`workers.bootstrap.ensure_schedules`), from the
shipped orderloop.yaml: per channel the jobs its configuration asks for, each with its interval
and input, on the orders queue; the reconciliation last; an existing schedule updated to the
configuration instead of created twice."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, cast

from pydantic import BaseModel
from temporalio.client import Client, Schedule, ScheduleActionStartWorkflow, ScheduleAlreadyRunningError

from orderloop.config import load_config
from orderloop.contracts import channel_task_queue, orders_task_queue
from orderloop.contracts.scheduled_jobs import (
    RECONCILE_EVERY,
    SNAPSHOT_EVERY,
    CollectReportsInput,
    PollOrdersInput,
    PollReturnsInput,
    PollShipmentsInput,
    ReconcileInput,
    SnapshotInput,
)
from orderloop.model import ConnectorRole
from workers.bootstrap import ensure_schedules

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Handle:
    server: Server
    schedule_id: str

    async def update(self, updater: Any) -> None:
        self.server.updated.append(self.schedule_id)


@dataclass
class Server:
    existing: set[str] = field(default_factory=set)
    created: dict[str, Schedule] = field(default_factory=dict)
    updated: list[str] = field(default_factory=list)

    async def create_schedule(self, schedule_id: str, schedule: Schedule) -> None:
        if schedule_id in self.existing:
            raise ScheduleAlreadyRunningError()
        self.created[schedule_id] = schedule

    def get_schedule_handle(self, schedule_id: str) -> Handle:
        return Handle(self, schedule_id)


def every(schedule: Schedule) -> timedelta:
    [interval] = schedule.spec.intervals
    return interval.every


async def test_each_channel_gets_the_jobs_its_configuration_asks_for_and_the_reconciliation_comes_last() -> None:
    config = load_config(ROOT / "orderloop.yaml")
    server = Server()

    await ensure_schedules(cast(Client, server), config, "p")

    expected: dict[str, tuple[type, timedelta]] = {}
    for channel in config.channels:
        if channel.role is ConnectorRole.FULFILLMENT:
            expected[f"p/stock-snapshot/{channel.id}"] = (SnapshotInput, SNAPSHOT_EVERY)
            if channel.poll_reports_every:
                expected[f"p/report-poll/{channel.id}"] = (CollectReportsInput, channel.poll_reports_every)
            if channel.poll_fulfillments_every:
                expected[f"p/shipment-poll/{channel.id}"] = (PollShipmentsInput, channel.poll_fulfillments_every)
        if channel.role is ConnectorRole.SELLING and channel.poll_orders_every:
            expected[f"p/order-poll/{channel.id}"] = (PollOrdersInput, channel.poll_orders_every)
        if channel.poll_returns_every:
            expected[f"p/return-poll/{channel.id}"] = (PollReturnsInput, channel.poll_returns_every)
    expected["p/inventory-reconciliation"] = (ReconcileInput, RECONCILE_EVERY)

    assert set(server.created) == set(expected)
    assert list(server.created)[-1] == "p/inventory-reconciliation"
    for schedule_id, schedule in server.created.items():
        kind, interval = expected[schedule_id]
        [job_input] = cast(ScheduleActionStartWorkflow, schedule.action).args
        assert isinstance(job_input, kind), schedule_id
        assert every(schedule) == interval, schedule_id
        assert cast(ScheduleActionStartWorkflow, schedule.action).task_queue == orders_task_queue("p"), schedule_id
        if schedule_id != "p/inventory-reconciliation":
            channel_id = schedule_id.rsplit("/", 1)[1]
            dumped = cast(BaseModel, job_input).model_dump()
            assert dumped["channel_id"] == channel_id and dumped["task_queue"] == channel_task_queue("p", channel_id)
    # A fulfillment channel's return poll asks about the returns at the locations it serves.
    [shiphero] = [s for i, s in server.created.items() if i == "p/return-poll/shiphero"]
    served = [loc.id for loc in config.locations if loc.fulfillment_channel == "shiphero"]
    [returns_input] = cast(ScheduleActionStartWorkflow, shiphero.action).args
    assert served and cast(PollReturnsInput, returns_input).locations == served
    # The demo configuration has at least one of each kind.
    assert {i.split("/")[1] for i in server.created} == {
        "stock-snapshot",
        "report-poll",
        "shipment-poll",
        "order-poll",
        "return-poll",
        "inventory-reconciliation",
    }


async def test_a_schedule_made_at_an_earlier_start_is_updated_not_created_again() -> None:
    config = load_config(ROOT / "orderloop.yaml")
    server = Server(existing={"p/order-poll/shopify", "p/inventory-reconciliation"})

    await ensure_schedules(cast(Client, server), config, "p")

    assert server.updated == ["p/order-poll/shopify", "p/inventory-reconciliation"]
    assert "p/order-poll/shopify" not in server.created
