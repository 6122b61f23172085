"""Exception playbooks on the order workflow (orders of revision 4): an escalation ladder fires
each level at its time and stops at resolution, which tells every sink told so far; an
auto-resolve rule acts when its time comes (and the channel is told of its cancel); a review
requirement holds an order a rule would have resolved; a configuration change reaches an order
from its next exception on and leaves the past as it was."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment

from orderloop.activity_models import AllocateOutcome, ChannelCancelInput, Notification, NotificationLevel
from orderloop.contracts import (
    Activities,
    ChannelEdit,
    FulfillmentStatus,
    FulfillmentUpdate,
    RetryRequest,
    Signals,
    Updates,
)
from orderloop.model import ExceptionKind, OrderStatus
from orderloop.playbooks import (
    AutoResolveRule,
    EscalationLevel,
    NoticeTarget,
    OrderMatch,
    Playbook,
    RuleAction,
    RuleWhen,
)
from tests.workflows.fakes import FakeWorld, onx_order
from tests.workflows.helpers import in_exception, sent_request, until_notified, update, view_of, wait_for

pytestmark = pytest.mark.asyncio


def to(*sinks: str) -> list[NoticeTarget]:
    return [NoticeTarget(sink=sink) for sink in sinks]


def notices(world: FakeWorld, level: NotificationLevel) -> list[Notification]:
    """The notices of `level` for the sinks (not the operations record's record-only ones)."""
    return [n for n in world.of(Activities.NOTIFY) if n.level is level and not n.record_only]


def recorded_only(world: FakeWorld) -> list[Notification]:
    return [n for n in world.of(Activities.NOTIFY) if n.record_only]


def sinks_of(notes: list[Notification]) -> list[list[str]]:
    return [[t.sink for t in n.targets] for n in notes]


LADDER = Playbook(
    name="unknown-sku",
    kinds=["unknown_sku"],
    notify=to("ops"),
    escalate=[
        EscalationLevel(after=timedelta(hours=1), notify=to("lead")),
        EscalationLevel(after=timedelta(hours=4), notify=to("manager")),
        EscalationLevel(after=timedelta(hours=24), notify=to("director")),
    ],
)


async def test_a_three_level_ladder_fires_at_its_times_and_stops_at_resolution(
    ts_env: WorkflowEnvironment, world: FakeWorld
) -> None:
    world.configure(allocations=[AllocateOutcome.UNKNOWN_SKU], playbooks=[LADDER])
    async with world.worker(ts_env.client):
        handle = await world.start(ts_env.client, onx_order("2001", [("NEWSKU", 1)]))
        view = await wait_for(handle, in_exception(ExceptionKind.UNKNOWN_SKU), "unknown sku")
        exc = view.open_exception
        assert exc is not None and exc.playbook == "unknown-sku" and exc.notified == ["ops"]
        await until_notified(world, 1, "the exception notified", lambda n: n.level is NotificationLevel.EXCEPTION)
        assert sinks_of(notices(world, NotificationLevel.EXCEPTION)) == [["ops"]]
        await ts_env.sleep(timedelta(minutes=59))
        assert notices(world, NotificationLevel.ESCALATION) == []
        await ts_env.sleep(timedelta(minutes=2))
        await wait_for(handle, lambda v: v.exceptions[0].escalations == 1, "level 1")
        await ts_env.sleep(timedelta(hours=3))
        await wait_for(handle, lambda v: v.exceptions[0].escalations == 2, "level 2")
        await until_notified(world, 2, "both escalations notified", lambda n: n.level is NotificationLevel.ESCALATION)
        escalations = notices(world, NotificationLevel.ESCALATION)
        assert sinks_of(escalations) == [["lead"], ["manager"]]
        # Each at its level's time (the timer fires as the skipped clock reaches it).
        waited = [n.at - exc.raised_at for n in escalations]
        assert [round(w.total_seconds() / 60) for w in waited] == [60, 240]
        assert len({n.event_id for n in world.of(Activities.NOTIFY)}) == 3
        await update(handle, Updates.RETRY, RetryRequest(operator="ada"))
        await sent_request(handle)
        await ts_env.sleep(timedelta(hours=30))
        view = await view_of(handle)
    assert len(notices(world, NotificationLevel.ESCALATION)) == 2, "the ladder stopped at resolution"
    resolved = notices(world, NotificationLevel.RESOLVED)
    assert sinks_of(resolved) == [["ops", "lead", "manager"]]
    assert resolved[0].resolved_by == "operator ada"
    first = view.exceptions[0]
    assert first.resolved_by == "operator ada" and first.notified == ["ops", "lead", "manager"]
    assert any(e.event == "exception resolved" and "(by operator ada)" in (e.detail or "") for e in view.timeline)


OOS_CANCEL = Playbook(
    name="stock",
    kinds=["out_of_stock"],
    notify=to("ops"),
    auto_resolve=[
        AutoResolveRule(
            name="oos-3-days",
            when=RuleWhen(kinds=["out_of_stock"], min_age=timedelta(days=3)),
            action=RuleAction.CANCEL,
            reason="out of stock for 3 days",
        )
    ],
)


async def test_an_auto_resolve_rule_cancels_an_out_of_stock_order_after_3_days_and_the_channel_is_told(
    ts_env: WorkflowEnvironment, world: FakeWorld
) -> None:
    world.configure(allocations=[AllocateOutcome.OUT_OF_STOCK] * 100, playbooks=[OOS_CANCEL])
    async with world.worker(ts_env.client):
        handle = await world.start(ts_env.client, onx_order("2002", [("POSTER", 1)]))
        await wait_for(handle, in_exception(ExceptionKind.OUT_OF_STOCK), "out of stock")
        await ts_env.sleep(timedelta(days=2, hours=23))
        assert (await view_of(handle)).status is OrderStatus.EXCEPTION
        assert world.of(Activities.CANCEL_ON_CHANNEL) == []
        await ts_env.sleep(timedelta(hours=2))
        view = await handle.result()
    assert view.status is OrderStatus.CANCELLED
    told: list[ChannelCancelInput] = world.of(Activities.CANCEL_ON_CHANNEL)
    assert [t.reason for t in told] == ["out of stock for 3 days (rule oos-3-days)"]
    exc = view.exceptions[0]
    assert exc.resolved_by == "rule oos-3-days" and exc.resolution == "order cancelled"
    assert exc.resolved_at is not None and round((exc.resolved_at - exc.raised_at).total_seconds() / 60) == 3 * 24 * 60
    assert [e.detail for e in view.timeline if e.event == "auto-resolve rule"] == ["oos-3-days: cancel on out_of_stock"]
    assert any(e.event == "channel told" for e in view.timeline)
    assert sinks_of(notices(world, NotificationLevel.RESOLVED)) == [["ops"]]
    assert world.of(Activities.RELEASE), "the order's stock was released"


REVIEWED = Playbook(
    name="stock-reviewed",
    kinds=["out_of_stock"],
    notify=to("ops"),
    auto_resolve=[
        AutoResolveRule(
            name="fallback", when=RuleWhen(min_age=timedelta(hours=1)), action=RuleAction.REROUTE, location="west"
        )
    ],
    review_required=OrderMatch(min_total=500),
)


async def test_review_required_holds_an_order_a_rule_would_have_resolved(
    ts_env: WorkflowEnvironment, world: FakeWorld
) -> None:
    world.configure(allocations=[AllocateOutcome.OUT_OF_STOCK] * 100, playbooks=[REVIEWED], stocked=("west",))
    async with world.worker(ts_env.client):
        small = await world.start(ts_env.client, onx_order("2003", [("POSTER", 1)], totalPrice="20.00"))
        large = await world.start(ts_env.client, onx_order("2004", [("POSTER", 40)], totalPrice="800.00"))
        for handle in (small, large):
            await wait_for(handle, in_exception(ExceptionKind.OUT_OF_STOCK), "out of stock")
        await ts_env.sleep(timedelta(hours=3))
        rerouted = await wait_for(small, lambda v: v.status is OrderStatus.SENT_TO_FULFILLMENT, "rerouted")
        held = await view_of(large)
    assert rerouted.shipping_requests[0].request.location_id == "west"
    assert rerouted.exceptions[0].resolved_by == "rule fallback"
    assert held.status is OrderStatus.EXCEPTION and not held.shipping_requests
    exc = held.open_exception
    assert exc is not None and exc.review_required == "total >= 500"
    assert [e.detail for e in held.timeline if e.event == "review required"] == [
        "out_of_stock: total >= 500 (playbook stock-reviewed)"
    ]
    assert not [e for e in held.timeline if e.event == "auto-resolve rule"]


def tagged(name: str, *sinks: str) -> Playbook:
    return Playbook(
        name=name, notify=to(*sinks), escalate=[EscalationLevel(after=timedelta(hours=1), notify=to(*sinks))]
    )


async def test_a_config_change_does_not_alter_a_running_orders_past(
    ts_env: WorkflowEnvironment, world: FakeWorld
) -> None:
    world.configure(
        allocations=[AllocateOutcome.UNKNOWN_SKU], rejections=["address not served"], playbooks=[tagged("before", "a")]
    )
    payload: dict[str, Any] = onx_order("2005", [("NEWSKU", 1)])
    async with world.worker(ts_env.client):
        handle = await world.start(ts_env.client, payload)
        await wait_for(handle, in_exception(ExceptionKind.UNKNOWN_SKU), "unknown sku")
        # The file changes while the order waits; its next ingest (this edit) hands the new one out.
        world.configure(playbooks=[tagged("after", "b")])
        await handle.signal(Signals.CHANNEL_EDIT, ChannelEdit(raw_payload=onx_order("2005", [("NEWSKU", 2)])))
        view = await wait_for(handle, in_exception(ExceptionKind.SHIPPING_REQUEST_REJECTED), "rejected")
        await ts_env.sleep(timedelta(hours=2))
        view = await wait_for(handle, lambda v: v.exceptions[-1].escalations == 1, "escalated")
    first, second = view.exceptions
    assert (first.playbook, first.notified, first.resolved_at is not None) == ("before", ["a"], True)
    assert (second.playbook, second.notified) == ("after", ["b"])
    by_kind = [(n.kind, n.level, [t.sink for t in n.targets]) for n in world.of(Activities.NOTIFY)]
    # The resolved notice goes out beside the order's next step (it is not awaited), so it may
    # reach the sinks before or after the next exception's notice; each exception's own notices
    # keep their order.
    for kind, sinks, levels in (
        (ExceptionKind.UNKNOWN_SKU, ["a"], [NotificationLevel.EXCEPTION, NotificationLevel.RESOLVED]),
        (ExceptionKind.SHIPPING_REQUEST_REJECTED, ["b"], [NotificationLevel.EXCEPTION, NotificationLevel.ESCALATION]),
    ):
        assert [(level, told) for k, level, told in by_kind if k is kind] == [(level, sinks) for level in levels]
    assert len(by_kind) == 4


APPROVE = Playbook(
    name="approve",
    notify=to("support"),
    auto_resolve=[
        AutoResolveRule(
            name="approve-buyer", when=RuleWhen(min_age=timedelta(hours=1)), action=RuleAction.APPROVE_CANCELLATION
        )
    ],
)


async def test_a_rule_approves_a_buyers_cancellation_only_while_nothing_was_sent(
    ts_env: WorkflowEnvironment, world: FakeWorld
) -> None:
    world.configure(playbooks=[APPROVE])
    unsent = onx_order("2006", [("TSHIRT", 1)])
    unsent.pop("shippingAddress")
    async with world.worker(ts_env.client):
        waiting = await world.start(ts_env.client, unsent)
        sent = await world.start(ts_env.client, onx_order("2007", [("TSHIRT", 1)]))
        request = await sent_request(sent)
        hold = FulfillmentUpdate(request_id=request.id, status=FulfillmentStatus.ON_HOLD, reason="address check")
        await sent.signal(Signals.FULFILLMENT_UPDATE, hold)
        await wait_for(sent, in_exception(ExceptionKind.FULFILLMENT_HOLD), "held")
        await wait_for(waiting, in_exception(ExceptionKind.INVALID_ADDRESS), "no address")
        await ts_env.sleep(timedelta(hours=2))
        cancelled = await waiting.result()
        held = await view_of(sent)
    assert cancelled.status is OrderStatus.CANCELLED
    assert cancelled.exceptions[0].resolved_by == "rule approve-buyer"
    assert [t.reason for t in world.of(Activities.CANCEL_ON_CHANNEL)] == [
        "buyer's cancellation approved (rule approve-buyer)"
    ]
    # The sent order's request is with its 3PL: the rule does not act on it.
    assert held.status is OrderStatus.EXCEPTION and held.open_exception is not None
    assert not [e for e in held.timeline if e.event == "auto-resolve rule"]


DISMISS = Playbook(
    name="dismiss",
    kinds=["unknown_sku"],
    auto_resolve=[
        AutoResolveRule(
            name="catalog-sync",
            when=RuleWhen(min_age=timedelta(minutes=30)),
            action=RuleAction.DISMISS,
            reason="the catalog sync adds new SKUs within 30 minutes",
        )
    ],
)


async def test_a_dismiss_rule_closes_the_exception_with_its_reason_and_the_order_goes_on(
    ts_env: WorkflowEnvironment, world: FakeWorld
) -> None:
    world.configure(allocations=[AllocateOutcome.UNKNOWN_SKU], playbooks=[DISMISS])
    async with world.worker(ts_env.client):
        handle = await world.start(ts_env.client, onx_order("2008", [("NEWSKU", 1)]))
        await wait_for(handle, in_exception(ExceptionKind.UNKNOWN_SKU), "unknown sku")
        await ts_env.sleep(timedelta(minutes=31))
        await sent_request(handle)
        view = await view_of(handle)
        # The record-only notice goes out beside the order's next step, not awaited by it.
        await until_notified(world, 1, "the resolution recorded", lambda n: n.record_only)
    (exc,) = view.exceptions
    assert exc.resolution == "dismissed: the catalog sync adds new SKUs within 30 minutes"
    assert exc.resolved_by == "rule catalog-sync"
    # No sinks in the playbook: nobody was told, so no resolved notice either.
    assert notices(world, NotificationLevel.RESOLVED) == [] and exc.notified == []
    # The operations record still learns of the resolution and of the rule that made it.
    (record,) = recorded_only(world)
    assert record.level is NotificationLevel.RESOLVED and record.targets == []
    assert record.resolved_by == "rule catalog-sync" and record.kind is ExceptionKind.UNKNOWN_SKU
