"""The inventory sync activity against a real ledger and a recording selling connector."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities import inventory_sync
from activities.inventory_sync import InventorySync
from connectors.base import InboundEvent, RetryableError, SellingConnector
from orderloop.config import OrderloopConfig, parse_config
from orderloop.contracts.inventory_sync import InventorySyncInput
from orderloop.ledger import Cause, CauseKind, Ledger, OperationKind, ReservationLine, RolloutStage
from orderloop.model import Order, Shipment

ROOT = Path(__file__).resolve().parents[2]
CAUSE = Cause(kind=CauseKind.OPERATOR, ref="tests")


class RecordingChannel(SellingConnector):
    def __init__(self, config: OrderloopConfig, channel_id: str) -> None:
        super().__init__(config.channel(channel_id))
        self.pushes: list[dict[str, int]] = []
        self.pushed = asyncio.Event()

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> InboundEvent:
        raise NotImplementedError

    def map_order(self, raw: Mapping[str, Any], *, order_id: str, tenant_id: str, received_at: datetime) -> Order:
        raise NotImplementedError

    async def push_shipment(self, order: Order, shipment: Shipment) -> str | None:
        raise NotImplementedError

    async def push_inventory(self, quantities: Mapping[str, int]) -> None:
        self.pushes.append(dict(quantities))
        self.pushed.set()


def config_with(skus: list[str] | None, buffer: int = 0) -> OrderloopConfig:
    text = (ROOT / "orderloop.yaml").read_text()
    rules = "    inventory: {locations: [east, west]}\n"
    assert rules in text, "the storefront's inventory rules moved in orderloop.yaml"
    extra = f"    inventory: {{locations: [east, west], buffer: {buffer}}}\n"
    if skus is not None:
        extra += f"    skus: [{', '.join(skus)}]\n"
    return parse_config(text.replace(rules, extra, 1))


@pytest_asyncio.fixture
async def ledger(tmp_path: Path) -> AsyncIterator[Ledger]:
    opened = await Ledger.open(f"sqlite:///{tmp_path / 'ledger.db'}")
    yield opened
    await opened.close()


def sync_input(cursor: int = -1, run_for: float = 0.6) -> InventorySyncInput:
    return InventorySyncInput(
        channel_id="storefront",
        task_queue="t",
        cursor=cursor,
        run_for=timedelta(seconds=run_for),
        poll_interval=timedelta(milliseconds=20),
    )


async def test_first_run_publishes_everything_then_follows_the_outbox(ledger: Ledger) -> None:
    config = config_with(None, buffer=1)
    channel = RecordingChannel(config, "storefront")
    await ledger.receive("TEE", "east", 10, CAUSE)
    await ledger.receive("MUG", "west", 4, CAUSE)
    activity = InventorySync(config, ledger, {"storefront": channel})
    heartbeats: list[Any] = []
    env = ActivityEnvironment()
    env.on_heartbeat = lambda *details: heartbeats.append(details[0])

    async def sell_one_tee() -> None:
        await channel.pushed.wait()  # after the full sync
        await ledger.reserve(
            "order-1", [ReservationLine(line_id="1", sku="TEE", location_id="east", quantity=3)], CAUSE
        )

    progress, _ = await asyncio.gather(
        env.run(activity.sync_channel_inventory, sync_input(run_for=1.5)), sell_one_tee()
    )
    assert channel.pushes[0] == {"TEE": 9, "MUG": 3}
    assert channel.pushes[-1] == {"TEE": 6}
    assert progress.cursor == await ledger.outbox_head() and heartbeats[-1] == progress.cursor
    assert await ledger.published("storefront") == {"TEE": 6, "MUG": 3}


async def test_sku_not_rolled_out_publishes_nothing(ledger: Ledger) -> None:
    config = config_with(["TEE"])
    channel = RecordingChannel(config, "storefront")
    await ledger.receive("TEE", "east", 2, CAUSE)
    await ledger.receive("SECRET", "east", 2, CAUSE)
    activity = InventorySync(config, ledger, {"storefront": channel})
    await ActivityEnvironment().run(activity.sync_channel_inventory, sync_input(run_for=0.1))
    assert channel.pushes == [{"TEE": 2}]


async def test_rollout_changes_apply_while_the_sync_runs_and_a_withdrawn_sku_goes_to_zero(ledger: Ledger) -> None:
    """Expanding publishes the added SKU through the outbox without a stock change; narrowing
    pushes 0 for a SKU the channel was selling, so it cannot oversell what it no longer gets."""
    config = config_with(None)
    channel = RecordingChannel(config, "storefront")
    await ledger.receive("TEE", "east", 2, CAUSE)
    await ledger.receive("MUG", "east", 5, CAUSE)
    activity = InventorySync(config, ledger, {"storefront": channel})
    await ActivityEnvironment().run(activity.sync_channel_inventory, sync_input(run_for=0.1))
    assert channel.pushes == [{"MUG": 5, "TEE": 2}]
    cursor = await ledger.outbox_head()
    await ledger.change_channel_rollout("storefront", RolloutStage.LIMITED, ["TEE"], "ada", "plan", None)
    await ActivityEnvironment().run(activity.sync_channel_inventory, sync_input(cursor=cursor, run_for=0.2))
    assert channel.pushes[-1] == {"MUG": 0, "TEE": 2}
    assert await ledger.published("storefront") == {"MUG": 0, "TEE": 2}
    cursor = await ledger.outbox_head()
    await ledger.change_channel_rollout("storefront", RolloutStage.FULL, [], "ada", "expand", None)
    await ledger.change_channel_rollout("storefront", RolloutStage.LIMITED, ["TEE", "MUG"], "ada", "plan", None)
    await ActivityEnvironment().run(activity.sync_channel_inventory, sync_input(cursor=cursor, run_for=0.2))
    assert channel.pushes[-1] == {"MUG": 5}


async def test_a_retried_run_resumes_from_its_last_heartbeat(ledger: Ledger) -> None:
    config = config_with(None)
    channel = RecordingChannel(config, "storefront")
    await ledger.receive("TEE", "east", 2, CAUSE)
    resume_at = await ledger.outbox_head()
    await ledger.receive("MUG", "east", 5, CAUSE)
    activity = InventorySync(config, ledger, {"storefront": channel})
    env = ActivityEnvironment()
    env.info = dataclasses.replace(env.info, heartbeat_details=[resume_at])
    await env.run(activity.sync_channel_inventory, sync_input(cursor=-1, run_for=0.1))
    # The heartbeat cursor wins over the input's "full sync": only what came after it is pushed.
    assert channel.pushes == [{"MUG": 5}]


async def test_a_burst_of_sales_goes_out_as_one_push_with_the_newest_quantities(ledger: Ledger) -> None:
    config = config_with(None)
    channel = RecordingChannel(config, "storefront")
    await ledger.receive("TEE", "east", 10, CAUSE)
    await ledger.receive("MUG", "east", 10, CAUSE)
    activity = InventorySync(config, ledger, {"storefront": channel})
    # A window wide enough for six sales on a loaded machine.
    inp = sync_input(run_for=3.0).model_copy(update={"coalesce": timedelta(seconds=1.5)})

    async def burst() -> None:
        await channel.pushed.wait()  # after the first full push, inside its coalescing window
        for n in range(1, 7):
            sku = "TEE" if n % 2 else "MUG"
            await ledger.reserve(
                f"order-{n}", [ReservationLine(line_id="1", sku=sku, location_id="east", quantity=1)], CAUSE
            )

    await asyncio.gather(ActivityEnvironment().run(activity.sync_channel_inventory, inp), burst())
    # The full sync, then the six sales together: each SKU once, at what is left after all six.
    assert channel.pushes == [{"TEE": 10, "MUG": 10}, {"TEE": 7, "MUG": 7}]


def paced(config: OrderloopConfig, every: timedelta) -> OrderloopConfig:
    channel = config.channel("storefront").model_copy(update={"inventory_push_every": every})
    return config.model_copy(update={"channels": [channel if c.id == "storefront" else c for c in config.channels]})


async def test_a_paced_channel_gets_no_second_push_within_its_cadence_and_keeps_it_across_runs(
    ledger: Ledger,
) -> None:
    config = paced(config_with(None), timedelta(hours=1))
    channel = RecordingChannel(config, "storefront")
    await ledger.receive("TEE", "east", 10, CAUSE)
    activity = InventorySync(config, ledger, {"storefront": channel})
    heartbeats: list[Any] = []
    env = ActivityEnvironment()
    env.on_heartbeat = lambda *details: heartbeats.append(details[0])

    async def sell_one_tee() -> None:
        await channel.pushed.wait()
        await ledger.reserve(
            "order-1", [ReservationLine(line_id="1", sku="TEE", location_id="east", quantity=3)], CAUSE
        )

    progress, _ = await asyncio.gather(
        env.run(activity.sync_channel_inventory, sync_input(run_for=2.5)), sell_one_tee()
    )
    # The full sync went out; the sale waits for the next push an hour later, the run meanwhile
    # heartbeating where it stands.
    assert channel.pushes == [{"TEE": 10}]
    assert heartbeats and heartbeats[-1] == progress.cursor < await ledger.outbox_head()

    # The next run (the workflow continued as new) keeps the pace set by the last push.
    await ActivityEnvironment().run(activity.sync_channel_inventory, sync_input(cursor=progress.cursor, run_for=0.3))
    assert channel.pushes == [{"TEE": 10}]

    # Without the cadence the same run pushes the sale at once.
    unpaced = InventorySync(config_with(None), ledger, {"storefront": channel})
    await ActivityEnvironment().run(unpaced.sync_channel_inventory, sync_input(cursor=progress.cursor, run_for=0.3))
    assert channel.pushes == [{"TEE": 10}, {"TEE": 7}]


async def test_a_paced_channel_last_pushed_longer_ago_than_its_cadence_is_pushed_at_once(
    ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = paced(config_with(None), timedelta(hours=1))
    channel = RecordingChannel(config, "storefront")
    await ledger.receive("TEE", "east", 10, CAUSE)
    await ledger.record_published("storefront", {"TEE": 10})
    cursor = await ledger.outbox_head()
    await ledger.reserve("order-1", [ReservationLine(line_id="1", sku="TEE", location_id="east", quantity=3)], CAUSE)
    activity = InventorySync(config, ledger, {"storefront": channel})
    assert await ledger.last_pushed_at("amazon") is None

    await ActivityEnvironment().run(activity.sync_channel_inventory, sync_input(cursor=cursor, run_for=0.3))
    assert channel.pushes == []  # pushed a moment ago: the sale waits for the hour

    pushed_at = await ledger.last_pushed_at("storefront")
    assert pushed_at is not None
    monkeypatch.setattr(inventory_sync, "utc_now", lambda: pushed_at + timedelta(hours=2))
    await ActivityEnvironment().run(activity.sync_channel_inventory, sync_input(cursor=cursor, run_for=0.3))
    assert channel.pushes == [{"TEE": 7}]


class FailingChannel(RecordingChannel):
    """The channel's API is down: every push fails as retryable."""

    async def push_inventory(self, quantities: Mapping[str, int]) -> None:
        raise RetryableError("storefront answered 503")


async def test_each_push_is_in_the_operations_record_the_failed_ones_too(ledger: Ledger) -> None:
    config = config_with(None)
    await ledger.receive("TEE", "east", 5, CAUSE)
    down = InventorySync(config, ledger, {"storefront": FailingChannel(config, "storefront")})
    with pytest.raises(ApplicationError, match="503"):
        await ActivityEnvironment().run(down.sync_channel_inventory, sync_input(run_for=0.1))
    channel = RecordingChannel(config, "storefront")
    up = InventorySync(config, ledger, {"storefront": channel})

    async def sell_one_tee() -> None:
        await channel.pushed.wait()  # after the full sync
        await ledger.reserve(
            "order-1", [ReservationLine(line_id="1", sku="TEE", location_id="east", quantity=1)], CAUSE
        )

    await asyncio.gather(ActivityEnvironment().run(up.sync_channel_inventory, sync_input(run_for=1.5)), sell_one_tee())
    rows = await ledger.operations_between(
        datetime.now(UTC) - timedelta(hours=1), kinds=[OperationKind.INVENTORY_PUSHED]
    )
    assert [r.detail["ok"] for r in rows] == [False] + [True] * len(channel.pushes)
    assert all(r.channel_id == "storefront" and r.order_id is None for r in rows)
    # The full sync carries no stock change; the outbox-driven push after the sale has its age.
    assert rows[1].detail["latency"] is None and rows[-1].detail["latency"] is not None
    assert rows[-1].detail["skus"] == 1
