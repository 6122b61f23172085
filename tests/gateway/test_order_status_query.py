"""An order's status comes from a query its worker answers: with no worker polling, the
query fails as TemporalUnavailable (which the gateway answers with 503, see
test_gateway_app) naming the worker, instead of a request that hangs."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace
from typing import Any, cast

import pytest

from gateway import order_service
from gateway.order_service import OrderService
from gateway.state import GatewayState, TemporalUnavailable
from tests.temporal_env import start_dev_server


async def test_a_status_query_no_worker_answers_fails_as_unavailable_naming_the_worker(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(order_service, "QUERY_TIMEOUT", timedelta(seconds=1))
    env = await start_dev_server()
    try:
        await env.client.start_workflow("Order", {}, id="order/storefront/no-worker", task_queue="nobody-polls")

        async def get() -> Any:
            return env.client

        orders = OrderService(cast(GatewayState, SimpleNamespace(temporal=SimpleNamespace(get=get))))
        with pytest.raises(TemporalUnavailable, match=r"worker .*did not answer within 0:00:01"):
            await orders.status("order/storefront/no-worker")
    finally:
        await env.shutdown()
