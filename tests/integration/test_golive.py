"""Incremental go-live through the real stack: the storefront (no `skus` in its file: stage
full) is planned `limited` to its top SKU by velocity through the operator API as a named
operator; an order for that SKU runs, one for another SKU waits as `unknown_sku`
(not_rolled_out); after expanding to every SKU an order for the other SKU runs too."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio

from orderloop.config import load_config
from orderloop.demo import run_demo
from orderloop.loopback_stack import TOKEN, make_stack
from orderloop.stack import Stack
from tests.integration.stack import Api, base_url, named_operator, started
from tests.integration.test_order_loop import order_body

pytestmark = pytest.mark.asyncio(loop_scope="session")

TOP, OTHER = "TSHIRT-BLK-M", "MUG-11OZ"


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    async with started(make_stack(tmp_path_factory.mktemp("golive"))) as running:
        yield running


def runs(view: dict[str, Any]) -> bool:
    return bool(view["shippingRequests"]) or view["status"] == "exception"


async def place(api: Api, stack: Stack, sku: str) -> dict[str, Any]:
    external_id = f"golive-{uuid.uuid4().hex[:8]}"
    async with httpx.AsyncClient(timeout=10) as http:
        response = await http.post(
            f"{base_url(stack, 'storefront')}/_sandbox/orders", json=order_body(external_id, sku)
        )
        assert response.status_code < 300, response.text
    return await api.wait_order("storefront", external_id, runs, timeout=90)


async def test_limited_stage_accepts_only_the_rollout_then_expand_all_accepts_the_rest(stack: Stack, api: Api) -> None:
    # Reservation history: the top SKU sold twice, the other never.
    for _ in range(2):
        assert (await place(api, stack, TOP))["shippingRequests"]
    ada = await named_operator(stack, "ada")
    planned = await api.http.post("/api/channels/storefront/golive/plan", json={"top": "10%"}, headers=ada)
    assert planned.status_code == 200, planned.text
    assert planned.json()["skus"] == [TOP] and planned.json()["stage"] == "limited"
    shown = (await api.http.get("/api/channels/storefront/golive")).json()
    assert (shown["stage"], shown["skus"], shown["updatedBy"]) == ("limited", [TOP], "ada")
    assert [(c["action"], c["operator"]) for c in shown["changes"]] == [("seed", "orderloop.yaml"), ("plan", "ada")]

    rolled_out = await place(api, stack, TOP)
    assert rolled_out["shippingRequests"] and not rolled_out["exceptions"]
    refused = await place(api, stack, OTHER)
    (exception,) = refused["exceptions"]
    assert exception["kind"] == "unknown_sku"
    assert exception["detail"] == {"skus": [OTHER], "reason": "not_rolled_out"}
    assert refused["shippingRequests"] == [] and refused["allocation"] is None

    expanded = await api.http.post("/api/channels/storefront/golive/expand", json={"all": True}, headers=ada)
    assert expanded.status_code == 200 and expanded.json()["stage"] == "full"
    accepted = await place(api, stack, OTHER)
    assert accepted["shippingRequests"] and not accepted["exceptions"]


async def test_the_demo_places_only_the_rollouts_skus_on_a_limited_channel(stack: Stack, api: Api) -> None:
    # The storefront's file lists no `skus` (every SKU); the rollout in the database narrows it.
    grace = await named_operator(stack, "grace")
    planned = await api.http.post("/api/channels/storefront/golive/plan", json={"top": "10%"}, headers=grace)
    assert planned.status_code == 200, planned.text
    rollout = set(planned.json()["skus"])
    try:
        config = load_config(stack.config_path)
        assert config.channel("storefront").skus is None
        summary = await run_demo(
            config,
            stack.gateway_url,
            TOKEN,
            6,
            channel_ids=["storefront"],
            bad_address_ratio=0.0,
            seed=7,
            show_progress=False,
            timeout=90,
        )
        assert summary.unfinished == [] and summary.channels == {"storefront": 6}
        assert "unknown_sku" not in summary.exceptions
        for workflow_id in summary.completed:
            view = (await api.order(*workflow_id.split("/", 2)[1:])).json()
            assert {line["sku"] for line in view["order"]["lineItems"]} <= rollout
    finally:
        expanded = await api.http.post("/api/channels/storefront/golive/expand", json={"all": True}, headers=grace)
        assert expanded.status_code == 200, expanded.text
