"""A retail partner over EDI X12 through the real stack (issue 21's proof): the sandbox partner
drops an 850 on its SFTP server's inbox; the order poll reads it (997 back), the order routes
from East (the DC) under the `edi-acme-from-the-dc` rule, is acknowledged with an 855 once
allocated, ships from the WMS in two cartons (parcels), and the partner's outbox holds one 856
with two SSCCs and one 810, each once, every document passing the partner's checks (counts,
rising control numbers, known PO, SSCC check digits, totals). The same interchange re-sent starts
nothing and is not acknowledged again. A malformed 850 is rejected (997 with AK3/AK4), starts
nothing and is listed for operators. An 860 before send changes the waiting order (its ship
window not open yet) and its cancel cancels it; one after send opens `edit_after_release`.
The partner answers the 855, 856 and 810 with 997s; when it rejects the 856 (AK5 R with AK3/AK4),
the next poll raises `edi_document_rejected` on the order (completed, kept open for deliveries:
the case is reported on its timeline) and the operator API lists the 856 rejected, first, with
its codes.
The module runs a stack of its own (the SFTP server on a free port, its folders under the
stack's home), the channel polled only when the test says, the WMS splitting every request into
two parcels."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from typer.testing import CliRunner

from orderloop.cli import app
from orderloop.contracts.scheduled_jobs import PollOrdersReport
from orderloop.loopback_stack import TOKEN, make_stack
from orderloop.settings import get_settings
from orderloop.stack import Stack
from tests.integration.stack import (
    Api,
    base_url,
    edit_config,
    open_exception,
    run_schedule_now,
    set_channel,
    started,
)
from tests.integration.test_channel_paths import status_is
from tests.integration.test_order_loop import completed

pytestmark = pytest.mark.integration

CHANNEL = "edi-acme"


def polled_every(poll: str) -> Any:
    def change(data: dict[str, Any]) -> None:
        for channel in data["channels"]:
            if channel["id"] == CHANNEL:
                channel["poll_orders_every"] = poll

    return change


@pytest_asyncio.fixture(scope="module")
async def stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    home = tmp_path_factory.mktemp("edi")
    built = make_stack(home, **{"wms.partial_ratio": "1"})
    edit_config(built.config_path, polled_every("1h"))
    # A completed order stays open for its deliveries (the WMS reports none unless told): a case
    # the partner raises after the 856 reaches the running order.
    edit_config(built.config_path, set_channel(wms={"await_delivery": "1h"}))
    async with started(built) as running:
        yield running


@pytest_asyncio.fixture
async def partner(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=base_url(stack, CHANNEL), timeout=10) as http:
        yield http


@pytest_asyncio.fixture
async def api(stack: Stack) -> AsyncIterator[Api]:
    client = Api(stack)
    yield client
    await client.aclose()


@pytest.fixture
def cli(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    monkeypatch.setenv("ORDERLOOP_GATEWAY_URL", stack.gateway_url)
    monkeypatch.setenv("ORDERLOOP_API_TOKEN", TOKEN)
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


async def control(http: httpx.AsyncClient, method: str, path: str, **kwargs: Any) -> Any:
    response = await http.request(method, f"/_sandbox/{path}", **kwargs)
    assert response.is_success, response.text
    return response.json()


async def test_an_850_on_the_partners_sftp_inbox_ships_from_the_dc_with_its_856_and_810_once(
    stack: Stack, partner: httpx.AsyncClient, api: Api
) -> None:
    placed = await control(
        partner,
        "POST",
        "purchase-orders",
        json={
            "poNumber": "4500090001",
            "lines": [
                {"sku": "TSHIRT-BLK-M", "quantity": 24, "price": "7.50", "casePack": 12},
                {"sku": "MUG-11OZ", "quantity": 12, "price": "4.25", "casePack": 6},
            ],
            "shipNoLater": "2099-12-31",
            "carrier": "UPSN",
            "markFor": "0231",
        },
    )

    report = await run_schedule_now(stack, f"order-poll/{CHANNEL}", PollOrdersReport)

    assert report.started == [f"order/{CHANNEL}/4500090001"]
    view = await api.wait_order(CHANNEL, "4500090001", completed, timeout=90)
    assert view["order"]["orderType"] == "wholesale"
    assert view["order"]["wholesale"]["customerPoNumber"] == "4500090001"
    assert view["allocation"]["rule"] == "edi-acme-from-the-dc"
    assert [r["request"]["locationId"] for r in view["shippingRequests"]] == ["east"]
    assert len(view["shipments"]) == 2
    read = await control(partner, "GET", "documents")
    assert [d["kinds"] for d in read] == [["997"], ["855"], ["856"], ["810"]]
    assert [d["problems"] for d in read] == [[], [], [], []]
    ack, confirmation, notice, bill = (d["summary"] for d in read)
    assert (ack["group"], ack["status"]) == (str(placed["controlNumber"]), "A")
    assert (confirmation["po"], confirmation["type"], confirmation["lines"]) == (
        "4500090001",
        "AD",
        [["IA", "24"], ["IA", "12"]],
    )
    assert notice["po"] == "4500090001" and notice["cartons"] == 2 and len(set(notice["ssccs"])) == 2
    assert (bill["po"], bill["total_cents"]) == ("4500090001", str(24 * 750 + 12 * 425))

    await control(partner, "POST", "purchase-orders/4500090001/resend")
    again = await run_schedule_now(stack, f"order-poll/{CHANNEL}", PollOrdersReport)

    assert again.started == [] and again.cancels_delivered == [] and again.edits_delivered == []
    assert await control(partner, "GET", "documents") == read  # no second 997, 855, 856 or 810


async def test_a_malformed_850_is_rejected_with_a_997_and_listed_and_starts_nothing(
    stack: Stack, partner: httpx.AsyncClient, api: Api
) -> None:
    bad = (Path(__file__).parents[1] / "connectors" / "edi" / "fixtures" / "850_malformed.x12").read_bytes()
    await control(partner, "POST", "files", params={"name": "malformed.x12"}, content=bad)

    report = await run_schedule_now(stack, f"order-poll/{CHANNEL}", PollOrdersReport)

    assert report.started == []
    assert (await api.order(CHANNEL, "4500012399")).status_code == 404
    [rejection] = [d for d in await control(partner, "GET", "documents") if d["summary"].get("group") == "907"]
    assert rejection["summary"]["status"] == "R"
    assert ["BEG", "2", "", "8"] in rejection["summary"]["errors"]
    listed = await api.http.get("/api/edi/interchanges", params={"channel": CHANNEL, "status": "rejected"})
    assert listed.status_code == 200, listed.text
    [row] = [r for r in listed.json() if r["controlNumber"] == "000000907"]
    assert "BEG at 2: AK3 8 (BEG05 AK4 8)" in row["detail"]


async def test_an_860_before_send_changes_the_order_and_its_cancel_cancels_it(
    stack: Stack, partner: httpx.AsyncClient, api: Api
) -> None:
    # Two days on: tomorrow's date opens the window at 00:00 UTC, which is seconds away when the
    # test runs just before midnight.
    later = (datetime.now(UTC) + timedelta(days=2)).date().isoformat()
    po = {
        "poNumber": "4500090002",
        "lines": [
            {"sku": "TSHIRT-WHT-M", "quantity": 24, "price": "7.50"},
            {"sku": "MUG-11OZ", "quantity": 6, "price": "4.25"},
        ],
        "shipNotBefore": later,  # the order waits for its ship window: nothing is sent yet
    }
    await control(partner, "POST", "purchase-orders", json=po)
    await run_schedule_now(stack, f"order-poll/{CHANNEL}", PollOrdersReport)
    await api.wait_order(CHANNEL, "4500090002", status_is("awaiting_ship_date"))
    await control(partner, "POST", "purchase-orders/4500090002/changes", json={"lines": [{"line": 1, "quantity": 12}]})

    changed = await run_schedule_now(stack, f"order-poll/{CHANNEL}", PollOrdersReport)

    assert changed.edits_delivered == [f"order/{CHANNEL}/4500090002"]
    view = await api.wait_order(
        CHANNEL, "4500090002", lambda v: [line["quantity"] for line in v["order"]["lineItems"]] == [12, 6]
    )
    assert view["shippingRequests"] == [] and view["status"] == "awaiting_ship_date"
    await control(partner, "POST", "purchase-orders/4500090002/changes", json={"cancel": True})

    cancelled = await run_schedule_now(stack, f"order-poll/{CHANNEL}", PollOrdersReport)

    assert cancelled.cancels_delivered == [f"order/{CHANNEL}/4500090002"]
    await api.wait_order(CHANNEL, "4500090002", status_is("cancelled"))


async def test_an_860_after_send_opens_edit_after_release(stack: Stack, partner: httpx.AsyncClient, api: Api) -> None:
    wms = base_url(stack, "wms")
    async with httpx.AsyncClient(base_url=wms, timeout=10) as http:
        await http.post("/_sandbox/config", json={"auto_ship": False})  # the warehouse holds the request
        try:
            po = {
                "poNumber": "4500090003",
                "lines": [
                    {"sku": "TSHIRT-WHT-M", "quantity": 12, "price": "7.50"},
                    {"sku": "MUG-11OZ", "quantity": 6, "price": "4.25"},
                ],
            }
            await control(partner, "POST", "purchase-orders", json=po)
            await run_schedule_now(stack, f"order-poll/{CHANNEL}", PollOrdersReport)
            await api.wait_order(CHANNEL, "4500090003", status_is("sent_to_fulfillment"))
            await control(
                partner, "POST", "purchase-orders/4500090003/changes", json={"lines": [{"line": 2, "quantity": 0}]}
            )

            await run_schedule_now(stack, f"order-poll/{CHANNEL}", PollOrdersReport)

            view = await api.wait_order(CHANNEL, "4500090003", open_exception("edit_after_release"))
            assert [line["sku"] for line in view["order"]["lineItems"]] == ["TSHIRT-WHT-M", "MUG-11OZ"]  # not applied
        finally:
            await http.post("/_sandbox/config", json={"auto_ship": True})


async def test_a_partner_rejecting_the_856_raises_it_on_the_order_and_lists_it_rejected(
    stack: Stack, partner: httpx.AsyncClient, api: Api, cli: CliRunner
) -> None:
    po = {
        "poNumber": "4500090004",
        "lines": [{"sku": "TSHIRT-BLK-M", "quantity": 12, "price": "7.50"}],
        "shipNoLater": "2099-12-31",
    }
    await control(partner, "POST", "purchase-orders", json=po)
    await run_schedule_now(stack, f"order-poll/{CHANNEL}", PollOrdersReport)
    await api.wait_order(CHANNEL, "4500090004", completed, timeout=90)
    ak3 = [
        {"segment": "TD1", "position": 4, "code": "8", "elements": [{"position": 2, "reference": "80", "code": "1"}]}
    ]
    await control(partner, "POST", "rejections", json={"kind": "856", "ak5": ["5"], "ak3": ak3})
    read = await control(partner, "GET", "documents")  # the partner reads the outbox and answers with 997s
    [notice] = [d for d in read if d["kinds"] == ["856"] and d["summary"]["po"] == "4500090004"]
    assert len(notice["summary"]["answered"]) == 1

    await run_schedule_now(stack, f"order-poll/{CHANNEL}", PollOrdersReport)

    def reported(view: dict[str, Any]) -> bool:
        return any(
            e["event"] == "channel exception reported" and "edi_document_rejected" in (e.get("detail") or "")
            for e in view["timeline"]
        )

    view = await api.wait_order(CHANNEL, "4500090004", reported)
    [entry] = [e for e in view["timeline"] if e["event"] == "channel exception reported"]
    assert f"856 ship notice sent in interchange {notice['controlNumber']}" in entry["detail"]
    assert "AK5 5" in entry["detail"] and "TD102: AK4 1 (mandatory data element missing)" in entry["detail"]
    listed = await api.http.get("/api/edi/documents", params={"channel": CHANNEL})
    assert listed.status_code == 200, listed.text
    mine = [d for d in listed.json() if "4500090004" in d["key"]]
    assert [(d["kind"], d["status"]) for d in mine] == [("856", "rejected"), ("810", "accepted"), ("855", "accepted")]
    assert mine[0]["controlNumber"] == int(notice["controlNumber"])
    assert mine[0]["codes"] == ["AK9 R", "AK5 R", "AK5 5", "AK3 TD1 4 8", "AK4 TD102 1"]
    rejected = await api.http.get("/api/edi/documents", params={"channel": CHANNEL, "status": "rejected"})
    assert [d["key"] for d in rejected.json()] == [mine[0]["key"]]
    shown = await asyncio.to_thread(
        cli.invoke, app, ["edi", "documents", "--channel", CHANNEL, "--status", "rejected", "--json"]
    )
    assert shown.exit_code == 0, shown.output
    assert [(d["kind"], d["status"], d["codes"]) for d in json.loads(shown.output)] == [
        ("856", "rejected", mine[0]["codes"])
    ]
    table = await asyncio.to_thread(cli.invoke, app, ["edi", "documents", "--channel", CHANNEL])
    assert table.exit_code == 0 and "EDI documents sent" in table.output and "TD102" in table.output, table.output
