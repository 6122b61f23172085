"""The operations record through the real stack (issue 23): the storefront goes live `limited`
on a plan of its top 20 % SKUs; orders on it, one held at the WMS until the WMS releases it (an
exception resolved without a person), one for a SKU outside the rollout that an operator
cancels (an exception resolved by a person, one operator action); the report's figures (API
and CLI) match what the test did; the readiness verdict is not ready while the channel has
fewer orders than `operations.readiness.min_orders` (its only failing criterion) and ready once
one more order came in."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest
import pytest_asyncio
from typer.testing import CliRunner

from orderloop.cli import app
from orderloop.loopback_stack import make_stack
from orderloop.settings import get_settings
from orderloop.stack import Stack
from tests.integration.stack import Api, base_url, edit_config, named_operator, started
from tests.integration.test_channel_paths import ok, status_is
from tests.integration.test_order_loop import order_body

pytestmark = pytest.mark.asyncio(loop_scope="session")

TOP, OTHER = "TSHIRT-BLK-M", "MUG-11OZ"
UNIT_PRICE = Decimal("19.00")  # order_body's line: one unit at 19.0
OPERATIONS = {
    "hourly_cost": 60,
    "handling_minutes": {"cancel": 6},
    "readiness": {"window": "1s", "min_orders": 5, "exceptions_per_100_floor": 60, "min_routed_first_try": 0.5},
}


def with_operations(data: dict[str, Any]) -> None:
    data["operations"] = OPERATIONS


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    made = make_stack(tmp_path_factory.mktemp("operations"))
    edit_config(made.config_path, with_operations)
    async with started(made) as running:
        yield running


@pytest.fixture
def cli(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    monkeypatch.setenv("ORDERLOOP_CONFIG", str(stack.config_path))
    monkeypatch.setenv("ORDERLOOP_DATABASE_URL", stack.ledger_url)
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


async def place(http: httpx.AsyncClient, stack: Stack, sku: str = TOP) -> str:
    external_id = f"ops-{uuid.uuid4().hex[:8]}"
    await ok(await http.post(f"{base_url(stack, 'storefront')}/_sandbox/orders", json=order_body(external_id, sku)))
    return external_id


async def eventually(check: Callable[[], Awaitable[Any]], what: str, timeout: float = 90) -> Any:
    deadline, last = time.monotonic() + timeout, None
    while time.monotonic() < deadline:
        last = await check()
        if last:
            return last
        await asyncio.sleep(0.5)
    raise AssertionError(f"{what} never happened; last: {last}")


async def test_report_and_readiness_follow_what_happened_on_a_limited_channel(
    stack: Stack, api: Api, cli: CliRunner
) -> None:
    wms = base_url(stack, "wms")
    async with httpx.AsyncClient(timeout=10) as http:
        # Velocity history before the go-live: the top SKU sold twice.
        for _ in range(2):
            before = await place(http, stack)
            await api.wait_order("storefront", before, status_is("completed"), timeout=90)
        ann = await named_operator(stack, "ann")
        planned = await ok(
            await api.http.post("/api/channels/storefront/golive/plan", json={"top": "20%"}, headers=ann)
        )
        assert planned["stage"] == "limited" and TOP in planned["skus"] and OTHER not in planned["skus"]
        live = (await ok(await api.http.get("/api/channels/storefront/golive")))["changes"][-1]["at"]

        # 1: held at the WMS, released by it (resolved by the order's own progress).
        await ok(await http.post(f"{wms}/_sandbox/config", json={"auto_ship": False}))
        try:
            held = await place(http, stack)
            view = await api.wait_order("storefront", held, status_is("sent_to_fulfillment"), timeout=90)
            request_id = view["shippingRequests"][0]["request"]["id"]
            await ok(await http.post(f"{wms}/_sandbox/hold/{request_id}", json={"reason": "address to check"}))
            await api.wait_order("storefront", held, status_is("exception"))
            opened = await ok(await api.http.get("/api/exceptions/open?channel=storefront"))
            (still,) = opened["exceptions"]
            assert (still["kind"], still["orderId"]) == ("fulfillment_hold", held)
            assert still["uiUrl"].endswith(f"/workflows/order%2Fstorefront%2F{held}")
            await ok(await http.post(f"{wms}/_sandbox/release/{request_id}"))
            await api.wait_order("storefront", held, status_is("sent_to_fulfillment"))
            await ok(await http.post(f"{wms}/_sandbox/ship/{request_id}"))
            await api.wait_order("storefront", held, status_is("completed"))
        finally:
            await ok(await http.post(f"{wms}/_sandbox/config", json={"auto_ship": True}))
        # 2: a SKU outside the rollout (unknown_sku, not_rolled_out), cancelled by the operator.
        refused = await place(http, stack, OTHER)
        await api.wait_order("storefront", refused, status_is("exception"))
        cancelled = await api.http.post(f"/api/orders/storefront/{refused}/cancel", json={}, headers=ann)
        assert cancelled.status_code == 200, cancelled.text
        # 3, 4: two orders that simply ship.
        for _ in range(2):
            await api.wait_order("storefront", await place(http, stack), status_is("completed"), timeout=90)

        async def settled() -> dict[str, Any] | None:
            body = await ok(await api.http.get("/api/channels/report", params={"since": live, "channel": "storefront"}))
            (figures,) = body["channels"]
            return body if figures["shipped"] == 3 and figures["exceptionsResolved"] == 2 else None

        report = await eventually(settled, "the record of four orders, two resolved exceptions, three shipments")
        f = report["channels"][0]
        orders = 4
        assert (f["orders"], f["units"], f["revenue"]) == (orders, orders, str(UNIT_PRICE * orders))
        assert f["acceptedVia"] == {"webhook": orders}  # the storefront sandbox's order webhooks
        assert f["exceptions"] == 2 and f["exceptionsPer100"] == 50.0
        assert f["exceptionsByKind"] == {
            "fulfillment_hold": {"count": 1, "per100": 25.0},
            "unknown_sku": {"count": 1, "per100": 25.0},
        }
        assert (f["resolvedByOrder"], f["resolvedByRule"], f["resolvedByOperator"]) == (1, 0, 1)
        assert f["automationRate"] == 0.5
        assert f["operatorTouches"] == 1 and f["operatorTouchesByAction"] == {"cancel": 1}
        assert f["operatorMinutes"] == 6.0
        # 6 minutes at 60.00 an hour over four orders of 19.00.
        assert report["hourlyCost"] == "60.00" and f["costPerOrder"] == "1.50"
        assert f["costShareOfRevenue"] == round(6 / 76, 6)
        assert f["manualReroutes"] == 0 and f["slaBreaches"] == 0
        assert f["timeToShipP50Seconds"] is not None and f["timeToShipP50Seconds"] > 0
        assert f["inventoryPushes"] >= 1 and f["pushLatencyP99Seconds"] is not None
        assert (await ok(await api.http.get("/api/exceptions/open?channel=storefront")))["exceptions"] == []

        # The CLI reads the same record from the ledger database.
        shown = await asyncio.to_thread(
            cli.invoke, app, ["channels", "report", "storefront", "--since", live, "--json"]
        )
        assert shown.exit_code == 0, shown.output
        (from_cli,) = json.loads(shown.output)["channels"]
        assert {k: from_cli[k] for k in ("orders", "exceptions", "operatorTouches", "revenue", "costPerOrder")} == {
            k: f[k] for k in ("orders", "exceptions", "operatorTouches", "revenue", "costPerOrder")
        }
        table = await asyncio.to_thread(cli.invoke, app, ["channels", "report", "storefront", "--since", live])
        assert table.exit_code == 0, table.output
        assert "76.00" in table.output and "1.50" in table.output and "fulfillment_hold" in table.output
        print(table.output)  # the table as an operator sees it (pytest -s shows it)
        flow = await asyncio.to_thread(cli.invoke, app, ["channels", "flow", "storefront", "--since", live, "--json"])
        assert flow.exit_code == 0, flow.output
        steps = {s["step"]: s for s in json.loads(flow.output)["steps"]}
        assert steps["exception unknown_sku"]["actor"] == "person" and steps["exception unknown_sku"]["manual"] == 1
        assert steps["orders in"]["measured"] == f"{orders} orders, {orders} units received ({orders} by webhook)"

        # Readiness: four orders of the five the window needs is the one failing criterion.
        verdict = await ok(await api.http.get("/api/channels/storefront/golive/readiness"))
        assert verdict["stage"] == "limited"
        assert datetime.fromisoformat(verdict["monitoringSince"]) == datetime.fromisoformat(live.replace("Z", "+00:00"))
        failing = [(c["name"], c["value"], c["threshold"]) for c in verdict["criteria"] if not c["passed"]]
        assert verdict["ready"] is False and failing == [("orders", orders, 5)]
        named = {c["name"]: c for c in verdict["criteria"]}
        assert named["oversells"]["value"] == 0 and named["routed_first_try"]["value"] == 0.75
        assert named["exceptions_per_100"]["value"] == 50.0 and named["exceptions_per_100"]["threshold"] == 60.0
        not_ready = await asyncio.to_thread(cli.invoke, app, ["channels", "golive", "report", "storefront"])
        assert not_ready.exit_code == 1 and "not ready" in not_ready.output and "orders" in not_ready.output

        # The fifth order fixes it.
        await api.wait_order("storefront", await place(http, stack), status_is("completed"), timeout=90)

        async def ready() -> dict[str, Any] | None:
            found = await ok(await api.http.get("/api/channels/storefront/golive/readiness"))
            return found if found["ready"] else None

        verdict = await eventually(ready, "the readiness verdict turning ready")
        assert all(c["passed"] for c in verdict["criteria"]) and verdict["orders"] == 5
        passed = await asyncio.to_thread(cli.invoke, app, ["channels", "golive", "report", "storefront"])
        assert passed.exit_code == 0 and "ready" in passed.output, passed.output
