"""Helpers of the order workflow tests: query an order, wait until it reaches a state, send an
operator's update and expect it accepted or refused."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from orderloop.contracts import Activities, Queries, UpdateResult
from orderloop.model import ExceptionKind, OrderStatus, OrderView, ShippingRequest


async def view_of(handle: WorkflowHandle[Any, OrderView]) -> OrderView:
    return await handle.query(Queries.STATUS, result_type=OrderView)


async def wait_for(
    handle: WorkflowHandle[Any, OrderView], predicate: Callable[[OrderView], bool], what: str
) -> OrderView:
    # A cap, not a timing check: a loaded machine (parallel test processes) may take long.
    for _ in range(1200):
        view = await view_of(handle)
        if predicate(view):
            return view
        await asyncio.sleep(0.05)
    raise AssertionError(f"order never reached: {what}; last status {view.status}, timeline {view.timeline}")


async def until(condition: Callable[[], bool], what: str) -> None:
    """Wait until `condition` holds (an activity fake was called, ...), with the same cap."""
    for _ in range(1200):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"never happened: {what}")


async def until_notified(world: Any, count: int, what: str, match: Callable[[Any], bool] = lambda _: True) -> None:
    """Wait until `count` notices matching `match` went out. The view shows an exception (or
    its escalation) as soon as the workflow decides it, and the notify activity runs just after,
    so a test that read the notices right after `wait_for` could find none yet."""
    await until(lambda: sum(1 for n in world.of(Activities.NOTIFY) if match(n)) >= count, what)


def in_exception(kind: ExceptionKind) -> Callable[[OrderView], bool]:
    return lambda v: v.open_exception is not None and v.open_exception.kind is kind


async def sent_request(handle: WorkflowHandle[Any, OrderView], n: int = 1) -> ShippingRequest:
    view = await wait_for(
        handle, lambda v: len(v.shipping_requests) >= n and v.status is not OrderStatus.ALLOCATED, "sent"
    )
    return view.shipping_requests[n - 1].request


async def update(handle: WorkflowHandle[Any, OrderView], name: str, request: Any) -> UpdateResult:
    """An update expected to be accepted; a refusal fails the test with the workflow's reason."""
    try:
        return await handle.execute_update(name, request, result_type=UpdateResult)
    except WorkflowUpdateFailedError as err:
        cause = err.cause.message if isinstance(err.cause, ApplicationError) else repr(err.cause)
        raise AssertionError(f"update {name} refused: {cause}") from err


async def refused(handle: WorkflowHandle[Any, OrderView], name: str, request: Any) -> ApplicationError:
    with pytest.raises(WorkflowUpdateFailedError) as info:
        await handle.execute_update(name, request, result_type=UpdateResult)
    assert isinstance(info.value.cause, ApplicationError)
    # A refusal is final for that request: the CLI and UI must not show it as retryable.
    assert info.value.cause.non_retryable, f"refusal reads as retryable: {info.value.cause.message}"
    return info.value.cause
