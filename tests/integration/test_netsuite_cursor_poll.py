"""NetSuite's channel-wide shipment poll over the real stack: with the per-order poll off, the
scheduled ShipmentPoll job reads every order's new fulfilments by one SuiteQL query from its
stored cursor and signals each to its order, which ships once and pushes its tracking once,
however many polls read the fulfilment again (each starts before the last one ended)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio

from activities.shipment_poll import shipment_poll_cursor
from connectors.netsuite.client import SUITEQL
from orderloop.ledger import Ledger
from orderloop.loopback_stack import make_stack
from orderloop.stack import Stack
from tests.integration.stack import Api, base_url, edit_config, logged, only_request, set_channel, started
from tests.integration.test_netsuite import place
from tests.integration.test_order_loop import completed

pytestmark = pytest.mark.integration

STORE = "/stores/orderloop1/v2/orders"


@pytest_asyncio.fixture(scope="module")
async def stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    built = make_stack(tmp_path_factory.mktemp("netsuite-cursor"))
    edit_config(
        built.config_path,
        set_channel(netsuite={"poll_shipments_every": None, "poll_fulfillments_every": "1s"}),
    )
    async with started(built) as running:
        yield running


async def test_the_cursor_poll_ships_each_fulfilment_once(stack: Stack, api: Api) -> None:
    async with (
        httpx.AsyncClient(base_url=base_url(stack, "netsuite"), timeout=10) as netsuite,
        httpx.AsyncClient(base_url=base_url(stack, "bigcommerce"), timeout=10) as bigcommerce,
    ):
        order_id = await place(bigcommerce)
        view = await api.wait_order("bigcommerce", order_id, completed)
        _, vendor_id = only_request(view, "netsuite-oh")
        # Let later polls read the (overlapping) window again.
        await asyncio.sleep(3)

        [shipment] = view["shipments"]
        pushes = await logged(bigcommerce, "POST", f"{STORE}/{order_id}/shipments")
        queries = [r for r in await logged(netsuite, "POST", SUITEQL) if "so.externalid" in r["body"]["q"]]
        per_order = [
            r for r in await logged(netsuite, "POST", SUITEQL) if f"createdfrom = {vendor_id}" in r["body"]["q"]
        ]

    assert len(pushes) == 1
    assert shipment["id"].startswith("netsuite-if-")
    assert len(queries) >= 2  # the channel-wide query ran on its schedule, and again after the shipment
    assert per_order  # each poll that saw the fulfilment checked its order's total
    ledger = await Ledger.open(stack.ledger_url)
    try:
        assert await ledger.poll_cursor(shipment_poll_cursor("netsuite")) is not None
    finally:
        await ledger.close()
