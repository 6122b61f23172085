"""Orderloop's internal order steps: mapping, allocation (`orderloop.allocation`: routing and
reservation), release, commit and notifications. Cheap and local, so the workflow runs them as
local activities (notifications excepted: they may call a webhook)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from typing import Any

import httpx
import structlog
from pydantic import ValidationError
from temporalio import activity

from connectors.base import Connector, MappingError
from connectors.notice_sinks.outbox import queued_notices
from connectors.registry import selling
from connectors.signing import orderloop_webhook_headers
from orderloop import metrics, operations_events
from orderloop.activity_models import (
    AllocateInput,
    AllocateResult,
    CommitInput,
    IngestInput,
    IngestResult,
    Notification,
    NotificationLevel,
    ReleaseInput,
)

# Re-exported: the allocate activity's tests read its budget of routings per call from here.
from orderloop.allocation import RESERVE_ATTEMPTS as RESERVE_ATTEMPTS
from orderloop.allocation import Allocator
from orderloop.config import OrderloopConfig
from orderloop.contracts import Activities, parse_order_workflow_id
from orderloop.exchange import is_exchange_payload, map_exchange_order
from orderloop.ledger import Cause, CauseKind, Ledger
from orderloop.ledger.base import utc_now
from orderloop.model import Order
from orderloop.order_policy import order_policy

log = structlog.get_logger("orderloop.activities")

# What revision 4 added to a notification, for its sinks (never in the legacy webhook's body).
_PLAYBOOK_FIELDS = {"targets", "event_id", "playbook", "resolved_by", "record_only"}


def validation_reason(exc: ValidationError) -> str:
    """The first few problems of a payload pydantic refused, each with its field."""
    parts = []
    for err in exc.errors()[:5]:
        where = ".".join(str(p) for p in err["loc"]) or "order"
        parts.append(f"{where}: {err['msg']}")
    return "; ".join(parts)


def _first_attempt() -> bool:
    """This activity's first attempt (or a direct call, outside any activity)."""
    try:
        return activity.info().attempt == 1
    except RuntimeError:
        return True


class OrderSteps:
    def __init__(
        self,
        config: OrderloopConfig,
        ledger: Ledger,
        connectors: Mapping[str, Connector],
        task_queue_prefix: str,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self.config = config
        self.ledger = ledger
        self.connectors = dict(connectors)
        self.prefix = task_queue_prefix
        self.http = http or httpx.AsyncClient(timeout=10)
        self.allocator = Allocator(config, ledger)

    @activity.defn(name=Activities.INGEST)
    async def ingest(self, inp: IngestInput) -> IngestResult:
        policy = order_policy(self.config, self.prefix, inp.channel_id)
        connector = selling(self.connectors, inp.channel_id)
        try:
            if is_exchange_payload(inp.raw_payload):
                # An exchange's replacement order (orderloop.exchange), in Orderloop's own format.
                order = map_exchange_order(inp.raw_payload, order_id=inp.workflow_id, channel_id=inp.channel_id)
            else:
                # The channel's own orders are acknowledged to it where it wants that (Walmart).
                policy.acknowledge_within = connector.acknowledge_within
                policy.confirms_allocation = connector.confirms_allocation
                order = connector.map_order(
                    inp.raw_payload,
                    order_id=inp.workflow_id,
                    tenant_id=self.config.tenant_id,
                    received_at=inp.received_at,
                )
        except MappingError as exc:
            log.warning("order.invalid", workflow_id=inp.workflow_id, reason=str(exc))
            return IngestResult(error=str(exc), policy=policy)
        except ValidationError as exc:
            reason = validation_reason(exc)
            log.warning("order.invalid", workflow_id=inp.workflow_id, reason=reason)
            return IngestResult(error=reason, policy=policy)
        log.info("order.mapped", workflow_id=inp.workflow_id, lines=len(order.line_items))
        await self._record_received(inp, order)
        return IngestResult(order=order, policy=policy)

    async def _record_received(self, inp: IngestInput, order: Order) -> None:
        """The operations record's `received` row (once per workflow, whatever the retries)."""
        event = operations_events.received(order, inp.channel_id, inp.external_id, inp.received_at)
        await self.ledger.record_operations([event])

    @activity.defn(name=Activities.ALLOCATE)
    async def allocate(self, inp: AllocateInput) -> AllocateResult:
        return await self.allocator.allocate(inp)

    @activity.defn(name=Activities.RELEASE)
    async def release(self, inp: ReleaseInput) -> int:
        units = await self.ledger.release(inp.order_id, inp.line_ids, Cause(kind=CauseKind.ORDER, ref=inp.order_id))
        log.info("order.released", workflow_id=inp.order_id, units=units, reason=inp.reason)
        return units

    @activity.defn(name=Activities.COMMIT_SHIPMENT)
    async def commit_shipment(self, inp: CommitInput) -> bool:
        committed = await self.ledger.commit_shipment(
            inp.order_id,
            inp.shipment_id,
            [(item.line_id, item.quantity) for item in inp.items],
            Cause(kind=CauseKind.ORDER, ref=inp.order_id),
        )
        log.info("order.shipment_committed", workflow_id=inp.order_id, shipment_id=inp.shipment_id, new=committed)
        await self._count_if_shipped_in_full(inp.order_id)
        return committed

    async def _count_if_shipped_in_full(self, order_id: str) -> None:
        """An order this commit shipped in full (no line left open, some units shipped): its
        operations-record row and its metrics, once (the row's key), retried commits included."""
        try:
            channel_id, external_id = parse_order_workflow_id(order_id)
        except ValueError:
            return  # not a channel order's workflow id
        new, accepted_at = await self.ledger.record_shipped_in_full(order_id, channel_id, external_id, utc_now())
        if new:
            metrics.order_shipped_in_full(channel_id, accepted_at)

    @activity.defn(name=Activities.NOTIFY)
    async def notify(self, note: Notification) -> None:
        # The body `notifications.webhook_url` has always received: the notification's first fields.
        event: dict[str, Any] = note.model_dump(mode="json", exclude=_PLAYBOOK_FIELDS)
        if note.channel_kind is None:
            # The body stays as it always was; a channel exception's notice adds its kind.
            del event["channel_kind"]
        logger = log.warning if note.level is not NotificationLevel.RESOLVED else log.info
        logger(f"order.{note.level}", **event, sinks=[t.sink for t in note.targets], playbook=note.playbook)
        if _first_attempt():  # a retried notice was counted by its first attempt
            metrics.exception_notice(note.level, note.channel_id, note.kind)
        # Recorded on every attempt: its key makes a retry's row a no-op.
        await self.ledger.record_operations(operations_events.from_notification(note, self.config))
        if note.record_only:
            return  # the operations record's notice only (a resolution no sink is told of)
        if note.targets:
            await self._queue_notices(note)
            return
        url = self.config.notifications.webhook_url
        if url:
            body = json.dumps(event).encode()
            headers = {"Content-Type": "application/json"}
            secret = self.config.notifications.secret()
            if secret:
                # One delivery id per notification, so a receiver can drop Temporal's retries.
                delivery = uuid.uuid5(uuid.NAMESPACE_URL, f"{note.workflow_id}/{note.level}/{note.kind}/{note.at}").hex
                headers = orderloop_webhook_headers(secret, f"notification.{note.level}", body, delivery_id=delivery)
            response = await self.http.post(url, content=body, headers=headers)
            response.raise_for_status()

    async def _queue_notices(self, note: Notification) -> None:
        """A playbook's notice: written to the ledger's notice outbox (see `queued_notices`)."""
        await self.ledger.queue_notices(queued_notices(note, self.config.notifications))
