"""A cancel the fulfillment channel refuses or never answers: the order opens cancel_failed,
keeps its stock reserved, and the operator retries, marks it shipped or force-cancels it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from orderloop.contracts import (
    Activities,
    CancelRequest,
    ChannelCancel,
    ErrorTypes,
    MarkShippedRequest,
    RetryRequest,
    Signals,
    Updates,
)
from orderloop.model import ExceptionKind, OrderStatus
from tests.workflows.fakes import FakeWorld, onx_order
from tests.workflows.helpers import in_exception, sent_request, update, wait_for

pytestmark = pytest.mark.asyncio


def cancel_refusal(reason: str) -> ApplicationError:
    return ApplicationError(reason, type=ErrorTypes.CANCEL_REFUSED, non_retryable=True)


async def test_a_cancel_the_3pl_refuses_opens_cancel_failed_then_retry_and_force_cancel(
    ts_env: WorkflowEnvironment, world: FakeWorld
) -> None:
    world.configure(cancel_failures=[cancel_refusal("order is being packed"), cancel_refusal("still packing")])
    async with world.worker(ts_env.client):
        handle = await world.start(ts_env.client, onx_order("1017", [("TSHIRT", 1)]))
        request = await sent_request(handle)
        await handle.signal(Signals.CHANNEL_CANCEL, ChannelCancel(reason="customer changed their mind"))
        view = await wait_for(handle, in_exception(ExceptionKind.CANCEL_FAILED), "cancel_failed")
        assert view.open_exception is not None and "order is being packed" in view.open_exception.message
        assert view.open_exception.detail["requestIds"] == [request.id]
        assert not world.of(Activities.RELEASE), "stock stays reserved while the 3PL may still ship"
        result = await update(handle, Updates.RETRY, RetryRequest())
        assert "still packing" in result.message and result.view.status is OrderStatus.EXCEPTION
        result = await update(handle, Updates.CANCEL, CancelRequest(reason="force: the 3PL confirmed by phone"))
        assert result.view.status is OrderStatus.CANCELLED
        view = await handle.result()
    assert len(world.of(Activities.CANCEL_SHIPPING_REQUEST)) == 2, "a force-cancel does not ask the 3PL again"
    assert world.of(Activities.RELEASE)[0].line_ids is None
    assert view.shipping_requests[0].state == "cancelled"
    assert view.exceptions[0].resolution == "order cancelled"


async def test_a_cancel_failed_order_the_3pl_shipped_anyway_is_marked_shipped(
    ts_env: WorkflowEnvironment, world: FakeWorld
) -> None:
    world.configure(cancel_failures=[cancel_refusal("label printed")])
    async with world.worker(ts_env.client):
        handle = await world.start(ts_env.client, onx_order("1018", [("TSHIRT", 2)]))
        await sent_request(handle)
        await update(handle, Updates.CANCEL, CancelRequest())
        await wait_for(handle, in_exception(ExceptionKind.CANCEL_FAILED), "cancel_failed")
        await update(handle, Updates.MARK_SHIPPED, MarkShippedRequest(tracking_numbers=["1ZLATE"]))
        view = await handle.result()
    assert view.status is OrderStatus.COMPLETED
    assert [c.items[0].quantity for c in world.of(Activities.COMMIT_SHIPMENT)] == [2]
    assert not world.of(Activities.RELEASE)


async def test_a_3pl_unreachable_for_a_cancel_opens_cancel_failed_and_a_retry_cancels(
    ts_env: WorkflowEnvironment, world: FakeWorld
) -> None:
    world.configure(cancel_unreachable=True)
    async with world.worker(ts_env.client):
        handle = await world.start(ts_env.client, onx_order("1019", [("TSHIRT", 1)]))
        await sent_request(handle)
        await handle.signal(Signals.CHANNEL_CANCEL, ChannelCancel())
        await ts_env.sleep(timedelta(hours=7))
        view = await wait_for(handle, in_exception(ExceptionKind.CANCEL_FAILED), "cancel_failed")
        assert not world.of(Activities.RELEASE)
        world.cancel_unreachable = False
        result = await update(handle, Updates.RETRY, RetryRequest())
        assert result.view.status is OrderStatus.CANCELLED
        view = await handle.result()
    assert view.status is OrderStatus.CANCELLED
    assert world.of(Activities.RELEASE)
