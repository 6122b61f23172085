"""The worker is killed (SIGKILL) in the middle of an inbound shipment file of the flat-file
partner: some of its rows applied, the rest not. After the restart, Temporal retries the
collection (its heartbeat timeout), the ledger's file journal skips the rows applied before the
kill, and every row takes effect exactly once: each parcel one shipment on its order, one
tracking push to Shopify, each unit committed once."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio

from orderloop.file_journal import FileState, RowOutcome
from orderloop.ledger import Ledger
from orderloop.loopback_stack import make_stack
from orderloop.stack import Stack
from tests.integration.stack import Api, api_for, base_url, edit_config, set_channel, shopify_fulfillments, started
from tests.integration.test_flatfile import LOCATION, SHIPMENT_HEADER, drop, sent_order
from tests.integration.test_order_loop import completed

pytestmark = pytest.mark.integration

ORDERS = 4
UNITS = 20  # per order, each unit its own parcel: ORDERS * UNITS rows in the file
FILE = "SHIP-drill.csv"


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    built = make_stack(tmp_path_factory.mktemp("files-drill"), **{"files.auto_ship": "false"})
    edit_config(built.config_path, set_channel(files={"poll_reports_every": "1s"}))
    async with started(built) as running:
        yield running


@pytest_asyncio.fixture
async def api(stack: Stack) -> AsyncIterator[Api]:
    async for client in api_for(stack):
        yield client


async def rows_of_file(ledger: Ledger) -> dict[int, RowOutcome]:
    for record in await ledger.exchange_files_of("files"):
        if record.name == FILE:
            return {line: r.outcome for line, r in (await ledger.exchange_rows("files", record.file_key)).items()}
    return {}


async def test_every_row_applies_exactly_once_when_the_worker_dies_mid_file(stack: Stack, api: Api) -> None:
    orders = [await sent_order(stack, api, [{"sku": "MUG-11OZ", "quantity": UNITS}]) for _ in range(ORDERS)]
    body = SHIPMENT_HEADER + "".join(
        f"{request_id},MUG-11OZ,1,1ZDRILL{n:02d}{unit:02d},UPS\r\n"
        for n, (_, request_id) in enumerate(orders)
        for unit in range(UNITS)
    )
    total = ORDERS * UNITS
    ledger = await Ledger.open(stack.ledger_url)
    try:
        async with httpx.AsyncClient(base_url=base_url(stack, "files"), timeout=10) as partner:
            await drop(partner, f"inbound/shipments/{FILE}", body)
        # Kill the worker once some rows are applied and others are not.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            applied = sum(o is RowOutcome.APPLIED for o in (await rows_of_file(ledger)).values())
            if applied:
                break
            await asyncio.sleep(0.005)
        stack.kill("worker")
        at_kill = await rows_of_file(ledger)
        applied_at_kill = sum(o is RowOutcome.APPLIED for o in at_kill.values())
        assert 0 < applied_at_kill < total, f"the kill came at {applied_at_kill} of {total} rows"

        stack.restart("worker")
        views = [await api.wait_order("shopify", external_id, completed, timeout=120) for external_id, _ in orders]
        final = await rows_of_file(ledger)
        [record] = [f for f in await ledger.exchange_files_of("files") if f.name == FILE]
    finally:
        await ledger.close()

    assert final == dict.fromkeys(range(2, total + 2), RowOutcome.APPLIED)
    assert (record.state, record.rows_applied, record.rows_rejected) == (FileState.ARCHIVED, total, 0)
    for (external_id, _), view in zip(orders, views, strict=True):
        parcels = [s["trackingNumbers"][0] for s in view["shipments"]]
        assert len(parcels) == UNITS == len(set(parcels))  # each parcel once on the order
        assert [(ln["sku"], ln["shipped"]) for ln in view["lines"]] == [("MUG-11OZ", UNITS)]
        pushed = [f["tracking_number"] for f in await shopify_fulfillments(stack, external_id)]
        assert sorted(pushed) == sorted(parcels)  # one tracking push per parcel
    stock = (await api.http.get("/api/inventory/MUG-11OZ")).json()
    [here] = [loc for loc in stock["locations"] if loc["location"] == LOCATION]
    # Seeded 80; each of the 80 units committed once (a second commit would fail or go negative).
    assert here["onHand"] == 80 - total and here["reserved"] == 0
