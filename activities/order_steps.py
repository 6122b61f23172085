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
from connectors.registry import selling
from connectors.signing import orderloop_webhook_headers
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
from orderloop.contracts import Activities
from orderloop.ledger import Cause, CauseKind, Ledger
from orderloop.order_policy import order_policy

log = structlog.get_logger("orderloop.activities")


def _validation_reason(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        where = ".".join(str(p) for p in err["loc"]) or "order"
        parts.append(f"{where}: {err['msg']}")
    return "; ".join(parts)


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
            reason = _validation_reason(exc)
            log.warning("order.invalid", workflow_id=inp.workflow_id, reason=reason)
            return IngestResult(error=reason, policy=policy)
        log.info("order.mapped", workflow_id=inp.workflow_id, lines=len(order.line_items))
        return IngestResult(order=order, policy=policy)

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
        return committed

    @activity.defn(name=Activities.NOTIFY)
    async def notify(self, note: Notification) -> None:
        event: dict[str, Any] = note.model_dump(mode="json")
        logger = log.warning if note.level is not NotificationLevel.RESOLVED else log.info
        logger(f"order.{note.level}", **event)
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
