"""The EDI partner's 846 inventory advice through the real stack: with 846 among the partner's
documents, the inventory sync's first run advises every SKU the partner carries, and a stock
change at the WMS reaches the partner as a later 846 at the channel's pace
(`inventory_push_every`), each advice passing the partner's checks and saying what the ledger
published for the channel. A stack of its own, since the other EDI module counts every
document the partner reads."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio

from orderloop.ledger import Ledger
from orderloop.loopback_stack import make_stack
from orderloop.stack import Stack
from tests.integration.stack import base_url, edit_config, started

pytestmark = pytest.mark.integration

CHANNEL = "edi-acme"
SKUS = ("TSHIRT-BLK-M", "TSHIRT-WHT-M", "MUG-11OZ")


def advising(data: dict[str, Any]) -> None:
    for channel in data["channels"]:
        if channel["id"] == CHANNEL:
            channel["poll_orders_every"] = "1h"
            channel["inventory_push_every"] = "2s"
            channel["settings"]["documents"] = ["850", "860", "997", "855", "856", "810", "846"]


@pytest_asyncio.fixture(scope="module")
async def stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    built = make_stack(tmp_path_factory.mktemp("edi-846"))
    edit_config(built.config_path, advising)
    async with started(built) as running:
        yield running


async def advised(partner: httpx.AsyncClient) -> dict[str, Any]:
    answer = await partner.get("/_sandbox/inventory")
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


async def published(stack: Stack) -> dict[str, int]:
    ledger = await Ledger.open(stack.ledger_url)
    try:
        return await ledger.published(CHANNEL)
    finally:
        await ledger.close()


async def until_advised(partner: httpx.AsyncClient, check: Any, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    seen = await advised(partner)
    while not check(seen) and time.monotonic() < deadline:
        await asyncio.sleep(0.25)
        seen = await advised(partner)
    return seen


async def test_the_partner_is_advised_its_skus_and_then_a_stock_change(stack: Stack) -> None:
    async with (
        httpx.AsyncClient(base_url=base_url(stack, CHANNEL), timeout=10) as partner,
        httpx.AsyncClient(base_url=base_url(stack, "wms"), timeout=10) as wms,
    ):
        first = await until_advised(partner, lambda seen: set(SKUS) <= set(seen["advised"]))
        assert set(SKUS) <= set(first["advised"]) and first["advices"] >= 1
        before = (await published(stack))["MUG-11OZ"]
        assert first["advised"]["MUG-11OZ"] == before

        stocked = await wms.post("/_sandbox/stock", json={"east": {"MUG-11OZ": before + 25}})
        assert stocked.is_success, stocked.text
        later = await until_advised(partner, lambda seen: seen["advised"].get("MUG-11OZ") != before)

        assert later["advices"] > first["advices"]
        assert later["advised"]["MUG-11OZ"] == (await published(stack))["MUG-11OZ"] != before
        documents = (await partner.get("/_sandbox/documents")).json()
        advices = [d for d in documents if "846" in d["kinds"]]
        assert advices and all(d["ok"] for d in advices), [d["problems"] for d in advices]
