"""The loop through the flat-file partner over the real stack: a Shopify order to Washington
state routes to the Texas partner that works from files (the `shopify-washington-from-files`
rule), becomes one order file on its SFTP server (named by the request id, written whole), and
the shipment file the partner drops completes it with the tracking pushed to Shopify once; a
shipment file with two bad rows reports those two in `<name>.errors.csv` while the rest apply;
a file not in the format goes whole to the error folder. The module runs a stack of its own,
whose partner does not ship on its own and whose inbound folders are read every second."""

from __future__ import annotations

import asyncio
import csv
import io
import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest
import pytest_asyncio

from orderloop.file_journal import FileState, RowOutcome
from orderloop.ledger import Ledger
from orderloop.loopback_stack import make_stack
from orderloop.stack import Stack
from tests.integration.stack import (
    Api,
    base_url,
    edit_config,
    only_request,
    sent,
    set_channel,
    shopify_fulfillments,
    started,
)
from tests.integration.test_order_loop import completed

pytestmark = pytest.mark.integration

LOCATION = "files-tx"
SEATTLE = {
    "first_name": "Grace",
    "last_name": "Hopper",
    "address1": "400 Broad St",
    "city": "Seattle",
    "province_code": "WA",
    "zip": "98109",
    "country_code": "US",
}
SHIPMENT_HEADER = "request_id,sku,quantity,tracking_number,carrier\r\n"


@pytest_asyncio.fixture(scope="module")
async def stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    built = make_stack(tmp_path_factory.mktemp("flatfile"), **{"files.auto_ship": "false"})
    edit_config(built.config_path, set_channel(files={"poll_reports_every": "1s"}))
    async with started(built) as running:
        yield running


@pytest_asyncio.fixture
async def partner(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=base_url(stack, "files"), timeout=10) as http:
        yield http


async def place_in_washington(stack: Stack, lines: list[dict[str, Any]]) -> str:
    body = {"line_items": lines, "shipping_address": SEATTLE, "email": "grace@example.com"}
    async with httpx.AsyncClient(timeout=10) as http:
        placed = await http.post(f"{base_url(stack, 'shopify')}/_sandbox/orders", json=body)
    assert placed.status_code == 201, placed.text
    return str(placed.json()["id"])


async def names(partner: httpx.AsyncClient, folder: str) -> list[str]:
    listing = await partner.get("/_sandbox/files", params={"folder": folder})
    assert listing.status_code == 200, listing.text
    return [f["name"] for f in listing.json()["files"]]


async def drop(partner: httpx.AsyncClient, path: str, body: str) -> None:
    dropped = await partner.put("/_sandbox/file", params={"path": path}, content=body.encode())
    assert dropped.status_code == 201, dropped.text


async def until_listed(partner: httpx.AsyncClient, folder: str, name: str) -> list[str]:
    """The folder's listing once it holds `name` (or at the deadline): other files in the folder,
    such as a reason written just before the file moves, do not end the wait."""

    async def listed() -> list[str]:
        found = await names(partner, folder)
        return found if name in found else []

    return await until(listed)


async def until(check: Any, timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = await check()
        if found or time.monotonic() > deadline:
            return found
        await asyncio.sleep(0.2)


async def sent_order(stack: Stack, api: Api, lines: list[dict[str, Any]]) -> tuple[str, str]:
    external_id = await place_in_washington(stack, lines)
    view = await api.wait_order("shopify", external_id, sent)
    request_id, _ = only_request(view, LOCATION)
    return external_id, request_id


async def test_an_order_becomes_one_order_file_and_its_shipment_file_completes_it(
    stack: Stack, api: Api, partner: httpx.AsyncClient
) -> None:
    lines = [{"sku": "MUG-11OZ", "quantity": 2, "price": "12.00"}, {"sku": "POSTER-A2", "quantity": 1}]
    external_id, request_id = await sent_order(stack, api, lines)

    name = quote(request_id, safe="") + ".csv"
    assert (await names(partner, "outbound/orders")).count(name) == 1
    order_file = (await partner.get("/_sandbox/file", params={"path": f"outbound/orders/{name}"})).text
    rows = list(csv.DictReader(io.StringIO(order_file)))
    # The demo's column names: item_sku and qty (settings.order_columns).
    assert [(r["request_id"], r["item_sku"], r["qty"]) for r in rows] == [
        (request_id, "MUG-11OZ", "2"),
        (request_id, "POSTER-A2", "1"),
    ]
    assert {r["ship_to_city"] for r in rows} == {"Seattle"}

    shipment = (
        SHIPMENT_HEADER + f"{request_id},MUG-11OZ,2,1ZFILE0001,UPS\r\n{request_id},POSTER-A2,1,1ZFILE0001,UPS\r\n"
    )
    await drop(partner, f"inbound/shipments/SHIP-{external_id}.csv", shipment)
    view = await api.wait_order("shopify", external_id, completed)

    assert [(ln["sku"], ln["shipped"]) for ln in view["lines"]] == [("MUG-11OZ", 2), ("POSTER-A2", 1)]
    [parcel] = view["shipments"]
    assert parcel["trackingNumbers"] == ["1ZFILE0001"]
    [fulfillment] = await shopify_fulfillments(stack, external_id)
    assert fulfillment["tracking_number"] == "1ZFILE0001"
    assert f"SHIP-{external_id}.csv" in await until_listed(partner, "archive", f"SHIP-{external_id}.csv")
    assert f"SHIP-{external_id}.csv" not in await names(partner, "inbound/shipments")


async def test_a_file_with_two_bad_rows_reports_them_and_applies_the_rest(
    stack: Stack, api: Api, partner: httpx.AsyncClient
) -> None:
    first, first_request = await sent_order(stack, api, [{"sku": "MUG-11OZ", "quantity": 1}])
    second, second_request = await sent_order(stack, api, [{"sku": "TSHIRT-WHT-M", "quantity": 2}])
    body = (
        SHIPMENT_HEADER
        + f"{first_request},MUG-11OZ,1,1ZGOOD1,UPS\r\n"
        + f"{second_request},TSHIRT-WHT-M,zwei,1ZBAD1,UPS\r\n"
        + f"{second_request},TSHIRT-WHT-M,2,1ZGOOD2,UPS\r\n"
        + f"{first_request},MUG-11OZ,1,,UPS\r\n"
    )
    name = f"SHIP-bad-{first}.csv"
    await drop(partner, f"inbound/shipments/{name}", body)

    one = await api.wait_order("shopify", first, completed)
    two = await api.wait_order("shopify", second, completed)

    async def error_report() -> httpx.Response | None:
        # A response is truthy even when it is a 404: wait for the report itself. The orders can
        # complete before it is written (their parcels are signalled first).
        found = await partner.get("/_sandbox/file", params={"path": f"archive/{name}.errors.csv"})
        return found if found.status_code == 200 else None

    report = await until(error_report, timeout=30)

    assert [s["trackingNumbers"] for s in one["shipments"]] == [["1ZGOOD1"]]
    assert [s["trackingNumbers"] for s in two["shipments"]] == [["1ZGOOD2"]]
    assert report is not None, f"no archive/{name}.errors.csv within 30 s"
    assert report.text.splitlines() == [
        "line,reason",
        "3,bad quantity 'zwei': a whole number above 0",
        "5,missing tracking number",
    ]
    assert len(await shopify_fulfillments(stack, first)) == 1
    assert len(await shopify_fulfillments(stack, second)) == 1
    ledger = await Ledger.open(stack.ledger_url)
    try:

        async def archived() -> Any:
            # The journal marks the file archived just after the report is written and it moves.
            found = [f for f in await ledger.exchange_files_of("files") if f.name == name]
            return found[0] if found and found[0].state is FileState.ARCHIVED else None

        record = await until(archived, timeout=30)
        assert record is not None, f"{name} was not archived in the journal within 30 s"
        rows = await ledger.exchange_rows("files", record.file_key)
    finally:
        await ledger.close()
    assert (record.state, record.rows_applied, record.rows_rejected) == (FileState.ARCHIVED, 2, 2)
    assert {line: r.outcome for line, r in rows.items()} == {
        2: RowOutcome.APPLIED,
        3: RowOutcome.REJECTED,
        4: RowOutcome.APPLIED,
        5: RowOutcome.REJECTED,
    }


async def test_a_file_not_in_the_format_goes_whole_to_the_error_folder(
    stack: Stack, partner: httpx.AsyncClient
) -> None:
    await drop(partner, "inbound/shipments/SHIP-garbled.csv", "order;qty\r\nX;1\r\n")

    # The reason is written before the file moves (a crash between them leaves the file in the
    # inbox, read again), so the listing shows the reason alone for a moment.
    assert "SHIP-garbled.csv" in await until_listed(partner, "error", "SHIP-garbled.csv")
    reason = (await partner.get("/_sandbox/file", params={"path": "error/SHIP-garbled.csv.reason.txt"})).text
    assert "required column(s) missing" in reason
    assert "SHIP-garbled.csv" not in await names(partner, "inbound/shipments")


async def test_an_inventory_file_sets_the_partners_stock_in_the_ledger(
    stack: Stack, api: Api, partner: httpx.AsyncClient
) -> None:
    await drop(partner, "inbound/inventory/INV-it.csv", "sku,on_hand\r\nHOODIE-GRY-L,33\r\n")

    async def on_hand() -> bool:
        stock = (await api.http.get("/api/inventory/HOODIE-GRY-L")).json()
        return any(loc["location"] == LOCATION and loc["onHand"] == 33 for loc in stock["locations"])

    assert await until(on_hand)
