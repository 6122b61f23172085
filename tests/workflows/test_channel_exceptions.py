"""Cases a selling channel raises on an order (`channel_exception` under the channel's own
kind): before send they hold the order until the seller goes on (`retry`) or cancels; after
send they open beside the shipment phase; the channel's deadline to answer escalates once when
it passes; a playbook rule may act before it; every resolution tells the channel the seller's
answer; a case reported again opens nothing new; once the order is completed a case is
reported to its playbook's sinks, not opened."""

from __future__ import annotations

from datetime import timedelta

import pytest
from temporalio.testing import WorkflowEnvironment

from orderloop.activity_models import (
    AllocateOutcome,
    ChannelExceptionDecision,
    ChannelExceptionReply,
    NotificationLevel,
)
from orderloop.contracts import (
    Activities,
    CancelRequest,
    ChannelException,
    RerouteRequest,
    RetryRequest,
    Signals,
    Updates,
)
from orderloop.model import ExceptionKind, OrderStatus
from orderloop.playbooks import AutoResolveRule, NoticeTarget, Playbook, RuleAction, RuleWhen
from tests.workflows.fakes import FakeWorld, onx_order, shipment_for
from tests.workflows.helpers import (
    in_exception,
    refused,
    sent_request,
    until,
    until_notified,
    update,
    view_of,
    wait_for,
)

pytestmark = pytest.mark.asyncio


def case(kind: str = "payment_disputed", reference: str = "d-1", **fields: object) -> ChannelException:
    return ChannelException(kind=kind, message=f"the channel raised {kind}", reference=reference, **fields)


def replies(world: FakeWorld) -> list[ChannelExceptionReply]:
    return world.of(Activities.RESOLVE_CHANNEL_EXCEPTION)


async def test_a_case_before_send_holds_the_order_until_the_seller_goes_on(
    ts_env: WorkflowEnvironment, world: FakeWorld
) -> None:
    world.configure(hold_window=timedelta(hours=1))
    async with world.worker(ts_env.client):
        handle = await world.start(ts_env.client, onx_order("7001", [("TSHIRT", 1)]))
        await wait_for(handle, lambda v: v.status is OrderStatus.IN_HOLD_WINDOW, "in the hold window")
        await handle.signal(Signals.CHANNEL_EXCEPTION, case())
        await ts_env.sleep(timedelta(hours=1, minutes=1))
        view = await wait_for(handle, in_exception(ExceptionKind.CHANNEL_EXCEPTION), "channel exception")
        exc = view.open_exception
        assert exc is not None and (exc.channel_kind, exc.reference, exc.code) == (
            "payment_disputed",
            "d-1",
            "payment_disputed",
        )
        assert not world.of(Activities.SEND_SHIPPING_REQUEST), "nothing is sent while the case is open"
        refusal = await refused(handle, Updates.REROUTE, RerouteRequest(location_id="east"))
        assert "possible now: cancel, retry" in refusal.message
        result = await update(handle, Updates.RETRY, RetryRequest(operator="ana"))
        assert result.view.exceptions[0].resolution == "the seller goes on with the order"
        request = await sent_request(handle)
        await handle.signal(Signals.SHIPMENT, shipment_for(request))
        view = await handle.result()
    assert view.status is OrderStatus.COMPLETED
    [reply] = replies(world)
    assert (reply.kind, reply.reference, reply.decision) == (
        "payment_disputed",
        "d-1",
        ChannelExceptionDecision.PROCEEDED,
    )
    [note] = [n for n in world.of(Activities.NOTIFY) if n.level is NotificationLevel.EXCEPTION]
    assert (note.kind, note.channel_kind) == (ExceptionKind.CHANNEL_EXCEPTION, "payment_disputed")


async def test_a_case_after_send_escalates_at_the_channels_deadline_and_a_cancel_answers_it(
    ts_env: WorkflowEnvironment, world: FakeWorld
) -> None:
    world.configure(escalation_delay=timedelta(days=3))
    async with world.worker(ts_env.client):
        handle = await world.start(ts_env.client, onx_order("7002", [("TSHIRT", 1)]))
        request = await sent_request(handle)
        deadline = await ts_env.get_current_time() + timedelta(hours=6)
        await handle.signal(Signals.CHANNEL_EXCEPTION, case("cancellation_requested", "c-9", deadline=deadline))
        view = await wait_for(handle, in_exception(ExceptionKind.CHANNEL_EXCEPTION), "channel exception")
        assert view.open_exception is not None and view.open_exception.deadline == deadline
        # The same case reported again (the webhook and the poll) opens nothing new.
        await handle.signal(Signals.CHANNEL_EXCEPTION, case("cancellation_requested", "c-9", deadline=deadline))
        await ts_env.sleep(timedelta(hours=6, minutes=1))
        view = await wait_for(
            handle, lambda v: any(t.event == "channel deadline passed" for t in v.timeline), "deadline"
        )
        assert view.open_exception is not None and view.open_exception.deadline_passed
        await until_notified(
            world, 1, "the deadline escalation notified", lambda n: n.level is NotificationLevel.ESCALATION
        )
        escalations = [n for n in world.of(Activities.NOTIFY) if n.level is NotificationLevel.ESCALATION]
        assert len(escalations) == 1 and "deadline" in escalations[0].message
        result = await update(handle, Updates.CANCEL, CancelRequest(reason="buyer asked", operator="ana"))
        view = await handle.result()
    assert result.view.status is OrderStatus.CANCELLED and view.status is OrderStatus.CANCELLED
    assert len(view.exceptions) == 1, "the repeated case opened nothing"
    assert world.of(Activities.CANCEL_SHIPPING_REQUEST)[0].request.id == request.id
    [reply] = replies(world)
    assert (reply.kind, reply.reference, reply.decision) == (
        "cancellation_requested",
        "c-9",
        ChannelExceptionDecision.CANCELLED,
    )


async def test_a_playbook_rule_answers_a_case_before_the_channels_deadline(
    ts_env: WorkflowEnvironment, world: FakeWorld
) -> None:
    book = Playbook(
        name="disputes",
        kinds=["payment_disputed"],
        notify=[NoticeTarget(sink="support")],
        auto_resolve=[
            AutoResolveRule(
                name="go-on", when=RuleWhen(min_age=timedelta(hours=1)), action=RuleAction.DISMISS, reason="reviewed"
            )
        ],
    )
    world.configure(playbooks=[book])
    async with world.worker(ts_env.client):
        handle = await world.start(ts_env.client, onx_order("7003", [("TSHIRT", 1)]))
        request = await sent_request(handle)
        deadline = await ts_env.get_current_time() + timedelta(hours=6)
        await handle.signal(Signals.CHANNEL_EXCEPTION, case(deadline=deadline))
        view = await wait_for(handle, in_exception(ExceptionKind.CHANNEL_EXCEPTION), "channel exception")
        assert view.open_exception is not None and view.open_exception.playbook == "disputes"
        await ts_env.sleep(timedelta(hours=1, minutes=1))
        view = await wait_for(handle, lambda v: v.open_exception is None, "resolved by the rule")
        await handle.signal(Signals.SHIPMENT, shipment_for(request))
        view = await handle.result()
    exc = view.exceptions[0]
    assert exc.resolved_by == "rule go-on" and not exc.deadline_passed
    [reply] = replies(world)
    assert reply.decision is ChannelExceptionDecision.PROCEEDED
    assert view.status is OrderStatus.COMPLETED


async def test_a_case_on_a_completed_order_is_reported_not_opened(
    ts_env: WorkflowEnvironment, world: FakeWorld
) -> None:
    world.configure(await_delivery=timedelta(days=14))
    async with world.worker(ts_env.client):
        handle = await world.start(ts_env.client, onx_order("7004", [("TSHIRT", 1)]))
        await handle.signal(Signals.SHIPMENT, shipment_for(await sent_request(handle)))
        await wait_for(handle, lambda v: v.status is OrderStatus.COMPLETED, "completed")
        await handle.signal(Signals.CHANNEL_EXCEPTION, case())
        await until(
            lambda: any(n.channel_kind == "payment_disputed" for n in world.of(Activities.NOTIFY)), "the case reported"
        )
        view = await view_of(handle)
    assert view.status is OrderStatus.COMPLETED and view.open_exception is None
    assert any(t.event == "channel exception reported" for t in view.timeline)
    assert not replies(world)


async def test_a_case_reaches_an_order_waiting_for_stock_and_a_rule_approves_it_while_nothing_was_sent(
    ts_env: WorkflowEnvironment, world: FakeWorld
) -> None:
    book = Playbook(
        name="cancel-requests",
        kinds=["cancellation_requested"],
        notify=[NoticeTarget(sink="support")],
        auto_resolve=[
            AutoResolveRule(
                name="approve-unsent", when=RuleWhen(min_age=timedelta(hours=1)), action=RuleAction.APPROVE_CANCELLATION
            )
        ],
    )
    world.configure(allocations=[AllocateOutcome.OUT_OF_STOCK] * 20, playbooks=[book])
    async with world.worker(ts_env.client):
        handle = await world.start(ts_env.client, onx_order("7005", [("TSHIRT", 1)]))
        await wait_for(handle, in_exception(ExceptionKind.OUT_OF_STOCK), "out of stock")
        deadline = await ts_env.get_current_time() + timedelta(hours=48)
        await handle.signal(Signals.CHANNEL_EXCEPTION, case("cancellation_requested", "c-5", deadline=deadline))
        # Opened while the order waits for stock, not once its re-check timer fires.
        view = await wait_for(handle, in_exception(ExceptionKind.CHANNEL_EXCEPTION), "the case opened")
        assert view.exceptions[0].resolution == "superseded by cancellation_requested"
        view = await handle.result()
    assert view.status is OrderStatus.CANCELLED
    assert view.exceptions[-1].resolved_by == "rule approve-unsent"
    [reply] = replies(world)
    assert (reply.reference, reply.decision) == ("c-5", ChannelExceptionDecision.CANCELLED)
    assert not world.of(Activities.CANCEL_ON_CHANNEL), "the approval is the channel's answer: no second cancel"
    assert not world.of(Activities.SEND_SHIPPING_REQUEST)
