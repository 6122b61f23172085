"""Every vendor call of a connector client reaches the exchange log: direction, channel, the
order and attempt of the activity it ran in, status, duration, the bodies with personal data and
credentials redacted; failures too (a refusal with the vendor's reason, a call that got no
answer). The call itself only queues: the rows appear when the recorder flushes."""

from __future__ import annotations

import dataclasses
import json
from datetime import timedelta

import httpx
import pytest
from temporalio.testing import ActivityEnvironment

from connectors.base import RejectedError, RetryableError
from connectors.http import VendorClient
from orderloop import metrics
from orderloop.exchange_log import ExchangeRecorder
from orderloop.exchange_records import ExchangeDirection, ExchangeEntry, ExchangeOutcome

BASE_URL = "http://vendor.test"
ORDER = {"id": 7, "shipping_address": {"first_name": "Ann", "address1": "1 Main St", "city": "Boston"}}


def dropped_total() -> float:
    return metrics.REGISTRY.get_sample_value("orderloop_exchange_log_dropped_total") or 0.0


class Rows:
    def __init__(self) -> None:
        self.rows: list[ExchangeEntry] = []

    async def record_exchanges(self, entries: list[ExchangeEntry]) -> int:
        self.rows.extend(entries)
        return len(entries)


def vendor(handler: httpx.MockTransport) -> tuple[VendorClient, Rows, ExchangeRecorder]:
    client = VendorClient(BASE_URL, httpx.AsyncClient(transport=handler, base_url=BASE_URL))
    client.channel = "shop"
    rows = Rows()
    recorder = ExchangeRecorder(rows, flush_every=timedelta(seconds=60))
    client.exchange_log = recorder
    return client, rows, recorder


def answer(request: httpx.Request) -> httpx.Response:
    if request.url.path == "/orders/7/fulfillments":
        return httpx.Response(422, json={"errors": "tracking number is taken", "email": "ann@example.com"})
    if request.url.path == "/down":
        raise httpx.ConnectError("connection refused", request=request)
    return httpx.Response(200, json=ORDER)


@pytest.mark.asyncio
async def test_a_call_is_queued_then_written_with_redacted_bodies() -> None:
    client, rows, recorder = vendor(httpx.MockTransport(answer))
    await client.request("POST", "/orders", "create order 7", json={"email": "ann@example.com", "sku": "TEE"})
    assert rows.rows == [] and recorder.pending == 1
    assert await recorder.flush() == 1
    (row,) = rows.rows
    assert row.direction is ExchangeDirection.OUTBOUND
    assert (row.channel_id, row.method, row.target, row.status_code) == ("shop", "POST", "/orders", 200)
    assert row.outcome is ExchangeOutcome.OK and row.order_id is None and row.attempt == 1
    assert row.operation == "create" and row.summary == "create order 7"
    assert json.loads(row.request_body or "") == {"email": "[redacted]", "sku": "TEE"}
    stored = json.loads(row.response_body or "")
    assert stored["shipping_address"] == {"first_name": "[redacted]", "address1": "[redacted]", "city": "Boston"}
    assert "Ann" not in (row.response_body or "")


@pytest.mark.asyncio
async def test_a_refused_call_is_failed_with_the_vendors_reason_and_its_activitys_order() -> None:
    client, rows, recorder = vendor(httpx.MockTransport(answer))

    async def push() -> None:
        await client.request("POST", "/orders/7/fulfillments", "push tracking of 7", json={"tracking": "1Z"})

    env = ActivityEnvironment()
    env.info = dataclasses.replace(
        env.info, workflow_id="order/shop/7", activity_type="orderloop.push_tracking", attempt=3
    )
    with pytest.raises(RejectedError):
        await env.run(push)
    await recorder.flush()
    (row,) = rows.rows
    assert row.outcome is ExchangeOutcome.FAILED and row.status_code == 422
    assert (row.order_id, row.operation, row.attempt) == ("order/shop/7", "push_tracking", 3)
    assert row.error == "HTTP 422: tracking number is taken"
    assert "ann@example.com" not in (row.response_body or "")


@pytest.mark.asyncio
async def test_a_poll_is_inbound_and_a_call_without_answer_is_failed() -> None:
    client, rows, recorder = vendor(httpx.MockTransport(answer))

    async def poll() -> None:
        await client.request("GET", "/orders", "list orders")
        await client.request("GET", "/down", "list orders")

    env = ActivityEnvironment()
    env.info = dataclasses.replace(env.info, workflow_id="poll/shop", activity_type="orderloop.poll_channel_orders")
    with pytest.raises(RetryableError):
        await env.run(poll)
    await recorder.flush()
    first, second = rows.rows
    assert {first.direction, second.direction} == {ExchangeDirection.INBOUND}
    assert first.order_id is None and first.operation == "poll_channel_orders"
    assert second.status_code is None and second.outcome is ExchangeOutcome.FAILED
    assert second.error is not None and "ConnectError" in second.error


@pytest.mark.asyncio
async def test_the_oldest_calls_are_dropped_beyond_the_queue_limit_and_a_failed_write_is_counted() -> None:
    class Down:
        async def record_exchanges(self, entries: list[ExchangeEntry]) -> int:
            raise OSError("database is down")

    client = VendorClient(BASE_URL, httpx.AsyncClient(transport=httpx.MockTransport(answer), base_url=BASE_URL))
    recorder = ExchangeRecorder(Down(), max_pending=2, batch=10)
    client.exchange_log = recorder
    for _ in range(3):
        await client.request("GET", "/orders", "list orders")
    before = dropped_total()
    await client.request("GET", "/orders", "list orders")
    assert recorder.pending == 2 and recorder.dropped == 2
    assert await recorder.flush() == 0
    assert recorder.dropped == 4
    assert dropped_total() - before == 3
