"""What both roles owe Temporal, run against every connector and its sandbox through the real
channel activities: the vendor's 429 becomes a retryable `ApplicationError` whose
`next_retry_delay` is the delay the vendor's own throttling signal asks for (a 429's retry header,
Logiwa's 403 body), a 5xx a retryable one, and a refusal (4xx, or a 200 body for a vendor that
refuses there) a non-retryable one with the type an operator searches for."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from connectors.base import PermanentError, RateLimitedError, RetryableError
from orderloop.activity_models import PushTrackingInput
from orderloop.contracts import ErrorTypes
from tests.connectors.contract.roles import FulfillmentHarness, SellingHarness, VendorHarness
from tests.connectors.contract.steps import activities_of, placed_order, shipment_of

Call = Callable[[], Awaitable[Any]]


async def push_tracking(selling: SellingHarness) -> Call:
    """The push-tracking activity for a sandbox order, ready to run (the order placed now)."""
    order = await placed_order(selling)
    activity = activities_of(selling.connector).push_tracking
    given = PushTrackingInput(order=order, shipment=shipment_of(order, "E1", slice(None)))
    return lambda: ActivityEnvironment().run(activity, given)


def send_request(fulfillment: FulfillmentHarness, ref: str = "E1") -> Call:
    activity = activities_of(fulfillment.connector).send_shipping_request
    request = fulfillment.shipping_request(ref)
    return lambda: ActivityEnvironment().run(activity, request)


def answers_seen(harness: VendorHarness) -> list[httpx.Response]:
    """Every answer the connector's client receives from now on."""
    seen: list[httpx.Response] = []

    async def keep(response: httpx.Response) -> None:
        seen.append(response)

    hooks = harness.http.event_hooks
    harness.http.event_hooks = {**hooks, "response": [*hooks["response"], keep]}
    return seen


async def assert_rate_limit_delays_the_retry(harness: VendorHarness, call: Call) -> None:
    seen = answers_seen(harness)
    await harness.arm_rate_limit()

    with pytest.raises(ApplicationError) as raised:
        await call()

    [delay] = [d for r in seen if (d := harness.throttle_delay(r)) is not None]
    assert delay > 0
    assert isinstance(raised.value.__cause__, RateLimitedError)
    assert raised.value.__cause__.retry_after == delay
    assert raised.value.next_retry_delay == timedelta(seconds=delay)
    assert not raised.value.non_retryable


async def assert_unavailable_is_retried(harness: VendorHarness, call: Call) -> None:
    seen = answers_seen(harness)
    await harness.arm_unavailable()

    with pytest.raises(ApplicationError) as raised:
        await call()

    assert [r.status_code for r in seen if r.status_code >= 500]
    cause = raised.value.__cause__
    assert isinstance(cause, RetryableError) and not isinstance(cause, RateLimitedError)
    assert not raised.value.non_retryable


async def assert_refusal_is_not_retried(call: Call, error_type: str, in_body: bool = False) -> None:
    with pytest.raises(ApplicationError) as raised:
        await call()

    assert isinstance(raised.value.__cause__, PermanentError)
    status = raised.value.__cause__.status_code
    # A vendor that refuses in a 200 body (`refuses_in_body`) says so there, with its own reason.
    assert status is not None and (400 <= status < 500 or (in_body and status == 200)) and status != 429
    assert raised.value.non_retryable
    assert raised.value.type == error_type


async def test_selling_429_becomes_the_retry_delay_of_its_header(selling: SellingHarness) -> None:
    await assert_rate_limit_delays_the_retry(selling, await push_tracking(selling))


async def test_selling_5xx_is_retryable(selling: SellingHarness) -> None:
    await assert_unavailable_is_retried(selling, await push_tracking(selling))


async def test_selling_4xx_refusal_is_not_retried(selling: SellingHarness) -> None:
    call = await push_tracking(selling)
    await selling.arm_rejection()
    await assert_refusal_is_not_retried(call, ErrorTypes.CHANNEL_REJECTED, in_body=selling.refuses_in_body)


async def test_fulfillment_429_becomes_the_retry_delay_of_its_header(fulfillment: FulfillmentHarness) -> None:
    await assert_rate_limit_delays_the_retry(fulfillment, send_request(fulfillment))


async def test_fulfillment_5xx_is_retryable(fulfillment: FulfillmentHarness) -> None:
    await assert_unavailable_is_retried(fulfillment, send_request(fulfillment))


async def test_fulfillment_4xx_refusal_is_not_retried(fulfillment: FulfillmentHarness) -> None:
    activity = activities_of(fulfillment.connector).send_shipping_request
    request = fulfillment.rejected_request("E2")

    await assert_refusal_is_not_retried(
        lambda: ActivityEnvironment().run(activity, request),
        ErrorTypes.SHIPPING_REQUEST_REJECTED,
        fulfillment.refuses_in_body,
    )
    assert await fulfillment.vendor_orders(request.id) == 0
