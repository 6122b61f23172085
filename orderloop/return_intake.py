"""Inbound return requests, accepted exactly once: the return workflow's id derives from the
channel and its return id (Temporal refuses a second run of it: `USE_EXISTING` while it runs,
`REJECT_DUPLICATE` once closed), and the ledger's record of the return outlives Temporal's
retention, so a re-delivered request found there starts nothing."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from temporalio.client import Client

from orderloop.contracts import orders_task_queue
from orderloop.contracts.returns import RETURN_REVISION, RETURN_WORKFLOW, ReturnInput, return_workflow_id
from orderloop.ledger import Ledger
from orderloop.order_intake import start_once

StartReturn = Callable[[str, ReturnInput], Awaitable[bool]]


async def start_return_workflow(
    client: Client, task_queue_prefix: str, workflow_id: str, inp: ReturnInput, rpc_timeout: timedelta | None = None
) -> bool:
    """Start a return's workflow unless Temporal has it; True if it started now."""
    return await start_once(
        client,
        RETURN_WORKFLOW,
        inp,
        workflow_id=workflow_id,
        task_queue=orders_task_queue(task_queue_prefix),
        summary=f"{inp.channel_id} return {inp.external_id}",
        rpc_timeout=rpc_timeout,
    )


@dataclass(frozen=True)
class ReturnAccepted:
    workflow_id: str
    started: bool


class ReturnIntake:
    def __init__(self, ledger: Ledger, start: StartReturn) -> None:
        self.ledger = ledger
        self.start = start

    async def requested(
        self,
        channel_id: str,
        external_return_id: str,
        payload: dict[str, Any],
        event_id: str | None = None,
        external_order_id: str | None = None,
    ) -> ReturnAccepted:
        workflow_id = return_workflow_id(channel_id, external_return_id)
        if await self.ledger.return_record(workflow_id) is not None:
            return ReturnAccepted(workflow_id, False)
        inp = ReturnInput(
            channel_id=channel_id,
            external_id=external_return_id,
            raw_payload=payload,
            received_at=datetime.now(UTC),
            event_id=event_id,
            external_order_id=external_order_id,
            revision=RETURN_REVISION,
        )
        return ReturnAccepted(workflow_id, await self.start(workflow_id, inp))
