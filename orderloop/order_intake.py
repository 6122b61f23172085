"""Inbound orders, accepted exactly once: the one owner of "seen" on the webhook path and the
start of an order's workflow, whoever saw the order first (a webhook, or a channel's order poll
when the webhook never came).

The workflow id derives from the channel and its order id; Temporal refuses a second run of it
(`USE_EXISTING` while it runs, `REJECT_DUPLICATE` once closed), and the ledger remembers every
accepted order for longer than Temporal's retention. An order the channel holds back (not yet
shippable) starts nothing: its hold is recorded (`held_order`), released when the order starts
(in the acceptance's write) and cancelled when the channel cancels the order first. A
deduplicated delivery costs the ledger one read before it is handled and one write after: the
acceptance of a started order, or the delivery id alone."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, Generic, TypeVar

from pydantic import BaseModel
from temporalio.client import Client
from temporalio.common import TypedSearchAttributes, WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from connectors.base import ChannelHold
from orderloop import metrics
from orderloop.contracts import (
    ORDER_REVISION,
    ORDER_WORKFLOW,
    OrderInput,
    order_start_search_attributes,
    order_workflow_id,
    orders_task_queue,
)
from orderloop.ledger import Ledger

# Starts the workflow of an order under the given id; True if it started now, False if Temporal
# already had it. The gateway's starter translates Temporal's failures into its answers.
StartWorkflow = Callable[[str, OrderInput], Awaitable[bool]]
R = TypeVar("R")


class OrderEvent(StrEnum):
    """What an inbound event asks of its order."""

    CREATED = "created"
    UPDATED = "updated"
    CANCELLED = "cancelled"


class Outcome(StrEnum):
    """What the intake did with an order event."""

    DUPLICATE_DELIVERY = "duplicate_delivery"  # this delivery was handled before: nothing done
    NO_ORDER_ID = "no_order_id"  # the event names no order: nothing done
    STARTED = "started"  # the order's workflow started now
    ALREADY_ACCEPTED = "already_accepted"  # the order was accepted before: nothing started
    CANCEL_UNKNOWN = "cancel_unknown"  # a cancel for an order never received: nothing to cancel
    SIGNALLED = "signalled"  # the accepted order's workflow was told (the signal's answer)
    HELD = "held"  # the channel holds the order back: nothing started, the hold recorded


@dataclass(frozen=True)
class Received(Generic[R]):
    outcome: Outcome
    workflow_id: str | None = None
    # The signaller's answer, for SIGNALLED.
    answer: R | None = None


async def start_once(
    client: Client,
    workflow: str,
    arg: BaseModel,
    *,
    workflow_id: str,
    task_queue: str,
    summary: str,
    search_attributes: TypedSearchAttributes | None = None,
    rpc_timeout: timedelta | None = None,
) -> bool:
    """Start a durable process under its business-key id unless Temporal has it (`USE_EXISTING`
    while it runs, `REJECT_DUPLICATE` once closed); True if it started now."""
    try:
        await client.start_workflow(
            workflow,
            arg,
            id=workflow_id,
            task_queue=task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            search_attributes=search_attributes,
            static_summary=summary,
            rpc_timeout=rpc_timeout,
        )
    except WorkflowAlreadyStartedError:
        return False
    return True


async def start_workflow(
    client: Client, task_queue_prefix: str, workflow_id: str, inp: OrderInput, rpc_timeout: timedelta | None = None
) -> bool:
    """Start an order's workflow unless Temporal has it; True if it started now."""
    return await start_once(
        client,
        ORDER_WORKFLOW,
        inp,
        workflow_id=workflow_id,
        task_queue=orders_task_queue(task_queue_prefix),
        summary=f"{inp.channel_id} order {inp.external_id}",
        search_attributes=order_start_search_attributes(inp.channel_id),
        rpc_timeout=rpc_timeout,
    )


class Intake:
    """Inbound deliveries against the ledger's record of what was seen: one read before a
    delivery is handled, one write after it was (nothing when it failed, so the sender's retry
    is handled again)."""

    def __init__(self, ledger: Ledger, start: StartWorkflow) -> None:
        self.ledger = ledger
        self.start = start

    async def order_event(
        self,
        channel_id: str,
        event: OrderEvent,
        delivery_id: str | None,
        external_id: str | None,
        payload: dict[str, Any],
        signal: Callable[[str], Awaitable[R]],
        via: str = "webhook",
    ) -> Received[R]:
        """Start the order's workflow (a new order, or an edit of one whose creation never came),
        or hand the event to the accepted order's workflow through `signal(workflow_id)`. `via`:
        how it came (webhook, poll), for the operations record."""
        seen = await self.ledger.inbound_seen(channel_id, delivery_id, external_id)
        if seen.delivery:
            return Received(Outcome.DUPLICATE_DELIVERY)
        if not external_id:
            return Received(Outcome.NO_ORDER_ID)
        workflow_id = order_workflow_id(channel_id, external_id)
        accepted = seen.accepted_workflow_id is not None
        if accepted and event is not OrderEvent.CREATED:
            answer = await signal(workflow_id)
            await self._record_delivery(channel_id, delivery_id)
            return Received(Outcome.SIGNALLED, workflow_id, answer)
        if event is OrderEvent.CANCELLED:
            # Never started: a hold the channel had on it ends with its cancel, in the same write.
            await self.ledger.cancel_channel_hold(channel_id, external_id, delivery_id)
            return Received(Outcome.CANCEL_UNKNOWN, workflow_id)
        if accepted:
            await self._record_delivery(channel_id, delivery_id)
            return Received(Outcome.ALREADY_ACCEPTED, workflow_id)
        started = await self._accept(channel_id, external_id, workflow_id, payload, delivery_id, via)
        return Received(Outcome.STARTED if started else Outcome.ALREADY_ACCEPTED, workflow_id)

    async def held_order(
        self, channel_id: str, delivery_id: str | None, external_id: str | None, hold: ChannelHold
    ) -> Received[None]:
        """An order the channel holds back (not yet shippable): nothing starts, and the hold is
        recorded with the delivery that told of it, so an operator finds the order and why. A
        hold reported of an order accepted before (it moved back at the channel) records only
        the delivery: the order's workflow owns it now."""
        seen = await self.ledger.inbound_seen(channel_id, delivery_id, external_id)
        if seen.delivery:
            return Received(Outcome.DUPLICATE_DELIVERY)
        if not external_id:
            return Received(Outcome.NO_ORDER_ID)
        workflow_id = order_workflow_id(channel_id, external_id)
        if seen.accepted_workflow_id is not None:
            await self._record_delivery(channel_id, delivery_id)
            return Received(Outcome.ALREADY_ACCEPTED, workflow_id)
        await self.ledger.record_channel_hold(channel_id, external_id, hold.reason, hold.status, delivery_id)
        return Received(Outcome.HELD, workflow_id)

    async def seen_delivery(self, channel_id: str, delivery_id: str | None) -> bool:
        """The delivery was handled before (a delivery without an id never is)."""
        return delivery_id is not None and (await self.ledger.inbound_seen(channel_id, delivery_id, None)).delivery

    async def delivery(self, channel_id: str, delivery_id: str | None, handle: Callable[[], Awaitable[R]]) -> R | None:
        """`handle()`'s result, or None when the delivery was handled before; a delivery without
        an id is handled every time."""
        if await self.seen_delivery(channel_id, delivery_id):
            return None
        result = await handle()
        await self._record_delivery(channel_id, delivery_id)
        return result

    async def polled_order(
        self, channel_id: str, external_id: str, payload: dict[str, Any], via: str = "poll"
    ) -> tuple[str, bool]:
        """Start a polled order's workflow unless it was accepted before; (workflow id, started now)."""
        workflow_id = order_workflow_id(channel_id, external_id)
        if await self.ledger.accepted_order(channel_id, external_id) is not None:
            return workflow_id, False
        return workflow_id, await self._accept(channel_id, external_id, workflow_id, payload, None, via)

    async def _accept(
        self,
        channel_id: str,
        external_id: str,
        workflow_id: str,
        payload: dict[str, Any],
        delivery_id: str | None,
        via: str,
    ) -> bool:
        inp = OrderInput(
            channel_id=channel_id,
            external_id=external_id,
            raw_payload=payload,
            received_at=datetime.now(UTC),
            event_id=delivery_id,
            revision=ORDER_REVISION,
        )
        started = await self.start(workflow_id, inp)
        # Recorded after Temporal holds the order, so nothing is accepted and then lost; the
        # delivery that brought it is recorded with it, in the same write.
        await self.ledger.record_accepted_order(channel_id, external_id, workflow_id, delivery_id, via)
        if started:
            metrics.ORDERS_ACCEPTED.labels(channel_id).inc()
        return started

    async def _record_delivery(self, channel_id: str, delivery_id: str | None) -> None:
        if delivery_id is not None:
            await self.ledger.record_delivery(channel_id, delivery_id)


def polled_event(
    external_id: str, cancelled: bool, created_at: datetime | None, updated_at: datetime | None
) -> tuple[OrderEvent, str | None]:
    """What a polled order asks of Orderloop and the delivery id it is recorded under: stable
    per change, so a repeated poll (they overlap) is recognised as a duplicate delivery.

    A cancel counts once; an order updated after its creation is an edit of that version of it
    (its `updated_at`); an order never changed since its creation is a creation, which starts
    nothing once accepted (no id: the acceptance is its record)."""
    if cancelled:
        return OrderEvent.CANCELLED, f"poll/{external_id}/cancelled"
    if updated_at is not None and (created_at is None or updated_at > created_at):
        return OrderEvent.UPDATED, f"poll/{external_id}/updated/{updated_at.isoformat()}"
    return OrderEvent.CREATED, None


def temporal_intake(client: Client, ledger: Ledger, task_queue_prefix: str) -> Intake:
    """The intake outside the gateway (the order poll): orders started straight on Temporal,
    whose errors propagate, so nothing is recorded as accepted unless Temporal has it."""

    async def start(workflow_id: str, inp: OrderInput) -> bool:
        return await start_workflow(client, task_queue_prefix, workflow_id, inp)

    return Intake(ledger, start)
