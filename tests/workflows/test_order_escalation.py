"""Every exception escalates when nobody resolves it within the channel's escalation delay,
whichever state it opened in: before the order maps, before a shipping request is sent, and
after send."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest
from temporalio.client import WorkflowHandle
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from orderloop.activity_models import AllocateOutcome, NotificationLevel, RequestCheck, RequestCondition
from orderloop.contracts import (
    Activities,
    CancelRequest,
    ChannelCancel,
    ChannelEdit,
    ChannelException,
    ErrorTypes,
    FulfillmentStatus,
    FulfillmentUpdate,
    Signals,
    Updates,
)
from orderloop.model import ExceptionKind, OrderStatus, OrderView
from tests.workflows.fakes import FakeWorld, onx_order, shipment_for
from tests.workflows.helpers import in_exception, sent_request, until_notified, update, wait_for

pytestmark = pytest.mark.asyncio

Order = WorkflowHandle[Any, OrderView]


async def nothing(handle: Order, world: FakeWorld, env: WorkflowEnvironment) -> None:
    """The order reaches its exception on its own."""


async def channel_cancel(handle: Order, world: FakeWorld, env: WorkflowEnvironment) -> None:
    await sent_request(handle)
    await handle.signal(Signals.CHANNEL_CANCEL, ChannelCancel())


async def edited(handle: Order, world: FakeWorld, env: WorkflowEnvironment) -> None:
    await sent_request(handle)
    await handle.signal(Signals.CHANNEL_EDIT, ChannelEdit(raw_payload=onx_order("1020", [("TSHIRT", 2)])))


async def shipped(handle: Order, world: FakeWorld, env: WorkflowEnvironment) -> None:
    await handle.signal(Signals.SHIPMENT, shipment_for(await sent_request(handle)))


async def held_at_the_3pl(handle: Order, world: FakeWorld, env: WorkflowEnvironment) -> None:
    request = await sent_request(handle)
    hold = FulfillmentUpdate(request_id=request.id, status=FulfillmentStatus.ON_HOLD, reason="address unverified")
    await handle.signal(Signals.FULFILLMENT_UPDATE, hold)


async def changed_at_the_3pl(handle: Order, world: FakeWorld, env: WorkflowEnvironment) -> None:
    request = await sent_request(handle)
    world.checks[request.id] = RequestCheck(condition=RequestCondition.CHANGED, detail="TSHIRT: 1 sent, 0 held")
    await env.sleep(timedelta(minutes=31))


async def disputed(handle: Order, world: FakeWorld, env: WorkflowEnvironment) -> None:
    await sent_request(handle)
    case = ChannelException(kind="payment_disputed", message="the buyer disputes the payment", reference="d-1")
    await handle.signal(Signals.CHANNEL_EXCEPTION, case)


def payload(without: str | None = None) -> dict[str, Any]:
    order = onx_order("1020", [("TSHIRT", 1)])
    order.pop(without or "", None)
    return order


def case_pack_broken() -> dict[str, Any]:
    """A wholesale order whose line of 10 is sold in cases of 12."""
    order = onx_order("1020", [("MUG-12", 10)])
    order["lineItems"][0]["casePack"] = 12
    terms = {"customerPoNumber": "PO-1020", "buyerAccount": "acme-retail"}
    return {**order, "orderType": "wholesale", "wholesale": terms}


# exception kind -> the scripted world, the order's payload, what drives the order into it
Drive = Callable[[Order, FakeWorld, WorkflowEnvironment], Awaitable[None]]
CASES: dict[ExceptionKind, tuple[dict[str, Any], dict[str, Any], Drive]] = {
    ExceptionKind.INVALID_ORDER: ({}, payload("lineItems"), nothing),
    ExceptionKind.INVALID_ADDRESS: ({}, payload("shippingAddress"), nothing),
    ExceptionKind.UNKNOWN_SKU: ({"allocations": [AllocateOutcome.UNKNOWN_SKU]}, payload(), nothing),
    ExceptionKind.OUT_OF_STOCK: ({"allocations": [AllocateOutcome.OUT_OF_STOCK] * 20}, payload(), nothing),
    ExceptionKind.UNROUTABLE: ({"allocations": [AllocateOutcome.UNROUTABLE] * 20}, payload(), nothing),
    ExceptionKind.SHIPPING_REQUEST_REJECTED: ({"rejections": ["address not served"]}, payload(), nothing),
    ExceptionKind.CANCEL_AFTER_SHIP: ({"cancel_too_late": True}, payload(), channel_cancel),
    ExceptionKind.CANCEL_FAILED: (
        {"cancel_failures": [ApplicationError("being packed", type=ErrorTypes.CANCEL_REFUSED, non_retryable=True)]},
        payload(),
        channel_cancel,
    ),
    ExceptionKind.EDIT_AFTER_RELEASE: ({}, payload(), edited),
    ExceptionKind.TRACKING_REJECTED: (
        {"push_failures": [ApplicationError("archived", type=ErrorTypes.CHANNEL_REJECTED, non_retryable=True)]},
        payload(),
        shipped,
    ),
    ExceptionKind.FULFILLMENT_HOLD: ({}, payload(), held_at_the_3pl),
    ExceptionKind.FULFILLMENT_CHANGED: ({"shipment_poll_every": timedelta(minutes=30)}, payload(), changed_at_the_3pl),
    ExceptionKind.CHANNEL_EXCEPTION: ({}, payload(), disputed),
    ExceptionKind.CASE_PACK_VIOLATION: ({}, case_pack_broken(), nothing),
}


async def test_every_exception_kind_has_an_escalation_case() -> None:
    # sla_breach's escalation: test_sla_breach_after_48_hours_escalates_and_clears_on_shipment
    assert set(CASES) | {ExceptionKind.SLA_BREACH} == set(ExceptionKind)


@pytest.mark.parametrize("kind", list(CASES), ids=[str(kind) for kind in CASES])
async def test_an_unresolved_exception_escalates_in_every_state(
    ts_env: WorkflowEnvironment, world: FakeWorld, kind: ExceptionKind
) -> None:
    settings, order, drive = CASES[kind]
    world.configure(**settings)
    async with world.worker(ts_env.client):
        handle = await world.start(ts_env.client, order)
        await drive(handle, world, ts_env)
        view = await wait_for(handle, in_exception(kind), str(kind))
        assert view.open_exception is not None and view.open_exception.escalated_at is None
        await ts_env.sleep(world.escalation_delay + timedelta(minutes=1))
        view = await wait_for(
            handle, lambda v: v.open_exception is not None and v.open_exception.escalated_at is not None, "escalated"
        )
        assert view.open_exception is not None and view.open_exception.kind is kind
        await until_notified(world, 1, "the escalation notified", lambda n: n.level is NotificationLevel.ESCALATION)
        escalations = [n.kind for n in world.of(Activities.NOTIFY) if n.level is NotificationLevel.ESCALATION]
        assert escalations == [kind]
        if view.status is not OrderStatus.CANCELLED:
            await update(handle, Updates.CANCEL, CancelRequest(reason="test over"))
        await handle.result()
