"""The notice sender: runs beside the workers, drains the ledger's notice outbox. Each pass
takes the due notices, groups them per (sink, kind, level) once the group's oldest has waited
the batch window (one out-of-stock SKU hitting 200 orders: one message listing them), delivers
each group, and on failure retries it with a doubling backoff until `attempts`, then
dead-letters it (kept, listed and re-sendable by operators). A failing sink holds no order
back: the order's notify activity only wrote the outbox."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from datetime import datetime, timedelta

import httpx
import structlog

from connectors.notice_sinks import NoticeSink, build_sink
from connectors.notice_sinks.errors import DeliveryError
from connectors.notice_sinks.model import Notice, NoticeBatch
from orderloop.config import ConfigError, NoticeDelivery, NotificationConfig
from orderloop.ledger import Ledger, NoticeRow
from orderloop.ledger.base import utc_now

log = structlog.get_logger("orderloop.notices")

# How long a claimed batch is held from other senders while its delivery runs.
_CLAIM = timedelta(minutes=2)


class NoticeSender:
    def __init__(self, ledger: Ledger, config: NotificationConfig, http: httpx.AsyncClient | None = None) -> None:
        self.ledger = ledger
        self.delivery: NoticeDelivery = config.delivery
        self.http = http or httpx.AsyncClient(timeout=15)
        self.sinks: dict[str, NoticeSink] = {
            name: build_sink(name, sink, self.http) for name, sink in config.sinks.items()
        }

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until `stop` is set (a failed pass is logged, the next one tries again)."""
        while not stop.is_set():
            try:
                await self.deliver_due()
            except Exception:
                log.exception("notices.pass_failed")
            try:
                await asyncio.wait_for(stop.wait(), timeout=self.delivery.poll_every.total_seconds())
            except TimeoutError:
                pass

    async def deliver_due(self, now: datetime | None = None) -> int:
        """One pass; returns how many batches were delivered."""
        due = await self.ledger.due_notices(now or utc_now(), self.delivery.batch_window)
        groups: dict[tuple[str, str, str, int], list[NoticeRow]] = defaultdict(list)
        for row in due:
            # Retried notices travel with the batch they failed in (same attempt count).
            groups[(row.sink, row.kind, row.level, row.attempts)].append(row)
        delivered = 0
        for rows in groups.values():
            won = set(await self.ledger.claim_notices(rows, _CLAIM))
            rows = [row for row in rows if row.id in won]
            if rows and await self._deliver(rows):
                delivered += 1
        return delivered

    async def _deliver(self, rows: list[NoticeRow]) -> bool:
        sink_name, attempts = rows[0].sink, rows[0].attempts
        ids = [row.id for row in rows]
        batch = NoticeBatch(sink=sink_name, notices=[Notice.model_validate_json(row.body) for row in rows])
        sink = self.sinks.get(sink_name)
        try:
            if sink is None:
                raise DeliveryError(f"sink {sink_name!r} is no longer configured")
            await sink.deliver(batch)
        except (DeliveryError, ConfigError) as exc:
            retry_at = None
            if attempts + 1 < self.delivery.attempts and sink is not None:
                backoff = min(self.delivery.backoff * 2**attempts, self.delivery.max_backoff)
                retry_at = utc_now() + backoff
            await self.ledger.notices_failed(ids, str(exc), retry_at)
            event = "notices.retry" if retry_at else "notices.dead_letter"
            log.warning(event, sink=sink_name, kind=batch.kind, orders=len(ids), attempt=attempts + 1, error=str(exc))
            return False
        await self.ledger.notices_delivered(ids)
        log.info("notices.delivered", sink=sink_name, kind=batch.kind, level=batch.level, orders=len(ids))
        return True

    async def aclose(self) -> None:
        await self.http.aclose()
