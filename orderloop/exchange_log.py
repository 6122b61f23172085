"""The exchange log (Pipe17 calls it the events page): every call Orderloop makes to a vendor and
every webhook it receives, with the vendor's answer, so an operator sees what was said to whom.

The hot path only appends: `ExchangeRecorder.add` puts the raw call (bytes as sent and
received) on an in-memory queue and returns; a background task of the same process takes the
queue every `flush_every` (or as soon as `batch` calls wait), redacts the bodies
(orderloop.redaction) and writes them to the ledger in one transaction per batch. So a vendor
call waits for no database write, and the database sees one INSERT per batch, not one per call.
If the ledger is down the batch is logged and dropped (the log is for operators, never a reason
to fail an order); when more than `max_pending` calls wait, the oldest are dropped; both are
counted (`orderloop_exchange_log_dropped_total`).

Which order a call belongs to, and which attempt it is, come from the Temporal activity it runs
in (`activity.info()`: the order workflow's id, the attempt number, the activity's name); a call
in a poll activity is the inbound half of a poll. The gateway records each webhook itself
(gateway/exchange_intake.py)."""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

import structlog
from temporalio import activity

from orderloop import metrics
from orderloop.contracts import Activities
from orderloop.exchange_records import ExchangeDirection, ExchangeEntry, ExchangeOutcome
from orderloop.redaction import mask_text, redact_body

log = structlog.get_logger("orderloop.exchange_log")

# Activities whose vendor calls read what the channel has for us: the inbound half of a poll.
POLL_ACTIVITIES = frozenset(
    {Activities.POLL_CHANNEL_ORDERS, Activities.POLL_CHANNEL_RETURNS, Activities.FETCH_SHIPMENTS}
)
# Workflow ids of orders start so (orderloop.contracts.order_workflow_id).
ORDER_PREFIX = "order/"
# A stored body is cut after this many characters.
BODY_LIMIT = 8000


class ExchangeStore(Protocol):
    async def record_exchanges(self, entries: list[ExchangeEntry]) -> int: ...


@dataclass(slots=True)
class Captured:
    """One exchange as the hot path saw it, bodies still raw."""

    at: datetime
    direction: ExchangeDirection
    channel_id: str
    operation: str
    summary: str
    ok: bool
    duration_ms: int
    order_id: str | None = None
    method: str | None = None
    target: str | None = None
    status_code: int | None = None
    attempt: int = 1
    request_body: bytes | str | None = None
    response_body: bytes | str | None = None
    error: str | None = None

    def entry(self) -> ExchangeEntry:
        return ExchangeEntry(
            at=self.at,
            direction=self.direction,
            channel_id=self.channel_id,
            order_id=self.order_id,
            operation=self.operation[:128],
            summary=mask_text(self.summary)[:512],
            method=self.method,
            target=None if self.target is None else self.target[:1024],
            status_code=self.status_code,
            outcome=ExchangeOutcome.OK if self.ok else ExchangeOutcome.FAILED,
            attempt=max(1, self.attempt),
            duration_ms=max(0, self.duration_ms),
            request_body=redact_body(self.request_body, BODY_LIMIT),
            response_body=redact_body(self.response_body, BODY_LIMIT),
            error=None if self.error is None else mask_text(self.error)[:2048],
        )


@dataclass(frozen=True, slots=True)
class CallContext:
    """What the running activity says about a vendor call: its order, attempt and direction."""

    direction: ExchangeDirection
    operation: str | None
    order_id: str | None
    attempt: int


def call_context() -> CallContext:
    """The context of a vendor call: from the Temporal activity it runs in, if any."""
    if not activity.in_activity():
        return CallContext(ExchangeDirection.OUTBOUND, None, None, 1)
    info = activity.info()
    order_id = info.workflow_id if info.workflow_id and info.workflow_id.startswith(ORDER_PREFIX) else None
    direction = ExchangeDirection.INBOUND if info.activity_type in POLL_ACTIVITIES else ExchangeDirection.OUTBOUND
    return CallContext(direction, info.activity_type.removeprefix("orderloop."), order_id, info.attempt)


class ExchangeRecorder:
    """One per process: queues captured exchanges, writes them in batches (see the module)."""

    def __init__(
        self,
        store: ExchangeStore,
        *,
        flush_every: timedelta = timedelta(milliseconds=250),
        batch: int = 500,
        max_pending: int = 20_000,
    ) -> None:
        self._store = store
        self._flush_every = flush_every.total_seconds()
        self._batch = batch
        self._max_pending = max_pending
        self._pending: deque[Captured] = deque()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.dropped = 0
        self.written = 0

    def add(self, captured: Captured) -> None:
        """Queue one exchange; never blocks, never raises."""
        self._pending.append(captured)
        if len(self._pending) > self._max_pending:
            self._pending.popleft()
            self.dropped += 1
            metrics.EXCHANGES_DROPPED.inc()
        if len(self._pending) >= self._batch:
            self._wake.set()

    @property
    def pending(self) -> int:
        return len(self._pending)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="exchange-log-writer")

    async def flush(self) -> int:
        """Write what waits now; how many rows were written."""
        written = 0
        while self._pending:
            taken = [self._pending.popleft() for _ in range(min(self._batch, len(self._pending)))]
            try:
                written += await self._store.record_exchanges([c.entry() for c in taken])
            except Exception as exc:  # the log must never take the process down with it
                self.dropped += len(taken)
                metrics.EXCHANGES_DROPPED.inc(len(taken))
                log.warning("exchange_log.write_failed", error=str(exc), dropped=len(taken))
                break
        self.written += written
        metrics.EXCHANGES_WRITTEN.inc(written)
        return written

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._flush_every)
            self._wake.clear()
            await self.flush()

    async def aclose(self) -> None:
        """Stop the writer after writing everything still queued."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.flush()
