"""Starting an order workflow exactly once, whoever saw the order first: the gateway (a
webhook) or a channel's order poll (a webhook that never came).

The workflow id derives from the channel and its order id; Temporal refuses a second run of it
(`USE_EXISTING` while it runs, `REJECT_DUPLICATE` once closed), and the ledger remembers every
accepted order for longer than Temporal's retention."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from orderloop.contracts import (
    ORDER_REVISION,
    ORDER_WORKFLOW,
    OrderInput,
    order_start_search_attributes,
    order_workflow_id,
    orders_task_queue,
)
from orderloop.ledger import Ledger


async def start_order_workflow(
    client: Client,
    ledger: Ledger,
    task_queue_prefix: str,
    channel_id: str,
    external_id: str,
    payload: dict[str, Any],
    event_id: str | None = None,
    rpc_timeout: timedelta | None = None,
    accepted: bool | None = None,
) -> tuple[str, bool]:
    """Start the order's workflow unless it was accepted before; returns (workflow id, started
    now). Temporal's errors propagate: nothing is recorded as accepted unless Temporal has it.
    `accepted`: whether the ledger holds the order as accepted, when the caller has just read
    it (the gateway reads it with its delivery check); None: read it here."""
    workflow_id = order_workflow_id(channel_id, external_id)
    if accepted is None:
        accepted = await ledger.accepted_order(channel_id, external_id) is not None
    if accepted:
        if event_id is not None:
            await ledger.record_delivery(channel_id, event_id)
        return workflow_id, False
    started = True
    try:
        await client.start_workflow(
            ORDER_WORKFLOW,
            OrderInput(
                channel_id=channel_id,
                external_id=external_id,
                raw_payload=payload,
                received_at=datetime.now(UTC),
                event_id=event_id,
                revision=ORDER_REVISION,
            ),
            id=workflow_id,
            task_queue=orders_task_queue(task_queue_prefix),
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            search_attributes=order_start_search_attributes(channel_id),
            static_summary=f"{channel_id} order {external_id}",
            rpc_timeout=rpc_timeout,
        )
    except WorkflowAlreadyStartedError:
        started = False
    # Recorded after Temporal holds the order, so nothing is accepted and then lost; the
    # delivery that brought it is recorded with it (the gateway's dedup of re-deliveries).
    await ledger.record_accepted_order(channel_id, external_id, workflow_id, event_id)
    return workflow_id, started
