"""The restock watcher: follows the ledger's outbox and, when a SKU's available units rise
(stock received, a snapshot, another order released), signals the orders waiting in
`out_of_stock` or `unroutable` so they try to allocate at once instead of at their next timer."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable

import structlog
from temporalio import activity
from temporalio.client import Client
from temporalio.service import RPCError

from orderloop.contracts import ORDER_WORKFLOW, Activities, SearchAttributes, Signals, StockArrived
from orderloop.contracts.restock import RESTOCK_CONSUMER, RestockWatchInput, RestockWatchProgress
from orderloop.ledger import Ledger
from orderloop.model import ExceptionKind

log = structlog.get_logger("orderloop.restock")

BATCH = 1000
CURSOR_SAVE_EVERY = 5.0
WAITING_QUERY = (
    f"WorkflowType = '{ORDER_WORKFLOW}' AND ExecutionStatus = 'Running' AND "
    f"{SearchAttributes.EXCEPTION.name} IN ('{ExceptionKind.OUT_OF_STOCK}', '{ExceptionKind.UNROUTABLE}')"
)


async def wake_waiting_orders(client: Client, skus: Iterable[str], limit: int) -> int:
    """Signal every order waiting for stock (up to `limit`); each checks whether the SKUs concern
    it. Returns how many were signalled."""
    arrived = StockArrived(skus=sorted(set(skus)))
    ids = [wf.id async for wf in client.list_workflows(WAITING_QUERY, limit=limit)]
    gate = asyncio.Semaphore(20)

    async def one(workflow_id: str) -> bool:
        async with gate:
            try:
                await client.get_workflow_handle(workflow_id).signal(Signals.STOCK_ARRIVED, arrived)
            except RPCError:  # closed since the listing: nothing to wake
                return False
            return True

    return sum(await asyncio.gather(*(one(i) for i in ids)))


class RestockWatch:
    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger

    @activity.defn(name=Activities.WATCH_RESTOCK)
    async def watch_restock(self, inp: RestockWatchInput) -> RestockWatchProgress:
        details = activity.info().heartbeat_details
        cursor = int(details[0]) if details else inp.cursor
        if cursor < 0:
            cursor = await self.ledger.outbox_head()
        progress = RestockWatchProgress(cursor=cursor)
        # Available units per SKU as last seen; a SKU seen for the first time with units counts
        # as risen (a wasted retry at worst, never a missed one).
        seen: dict[str, int] = {}
        deadline = time.monotonic() + inp.run_for.total_seconds()
        last_saved = 0.0
        last_look = 0.0
        while time.monotonic() < deadline:
            rows = await self.ledger.next_outbox_rows(
                progress.cursor,
                BATCH,
                not_before=last_look + inp.coalesce.total_seconds(),
                poll_interval=inp.poll_interval,
            )
            if not rows:
                activity.heartbeat(progress.cursor)
                continue
            last_look = time.monotonic()
            skus = {row.sku for row in rows}
            totals = dict.fromkeys(skus, 0)
            for (sku, _location), free in (await self.ledger.available(skus)).items():
                totals[sku] += max(free, 0)
            risen = sorted(sku for sku, total in totals.items() if total > seen.get(sku, 0))
            seen.update(totals)
            if risen:
                woken = await wake_waiting_orders(activity.client(), risen, inp.max_wakeups)
                progress.woken += woken
                if woken:
                    log.info("restock.woke_orders", skus=risen[:20], orders=woken)
            progress.cursor = rows[-1].id
            activity.heartbeat(progress.cursor)
            if time.monotonic() - last_saved >= CURSOR_SAVE_EVERY:
                # Only for trimming the outbox: the heartbeat is what a retry resumes from.
                await self.ledger.save_outbox_cursor(RESTOCK_CONSUMER, progress.cursor)
                last_saved = time.monotonic()
        return progress
