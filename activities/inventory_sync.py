"""The inventory sync activity: drain the ledger's outbox for one selling channel, coalesce by
SKU, read the availability at push time, and push it through the channel's connector within
the channel's rate limit."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import datetime

import structlog
from temporalio import activity

from activities.vendor_errors import vendor_call
from connectors.base import Connector
from connectors.registry import selling
from orderloop import metrics, operations_events
from orderloop.config import OrderloopConfig
from orderloop.contracts import Activities, ErrorTypes
from orderloop.contracts.inventory_sync import InventorySyncInput, InventorySyncProgress, inventory_sync_consumer
from orderloop.golive import rollout_skus
from orderloop.ledger import Ledger, OperationEvent, channel_quantities
from orderloop.ledger.base import utc_now

log = structlog.get_logger("orderloop.inventory")

BATCH = 500
CURSOR_SAVE_EVERY = 5.0
# A paced channel's wait for its next push is slept in slices this long, each heartbeated (the
# sync's heartbeat timeout is 10 s).
PACE_SLICE = 2.0


class InventorySync:
    def __init__(self, config: OrderloopConfig, ledger: Ledger, connectors: dict[str, Connector]) -> None:
        self.config = config
        self.ledger = ledger
        self.connectors = connectors

    @activity.defn(name=Activities.SYNC_CHANNEL_INVENTORY)
    async def sync_channel_inventory(self, inp: InventorySyncInput) -> InventorySyncProgress:
        details = activity.info().heartbeat_details
        progress = InventorySyncProgress(cursor=int(details[0]) if details else inp.cursor)
        channel = self.config.channel(inp.channel_id)
        rate_gap = 1 / channel.rate_limit_per_second if channel.rate_limit_per_second else 0.0
        cadence = channel.inventory_push_every.total_seconds() if channel.inventory_push_every else 0.0
        gap = max(rate_gap, inp.coalesce.total_seconds(), cadence)
        bound = log.bind(channel=channel.id)
        if progress.cursor < 0:
            progress.cursor = await self.ledger.outbox_head()
            await self._push(channel.id, await self.ledger.all_skus(), progress)
            await self.ledger.save_outbox_cursor(inventory_sync_consumer(channel.id), progress.cursor)
            bound.info("inventory.full_sync", skus=progress.skus_pushed, cursor=progress.cursor)
        deadline = time.monotonic() + inp.run_for.total_seconds()
        last_push = time.monotonic() if progress.pushes else 0.0
        if cadence and not progress.pushes:
            # A paced channel keeps its pace across runs (each run is shorter than a day's
            # cadence): the last push, wherever it was made, counts.
            pushed_at = await self.ledger.last_pushed_at(channel.id)
            if pushed_at is not None:
                last_push = time.monotonic() - max(0.0, (utc_now() - pushed_at).total_seconds())
        last_saved = 0.0
        while time.monotonic() < deadline:
            if last_push + gap - time.monotonic() > PACE_SLICE:
                # A paced channel's next push is a while off: wait for it in slices, heartbeating,
                # and never past the run's end (the next run keeps the pace).
                await asyncio.sleep(min(PACE_SLICE, max(0.0, deadline - time.monotonic())))
                activity.heartbeat(progress.cursor)
                continue
            rows = await self.ledger.next_outbox_rows(
                progress.cursor, BATCH, not_before=last_push + gap, poll_interval=inp.poll_interval
            )
            if not rows:
                activity.heartbeat(progress.cursor)
                continue
            await self._push(channel.id, {row.sku for row in rows}, progress, oldest=rows[0].created_at)
            last_push = time.monotonic()
            progress.cursor = rows[-1].id
            activity.heartbeat(progress.cursor)
            if time.monotonic() - last_saved >= CURSOR_SAVE_EVERY:
                # Only for trimming the outbox: the heartbeat is what a retry resumes from.
                await self.ledger.save_outbox_cursor(inventory_sync_consumer(channel.id), progress.cursor)
                last_saved = time.monotonic()
        bound.info("inventory.run_done", cursor=progress.cursor, pushes=progress.pushes)
        return progress

    async def _push(
        self,
        channel_id: str,
        skus: set[str] | list[str],
        progress: InventorySyncProgress,
        oldest: datetime | None = None,
    ) -> None:
        """Push the availability of `skus`; `oldest` is when the oldest stock change among them
        was written to the outbox (none for the full sync), measured at the push."""
        channel = self.config.channel(channel_id)
        # Read per push: an operator's rollout change applies without restarting the sync (the
        # SKUs it adds or removes come through the outbox).
        rollout = await rollout_skus(self.ledger, channel)
        # A SKU not rolled out on the channel publishes nothing there (not even a zero), unless
        # the channel was told a quantity for it before its rollout narrowed: that goes to 0.
        live = {sku for sku in skus if rollout is None or sku in rollout}
        outside = set(skus) - live
        withdrawn: set[str] = set()
        if outside:
            published = await self.ledger.published(channel_id)
            withdrawn = {sku for sku in outside if published.get(sku)}
        quantities = await channel_quantities(self.ledger, live | withdrawn, channel.inventory, rollout)
        if not quantities:
            return
        try:
            with vendor_call(ErrorTypes.CHANNEL_REJECTED):
                await selling(self.connectors, channel_id).push_inventory(quantities)
        except Exception:
            failed = self._push_event(channel_id, progress, len(quantities), oldest, ok=False)
            await self.ledger.record_operations([failed])
            raise
        metrics.inventory_pushed(channel_id, oldest)
        # The push's row rides in the published record's transaction (no write of its own).
        pushed = self._push_event(channel_id, progress, len(quantities), oldest, ok=True)
        await self.ledger.record_published(channel_id, quantities, [pushed])
        progress.pushes += 1
        progress.skus_pushed += len(quantities)

    def _push_event(
        self, channel_id: str, progress: InventorySyncProgress, skus: int, oldest: datetime | None, ok: bool
    ) -> OperationEvent:
        """One push in the operations record: each attempt of each push of this activity run
        once (its key: the activity, its attempt and the push's number)."""
        now = utc_now()
        try:
            info = activity.info()
            run = f"{info.workflow_id}/{info.activity_id}/{info.attempt}"
        except RuntimeError:
            run = uuid.uuid4().hex  # called outside an activity (tests, tools): one row per call
        latency = None if oldest is None else max(0.0, (now - oldest).total_seconds())
        key = f"push/{channel_id}/{run}/{progress.pushes}/{'ok' if ok else 'failed'}"
        return operations_events.inventory_pushed(key, channel_id, now, skus, latency, ok)
