"""Prometheus metrics through the real stack: orders placed on the storefront sandbox show up in
the gateway's `/metrics` (accepted) and the worker's (completed, time to ship, vendor calls),
and the Temporal SDK exports its worker metrics; each read with the Prometheus text parser."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from orderloop.stack import Stack
from tests.integration.stack import Api, base_url
from tests.integration.test_order_loop import completed, new_id, order_body

pytestmark = pytest.mark.integration

ORDERS = 3

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


async def scrape(url: str) -> Samples:
    async with httpx.AsyncClient(timeout=10) as http:
        response = await http.get(url)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (s.name, tuple(sorted(s.labels.items()))): float(s.value)
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def worker_url(stack: Stack) -> str:
    assert stack.worker_metrics_port is not None
    return f"http://127.0.0.1:{stack.worker_metrics_port}/metrics"


async def test_metrics_count_the_orders_placed(stack: Stack, api: Api) -> None:
    gateway_before = await scrape(f"{stack.gateway_url}/metrics")
    worker_before = await scrape(worker_url(stack))
    ids = [new_id() for _ in range(ORDERS)]
    async with httpx.AsyncClient(timeout=10) as http:
        for external_id in ids:
            placed = await http.post(f"{base_url(stack, 'storefront')}/_sandbox/orders", json=order_body(external_id))
            assert placed.status_code in (200, 201, 202), placed.text
    await asyncio.gather(*(api.wait_order("storefront", external_id, completed) for external_id in ids))

    gateway = await scrape(f"{stack.gateway_url}/metrics")
    worker = await scrape(worker_url(stack))

    def delta(after: Samples, before: Samples, name: str) -> float:
        return value(after, name, channel="storefront") - value(before, name, channel="storefront")

    assert delta(gateway, gateway_before, "orderloop_orders_accepted_total") == ORDERS
    assert delta(worker, worker_before, "orderloop_orders_completed_total") == ORDERS
    assert delta(worker, worker_before, "orderloop_time_to_ship_seconds_count") == ORDERS
    # Each order was sent to the WMS and its tracking pushed to the storefront: vendor calls
    # answered 2xx on both channels, timed by status.
    for channel in ("wms", "storefront"):
        calls = sum(
            v
            for (name, labels), v in worker.items()
            if name == "orderloop_vendor_call_seconds_count"
            and dict(labels)["channel"] == channel
            and dict(labels)["status"].startswith("2")
        )
        assert calls >= ORDERS, (channel, calls)


async def test_metrics_count_an_exception_and_inventory_pushes(stack: Stack, api: Api) -> None:
    before = await scrape(worker_url(stack))
    raised = "orderloop_exceptions_raised_total"
    pushed = "orderloop_inventory_push_latency_seconds_count"
    external_id = new_id()
    async with httpx.AsyncClient(timeout=10) as http:
        placed = await http.post(
            f"{base_url(stack, 'storefront')}/_sandbox/orders", json=order_body(external_id, sku="NO-SUCH-SKU")
        )
        assert placed.status_code in (200, 201, 202), placed.text
        # A good order too: its reservation is a stock change the inventory syncs push.
        good = new_id()
        placed = await http.post(f"{base_url(stack, 'storefront')}/_sandbox/orders", json=order_body(good))
        assert placed.status_code in (200, 201, 202), placed.text
    view = await api.wait_order("storefront", external_id, lambda v: v["status"] == "exception")
    kind = view["exceptions"][-1]["kind"]
    for _ in range(80):
        after = await scrape(worker_url(stack))
        if value(after, raised, channel="storefront", kind=kind) > value(
            before, raised, channel="storefront", kind=kind
        ):
            if value(after, pushed, channel="storefront") > value(before, pushed, channel="storefront"):
                break
        await asyncio.sleep(0.25)
    else:
        raise AssertionError(f"no {kind} exception or no inventory push counted for storefront")
    assert (
        value(after, raised, channel="storefront", kind=kind)
        == value(before, raised, channel="storefront", kind=kind) + 1
    )


async def test_temporal_sdk_exports_its_worker_metrics(stack: Stack) -> None:
    assert stack.temporal_metrics_port is not None
    samples = await scrape(f"http://127.0.0.1:{stack.temporal_metrics_port}/metrics")
    names = {name for name, _ in samples}
    assert any(name.startswith("temporal_") for name in names), sorted(names)[:20]
    # The SDK reports its workers' task slots, per task queue of this stack's prefix.
    slots = [labels for name, labels in samples if name == "temporal_worker_task_slots_available"]
    assert any(dict(labels).get("task_queue", "").startswith(stack.task_queue_prefix) for labels in slots), slots
