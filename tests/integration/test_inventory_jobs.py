"""The scheduled inventory jobs over the real stack, run at once through the worker's own
schedules: the stock snapshot pulls a WMS's changed stock into the ledger (and on to the selling
channels), and the reconciliation reports a selling channel left behind the ledger, then a
clean bill once the channel caught up."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import httpx
import pytest

from orderloop.config import load_config
from orderloop.contracts.scheduled_jobs import ReconcileReport, SnapshotReport
from orderloop.ledger import EventKind, Ledger
from orderloop.model import ConnectorRole
from orderloop.stack import Stack
from tests.integration.stack import run_schedule_now
from tests.integration.test_order_loop import base_url, new_id

pytestmark = pytest.mark.integration


async def ok(response: httpx.Response) -> Any:
    assert response.status_code < 300, response.text
    return response.json()


async def ledger_stock(stack: Stack, sku: str) -> dict[str, int]:
    ledger = await Ledger.open(stack.ledger_url)
    try:
        return {level.location_id: level.on_hand for level in await ledger.stock(sku)}
    finally:
        await ledger.close()


async def published(stack: Stack, channel_id: str) -> dict[str, int]:
    ledger = await Ledger.open(stack.ledger_url)
    try:
        return await ledger.published(channel_id)
    finally:
        await ledger.close()


async def channel_levels(http: httpx.AsyncClient, stack: Stack, skus: list[str]) -> dict[str, int | None]:
    data = await ok(await http.get(f"{base_url(stack, 'storefront')}/_sandbox/inventory"))
    return {sku: data["levels"].get(sku, {}).get("available") for sku in skus}


async def until_levels(http: httpx.AsyncClient, stack: Stack, expected: dict[str, int], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    levels = await channel_levels(http, stack, list(expected))
    while levels != expected and time.monotonic() < deadline:
        await asyncio.sleep(0.25)
        levels = await channel_levels(http, stack, list(expected))
    assert levels == expected


def changed(report: SnapshotReport) -> dict[str, int]:
    return {location.location_id: location.changed for location in report.locations}


async def test_stock_snapshot_brings_a_changed_wms_stock_into_the_ledger(stack: Stack) -> None:
    east_sku, west_sku = f"SNAP-{new_id()}".upper(), f"SNAP-{new_id()}".upper()
    wms = base_url(stack, "wms")
    async with httpx.AsyncClient(timeout=10) as http:
        # No inventory webhook: only the snapshot can carry the change.
        await ok(await http.post(f"{wms}/_sandbox/config", json={"inventory_webhooks": False}))
        try:
            baseline = await run_schedule_now(stack, "stock-snapshot/wms", SnapshotReport)
            await ok(await http.post(f"{wms}/_sandbox/stock", json={"east": {east_sku: 17}, "west": {west_sku: 4}}))
            await asyncio.sleep(0.5)
            assert await ledger_stock(stack, east_sku) == {} and await ledger_stock(stack, west_sku) == {}
            first = await run_schedule_now(stack, "stock-snapshot/wms", SnapshotReport)
            await ok(await http.post(f"{wms}/_sandbox/stock", json={"east": {east_sku: 12}}))
            second = await run_schedule_now(stack, "stock-snapshot/wms", SnapshotReport)
            third = await run_schedule_now(stack, "stock-snapshot/wms", SnapshotReport)
        finally:
            await ok(await http.post(f"{wms}/_sandbox/config", json={"inventory_webhooks": True}))
        await until_levels(http, stack, {east_sku: 12, west_sku: 4})
    rows = {loc.location_id: loc.changed + loc.unchanged for loc in baseline.locations}
    assert first.channel_id == "wms" and first.unmapped_rows == 0
    assert changed(first) == {"east": 1, "west": 1}
    assert {loc.location_id: loc.unchanged for loc in first.locations} == rows
    assert changed(second) == {"east": 1, "west": 0}
    assert changed(third) == {"east": 0, "west": 0}
    assert all(loc.oversold == [] for report in (first, second, third) for loc in report.locations)
    assert await ledger_stock(stack, east_sku) == {"east": 12}
    assert await ledger_stock(stack, west_sku) == {"west": 4}
    ledger = await Ledger.open(stack.ledger_url)
    try:
        events = await ledger.events(east_sku)
    finally:
        await ledger.close()
    assert sorted((e.kind, e.delta, e.cause.ref) for e in events) == [
        (EventKind.SNAPSHOT, -5, "wms"),
        (EventKind.SNAPSHOT, 17, "wms"),
    ]


async def test_reconciliation_reports_a_channel_left_behind_then_a_clean_bill(stack: Stack) -> None:
    sku = f"RECON-{new_id()}".upper()
    storefront, wms = base_url(stack, "storefront"), base_url(stack, "wms")
    async with httpx.AsyncClient(timeout=10) as http:
        await ok(await http.post(f"{wms}/_sandbox/stock", json={"east": {sku: 9}}))
        await until_levels(http, stack, {sku: 9})
        # The storefront refuses every inventory push: it keeps showing 9 while the ledger has 30.
        await ok(
            await http.post(
                f"{storefront}/_sandbox/faults", json={"status": 503, "count": 1000, "path_prefix": "/inventory"}
            )
        )
        try:
            await ok(await http.post(f"{wms}/_sandbox/stock", json={"east": {sku: 30}}))
            # Every other selling channel that sells the SKU has caught up: only the storefront
            # is behind.
            config = load_config(stack.config_path)
            others = [
                c.id
                for c in config.channels_with_role(ConnectorRole.SELLING)
                if c.id != "storefront" and (c.skus is None or sku in c.skus)
            ]
            for _ in range(600):
                if all([(await published(stack, c)).get(sku) == 30 for c in others]):
                    break
                await asyncio.sleep(0.1)
            drifted = await run_schedule_now(stack, "inventory-reconciliation", ReconcileReport)
        finally:
            await ok(await http.delete(f"{storefront}/_sandbox/faults"))
        await until_levels(http, stack, {sku: 30})
        clean = await run_schedule_now(stack, "inventory-reconciliation", ReconcileReport)
    assert drifted.ledger_problems == []
    assert drifted.channel_drift == {"storefront": {sku: [9, 30]}}
    assert clean.ledger_problems == [] and clean.channel_drift == {}
    logged = [json.loads(line) for line in (stack.logs_dir / "worker.log").read_text().splitlines() if sku in line]
    reported = [line["report"]["channel_drift"] for line in logged if line.get("event") == "inventory.drift"]
    assert reported == [{"storefront": {sku: [9, 30]}}]
