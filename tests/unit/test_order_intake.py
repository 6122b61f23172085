"""The inbound intake owns "seen": one ledger read before a delivery is handled and one write
after it was, the start-or-signal decision for order events, and nothing recorded when handling
fails (so the sender's retry is handled again). Temporal is a fake starter here."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from connectors.base import ChannelHold
from orderloop.contracts import OrderInput, order_workflow_id
from orderloop.ledger import HoldState, Ledger
from orderloop.order_intake import Intake, OrderEvent, Outcome

READS = ("inbound_seen", "accepted_order")
WRITES = ("record_delivery", "record_accepted_order", "record_channel_hold", "cancel_channel_hold")
CHANNEL = "shop"


class FakeTemporal:
    def __init__(self, started: bool = True) -> None:
        self.started = started
        self.starts: list[tuple[str, OrderInput]] = []

    async def start(self, workflow_id: str, inp: OrderInput) -> bool:
        self.starts.append((workflow_id, inp))
        return self.started


@pytest_asyncio.fixture
async def ledger(tmp_path: Path) -> AsyncIterator[Ledger]:
    opened = await Ledger.open(f"sqlite:///{tmp_path / 'ledger.db'}")
    yield opened
    await opened.close()


@pytest.fixture
def calls(ledger: Ledger, monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Counts of the ledger's dedup reads and writes, by kind ("read" / "write")."""
    counted: Counter[str] = Counter()
    for name, kind in [*((n, "read") for n in READS), *((n, "write") for n in WRITES)]:
        original = getattr(ledger, name)

        async def spy(*args: Any, _original: Any = original, _kind: str = kind, **kwargs: Any) -> Any:
            counted[_kind] += 1
            return await _original(*args, **kwargs)

        monkeypatch.setattr(ledger, name, spy)
    return counted


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


async def never_signalled(workflow_id: str) -> str:
    raise AssertionError(f"{workflow_id} must not be signalled")


async def test_a_new_order_starts_once_with_one_read_and_one_write(ledger: Ledger, calls: Counter[str]) -> None:
    temporal = FakeTemporal()
    intake = Intake(ledger, temporal.start)
    order, delivery = new_id("1001"), new_id("d")

    first = await intake.order_event(CHANNEL, OrderEvent.CREATED, delivery, order, {"id": 1}, never_signalled)

    assert (first.outcome, first.workflow_id) == (Outcome.STARTED, order_workflow_id(CHANNEL, order))
    assert calls == {"read": 1, "write": 1}
    [(workflow_id, inp)] = temporal.starts
    assert (workflow_id, inp.event_id, inp.raw_payload) == (first.workflow_id, delivery, {"id": 1})
    assert await ledger.accepted_order(CHANNEL, order) == first.workflow_id
    assert await ledger.delivery_seen(CHANNEL, delivery)


async def test_a_redelivery_is_a_duplicate_and_writes_nothing(ledger: Ledger, calls: Counter[str]) -> None:
    intake = Intake(ledger, FakeTemporal().start)
    order, delivery = new_id("1002"), new_id("d")
    await intake.order_event(CHANNEL, OrderEvent.CREATED, delivery, order, {}, never_signalled)
    calls.clear()

    again = await intake.order_event(CHANNEL, OrderEvent.CREATED, delivery, order, {}, never_signalled)

    assert again.outcome is Outcome.DUPLICATE_DELIVERY
    assert calls == {"read": 1}


async def test_an_accepted_order_under_a_new_delivery_starts_nothing(ledger: Ledger, calls: Counter[str]) -> None:
    temporal = FakeTemporal()
    intake = Intake(ledger, temporal.start)
    order = new_id("1003")
    await intake.order_event(CHANNEL, OrderEvent.CREATED, new_id("d"), order, {}, never_signalled)
    calls.clear()
    other = new_id("d")

    again = await intake.order_event(CHANNEL, OrderEvent.CREATED, other, order, {}, never_signalled)

    assert again.outcome is Outcome.ALREADY_ACCEPTED
    assert len(temporal.starts) == 1
    assert calls == {"read": 1, "write": 1}
    assert await ledger.delivery_seen(CHANNEL, other)


async def test_an_edit_of_an_accepted_order_is_signalled_and_recorded(ledger: Ledger, calls: Counter[str]) -> None:
    intake = Intake(ledger, FakeTemporal().start)
    order = new_id("1004")
    await intake.order_event(CHANNEL, OrderEvent.CREATED, new_id("d"), order, {}, never_signalled)
    calls.clear()
    signalled: list[str] = []

    async def signal(workflow_id: str) -> str:
        signalled.append(workflow_id)
        return "told"

    edit = new_id("d")
    received = await intake.order_event(CHANNEL, OrderEvent.UPDATED, edit, order, {}, signal)

    assert (received.outcome, received.answer) == (Outcome.SIGNALLED, "told")
    assert signalled == [order_workflow_id(CHANNEL, order)]
    assert calls == {"read": 1, "write": 1}
    assert await ledger.delivery_seen(CHANNEL, edit)


async def test_a_failed_signal_records_nothing_so_the_retry_is_handled(ledger: Ledger) -> None:
    intake = Intake(ledger, FakeTemporal().start)
    order = new_id("1005")
    await intake.order_event(CHANNEL, OrderEvent.CREATED, new_id("d"), order, {}, never_signalled)

    async def unreachable(workflow_id: str) -> str:
        raise ConnectionError("Temporal is away")

    cancel = new_id("d")
    with pytest.raises(ConnectionError):
        await intake.order_event(CHANNEL, OrderEvent.CANCELLED, cancel, order, {}, unreachable)
    assert not await ledger.delivery_seen(CHANNEL, cancel)


async def test_an_edit_of_an_order_never_received_starts_it(ledger: Ledger) -> None:
    temporal = FakeTemporal()
    received = await Intake(ledger, temporal.start).order_event(
        CHANNEL, OrderEvent.UPDATED, new_id("d"), new_id("1006"), {}, never_signalled
    )
    assert received.outcome is Outcome.STARTED
    assert len(temporal.starts) == 1


async def test_a_cancel_of_an_order_never_received_is_recorded_and_starts_nothing(
    ledger: Ledger, calls: Counter[str]
) -> None:
    temporal = FakeTemporal()
    delivery = new_id("d")
    received = await Intake(ledger, temporal.start).order_event(
        CHANNEL, OrderEvent.CANCELLED, delivery, new_id("1007"), {}, never_signalled
    )
    assert received.outcome is Outcome.CANCEL_UNKNOWN
    assert temporal.starts == []
    assert calls == {"read": 1, "write": 1}


async def test_an_order_temporal_already_had_is_accepted_but_not_started(ledger: Ledger) -> None:
    order = new_id("1008")
    received = await Intake(ledger, FakeTemporal(started=False).start).order_event(
        CHANNEL, OrderEvent.CREATED, None, order, {}, never_signalled
    )
    assert received.outcome is Outcome.ALREADY_ACCEPTED
    assert await ledger.accepted_order(CHANNEL, order) == received.workflow_id


async def test_an_event_without_an_order_id_does_nothing(ledger: Ledger, calls: Counter[str]) -> None:
    received = await Intake(ledger, FakeTemporal().start).order_event(
        CHANNEL, OrderEvent.CREATED, new_id("d"), None, {}, never_signalled
    )
    assert received.outcome is Outcome.NO_ORDER_ID
    assert calls == {"read": 1}


async def test_a_delivery_is_handled_once_and_one_without_an_id_every_time(ledger: Ledger, calls: Counter[str]) -> None:
    intake = Intake(ledger, FakeTemporal().start)
    handled: list[int] = []

    async def handle() -> int:
        handled.append(1)
        return len(handled)

    delivery = new_id("d")
    assert await intake.delivery(CHANNEL, delivery, handle) == 1
    assert calls == {"read": 1, "write": 1}
    assert await intake.delivery(CHANNEL, delivery, handle) is None
    calls.clear()
    assert await intake.delivery(CHANNEL, None, handle) == 2
    assert await intake.delivery(CHANNEL, None, handle) == 3
    assert calls == {}


async def test_a_polled_order_is_started_unless_it_was_accepted(ledger: Ledger) -> None:
    temporal = FakeTemporal()
    intake = Intake(ledger, temporal.start)
    order = new_id("1009")
    assert (await intake.polled_order(CHANNEL, order, {}))[1] is True
    assert (await intake.polled_order(CHANNEL, order, {}))[1] is False
    assert len(temporal.starts) == 1


INCOMPLETE = ChannelHold(reason="the checkout was not completed", status="Incomplete (status 0)")


async def test_a_held_order_starts_nothing_and_its_hold_is_recorded_with_the_delivery_in_one_write(
    ledger: Ledger, calls: Counter[str]
) -> None:
    temporal = FakeTemporal()
    intake = Intake(ledger, temporal.start)
    order, delivery = new_id("1010"), new_id("d")

    received = await intake.held_order(CHANNEL, delivery, order, INCOMPLETE)

    assert (received.outcome, received.workflow_id) == (Outcome.HELD, order_workflow_id(CHANNEL, order))
    assert calls == {"read": 1, "write": 1}
    assert temporal.starts == []
    hold = await ledger.channel_hold(CHANNEL, order)
    assert hold is not None and (hold.reason, hold.channel_status, hold.state) == (
        INCOMPLETE.reason,
        INCOMPLETE.status,
        HoldState.HELD,
    )
    calls.clear()
    assert (await intake.held_order(CHANNEL, delivery, order, INCOMPLETE)).outcome is Outcome.DUPLICATE_DELIVERY
    assert calls == {"read": 1}
    # The poll's sightings carry no delivery id: each one counts.
    assert (await intake.held_order(CHANNEL, None, order, INCOMPLETE)).outcome is Outcome.HELD
    assert (await ledger.channel_hold(CHANNEL, order)).times_seen == 2  # type: ignore[union-attr]


async def test_a_held_order_is_released_when_the_intake_starts_it(ledger: Ledger) -> None:
    intake = Intake(ledger, FakeTemporal().start)
    order = new_id("1011")
    await intake.held_order(CHANNEL, new_id("d"), order, INCOMPLETE)

    started = await intake.order_event(CHANNEL, OrderEvent.UPDATED, new_id("d"), order, {}, never_signalled)

    hold = await ledger.channel_hold(CHANNEL, order)
    assert started.outcome is Outcome.STARTED
    assert hold is not None and hold.state is HoldState.RELEASED and hold.released_at is not None


async def test_a_polled_order_started_releases_its_hold(ledger: Ledger) -> None:
    intake = Intake(ledger, FakeTemporal().start)
    order = new_id("1012")
    await intake.held_order(CHANNEL, None, order, INCOMPLETE)

    await intake.polled_order(CHANNEL, order, {})

    assert (await ledger.channel_hold(CHANNEL, order)).state is HoldState.RELEASED  # type: ignore[union-attr]


async def test_the_channels_cancel_of_a_held_order_cancels_its_hold_in_the_cancels_write(
    ledger: Ledger, calls: Counter[str]
) -> None:
    temporal = FakeTemporal()
    intake = Intake(ledger, temporal.start)
    order, cancel = new_id("1013"), new_id("d")
    await intake.held_order(CHANNEL, new_id("d"), order, INCOMPLETE)
    calls.clear()

    received = await intake.order_event(CHANNEL, OrderEvent.CANCELLED, cancel, order, {}, never_signalled)

    assert received.outcome is Outcome.CANCEL_UNKNOWN and temporal.starts == []
    assert calls == {"read": 1, "write": 1}
    assert await ledger.delivery_seen(CHANNEL, cancel)
    assert (await ledger.channel_hold(CHANNEL, order)).state is HoldState.CANCELLED  # type: ignore[union-attr]


async def test_a_hold_reported_of_an_accepted_order_records_the_delivery_only(
    ledger: Ledger, calls: Counter[str]
) -> None:
    intake = Intake(ledger, FakeTemporal().start)
    order, delivery = new_id("1014"), new_id("d")
    await intake.order_event(CHANNEL, OrderEvent.CREATED, new_id("d"), order, {}, never_signalled)
    calls.clear()

    received = await intake.held_order(CHANNEL, delivery, order, INCOMPLETE)

    assert received.outcome is Outcome.ALREADY_ACCEPTED
    assert calls == {"read": 1, "write": 1}
    assert await ledger.delivery_seen(CHANNEL, delivery)
    assert await ledger.channel_hold(CHANNEL, order) is None
