"""Inventory over the real stack: stock the WMS receives reaches the ledger by webhook, wakes
an order waiting for it, and operators see it through the CLI."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import httpx
import pytest
from typer.testing import CliRunner

from orderloop.cli import app
from orderloop.loopback_stack import TOKEN
from orderloop.settings import get_settings
from orderloop.stack import Stack
from tests.integration.stack import Api
from tests.integration.test_order_loop import base_url, completed, new_id, order_body, signed

pytestmark = pytest.mark.integration


async def wms_stock(stack: Stack, stock: dict[str, dict[str, int]]) -> None:
    async with httpx.AsyncClient(timeout=10) as http:
        response = await http.post(f"{base_url(stack, 'wms')}/_sandbox/stock", json=stock)
        response.raise_for_status()


async def test_stock_received_at_the_wms_releases_an_order_waiting_for_it(stack: Stack, api: Api) -> None:
    sku = f"LAMP-{new_id()}".upper()
    # The WMS reports the new SKU with nothing on hand: the ledger knows it, empty.
    await wms_stock(stack, {"east": {sku: 0}})
    for _ in range(40):
        if (await api.http.get(f"/api/inventory/{sku}")).status_code == 200:
            break
        await asyncio.sleep(0.1)
    external_id = new_id()
    body = json.dumps(order_body(external_id, sku=sku, quantity=2)).encode()
    async with httpx.AsyncClient(timeout=10) as http:
        accepted = await http.post(f"{stack.gateway_url}/webhooks/storefront", content=body, headers=signed(body))
    assert accepted.status_code == 202, accepted.text
    waiting = await api.wait_order(
        "storefront", external_id, lambda v: v["status"] == "exception" and v["exceptions"][-1]["resolvedAt"] is None
    )
    assert waiting["exceptions"][-1]["kind"] == "out_of_stock"
    # Goods arrive at the WMS; its inventory webhook, the ledger and the restock watcher do the
    # rest long before the 15-minute out-of-stock re-check.
    await wms_stock(stack, {"east": {sku: 5}})
    view = await api.wait_order("storefront", external_id, completed, timeout=30)
    assert any(entry["event"] == "stock arrived" for entry in view["timeline"])
    stock = (await api.http.get(f"/api/inventory/{sku}")).json()
    # Two units shipped out of the five received.
    assert stock["totals"] == {"onHand": 3, "reserved": 0, "available": 3}


@pytest.fixture
def cli_env(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    monkeypatch.setenv("ORDERLOOP_GATEWAY_URL", stack.gateway_url)
    monkeypatch.setenv("ORDERLOOP_API_TOKEN", TOKEN)
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


async def test_inventory_show_and_preview_from_the_cli(stack: Stack, cli_env: CliRunner) -> None:
    sku = f"MAP-{new_id()}".upper()
    await wms_stock(stack, {"east": {sku: 4}, "west": {sku: 6}})
    for _ in range(40):
        shown = cli_env.invoke(app, ["inventory", "show", sku, "--json"])
        if shown.exit_code == 0:
            break
        await asyncio.sleep(0.1)
    assert shown.exit_code == 0, shown.output
    data = json.loads(shown.output)
    assert {row["location"]: row["available"] for row in data["locations"]} == {"east": 4, "west": 6}
    table = cli_env.invoke(app, ["inventory", "show", sku])
    assert table.exit_code == 0 and "storefront" in table.output and "10" in table.output
    # The inventory sync pushes the new quantity to the storefront within moments.
    for _ in range(50):
        preview = cli_env.invoke(app, ["inventory", "preview", "storefront", "--sku", sku, "--json"])
        assert preview.exit_code == 0, preview.output
        [row] = json.loads(preview.output)["skus"]
        if row["published"] == 10:
            break
        await asyncio.sleep(0.1)
    assert row == {"sku": sku, "rolledOut": True, "wouldPublish": 10, "published": 10}
    async with httpx.AsyncClient(timeout=10) as http:
        recorded = await http.get(
            f"{base_url(stack, 'storefront')}/_sandbox/requests", params={"method": "POST", "path_prefix": "/inventory"}
        )
    pushes = recorded.json()
    assert any(item["sku"] == sku and item["available"] == 10 for p in pushes for item in p["body"]["items"])
    missing = cli_env.invoke(app, ["inventory", "show", "NO-SUCH-SKU"])
    assert missing.exit_code == 1 and "unknown SKU" in missing.output


async def test_a_sale_on_the_storefront_reaches_the_shopify_shop(stack: Stack, api: Api) -> None:
    """Both selling channels draw on the same East stock: a storefront sale lowers what the
    Shopify shop is told it may sell, through the ledger and the inventory sync."""
    sku = "TSHIRT-WHT-M"
    shopify = base_url(stack, "shopify")
    async with httpx.AsyncClient(timeout=10) as http:

        async def shop_level() -> int | None:
            levels = (await http.get(f"{shopify}/_sandbox/inventory")).json()["levels"].get(sku, {})
            return next(iter(levels.values()), None)

        async def expected() -> int:
            preview = (await api.http.get("/api/inventory/channels/shopify/preview", params={"sku": [sku]})).json()
            return int(preview["skus"][0]["wouldPublish"])

        for _ in range(50):  # the shop has caught up with the ledger
            before = await expected()
            if await shop_level() == before:
                break
            await asyncio.sleep(0.2)
        assert await shop_level() == before
        external_id = new_id()
        body = json.dumps(order_body(external_id, sku=sku, quantity=2)).encode()
        placed = await http.post(f"{stack.gateway_url}/webhooks/storefront", content=body, headers=signed(body))
        assert placed.status_code == 202, placed.text
        await api.wait_order("storefront", external_id, completed)
        for _ in range(50):
            if await shop_level() == before - 2:
                break
            await asyncio.sleep(0.2)
        assert await shop_level() == before - 2
