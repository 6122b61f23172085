"""The flat-file partner sandbox as the demo runs it: its SFTP server takes the connector's order
files (unwind CSV, flat JSON) and, as a warehouse, answers each with a shipment file the
connector collects; it drops its stock as an inventory file at start; its controls show the host
key the connector trusts and refuse paths outside its folder."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from connectors.base import SandboxOptions
from connectors.flatfile import FlatFileConnector
from connectors.flatfile.sandbox import create_app
from orderloop.ledger import Ledger
from tests.connectors.contract.sandbox_session import SandboxSession, channel_with_secrets, open_sandbox
from tests.connectors.contract.steps import RecordingSink
from tests.connectors.flatfile.conftest import LOCATION, SECRETS, channel_fields
from tests.connectors.shipping_requests import shipping_request_to


@asynccontextmanager
async def partner(
    monkeypatch: pytest.MonkeyPatch, root: Path, settings: dict[str, Any] | None = None, **knobs: Any
) -> AsyncIterator[tuple[SandboxSession, FlatFileConnector]]:
    channel = channel_with_secrets(monkeypatch, SECRETS, **channel_fields(**(settings or {})))
    async with open_sandbox(channel, create_app, root=str(root), **knobs) as session:
        connector = FlatFileConnector(channel)
        try:
            yield session, connector
        finally:
            await connector.aclose()


async def names(session: SandboxSession, folder: str) -> list[str]:
    return [f["name"] for f in (await session.control("GET", "/_sandbox/files", params={"folder": folder}))["files"]]


async def shipped_back(session: SandboxSession, connector: FlatFileConnector, tmp_path: Path) -> RecordingSink:
    for _ in range(200):
        if await names(session, connector.settings.shipments_folder):
            break
        await asyncio.sleep(0.02)
    sink = RecordingSink()
    ledger = await Ledger.open(f"sqlite:///{tmp_path / 'journal.db'}")
    try:
        await connector.collect_reports(ledger, sink)
    finally:
        await ledger.close()
    return sink


@pytest.mark.parametrize(
    "settings",
    [{}, {"format": "json", "layout": "flat", "order_columns": {"sku": "item", "quantity": "units"}}],
    ids=["unwind-csv", "flat-json"],
)
async def test_the_partner_ships_each_order_file_it_collects(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, settings: dict[str, Any]
) -> None:
    async with partner(monkeypatch, tmp_path / "root", settings, ship_delay=0.05, inventory_on_start=False) as (
        session,
        connector,
    ):
        request = shipping_request_to("files", "2001", location=LOCATION)
        await connector.create_shipping_request(request)
        sink = await shipped_back(session, connector, tmp_path)
        received = await names(session, "partner/received")

    assert received == ["order%2Fstorefront%2F2001%2Fsr1" + connector.settings.extension]
    [shipment] = sink.shipments
    assert shipment.shipping_request_id == request.id
    assert [(li.sku, li.quantity) for li in shipment.line_items] == [("TSHIRT-BLK-M", 2), ("MUG-11OZ", 1)]
    assert shipment.shipping_carrier == "UPS" and shipment.tracking_numbers[0].startswith("1ZFILES")


async def test_the_partner_drops_its_stock_at_start(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    channel = channel_with_secrets(monkeypatch, SECRETS, **channel_fields())
    app = create_app(
        SandboxOptions(
            channel=channel,
            webhook_url="http://unused.test",
            knobs={"root": str(tmp_path / "root"), "auto_ship": False},
            stock={LOCATION: {"MUG-11OZ": 7, "POSTER-A2": 2}},
        )
    )
    async with app.router.lifespan_context(app):
        dropped = (tmp_path / "root/inbound/inventory/INV-start.csv").read_bytes()
    assert dropped == b"sku,on_hand\r\nMUG-11OZ,7\r\nPOSTER-A2,2\r\n"


async def test_controls_show_the_host_key_and_keep_to_the_folder(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    async with partner(monkeypatch, tmp_path / "root", auto_ship=False) as (session, connector):
        shown = await session.control("GET", "/_sandbox/host-key")
        escaped = await session.http.put("/_sandbox/file", params={"path": "../outside.csv"}, content=b"x")
        missing = await session.http.get("/_sandbox/file", params={"path": "inbound/none.csv"})
        # The connector trusts exactly the key the sandbox shows, and logs in with it.
        await connector.create_shipping_request(shipping_request_to("files", "2002", location=LOCATION))
    assert shown["hostKey"] == SECRETS["ORDERLOOP_TEST_FILES_HOST_KEY"]
    assert escaped.status_code == 400 and not (tmp_path / "outside.csv").exists()
    assert missing.status_code == 404
