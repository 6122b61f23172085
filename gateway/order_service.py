"""The gateway's dealings with order workflows: start, signal, query, update and search, with
Temporal's failures translated into answers a webhook sender or an operator can act on."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

from pydantic import BaseModel
from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from gateway.errors import GatewayError
from gateway.state import GatewayState, TemporalBusy, TemporalUnavailable
from orderloop.contracts import ErrorTypes, OrderInput, Queries, SearchAttributes, UpdateResult
from orderloop.model import OrderView
from orderloop.order_intake import start_workflow

# A webhook is answered within this even when Temporal is away: a 503 the sender retries beats a
# sender that times out not knowing whether we took it. The client retries an unreachable
# server on its own, so the whole call is bounded, not only each attempt.
WEBHOOK_RPC_TIMEOUT = timedelta(seconds=3)
# A status query is answered by a worker: with none polling (stopped, or reconnecting after a
# Temporal restart) it would wait without end, so the operator gets a 503 instead.
QUERY_TIMEOUT = timedelta(seconds=10)
_UNAVAILABLE = {RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED}


class WorkflowMissing(Exception):
    """No running workflow with that id (never started, or already closed)."""


@asynccontextmanager
async def temporal_errors(within: timedelta | None = None, waiting_for: str = "Temporal") -> AsyncIterator[None]:
    """Temporal's failures as the gateway's: unreachable (or `waiting_for` slower than `within`)
    -> `TemporalUnavailable` (503), rate-limited -> `TemporalBusy` (429), no such workflow ->
    `WorkflowMissing`."""
    try:
        async with asyncio.timeout(within.total_seconds() if within else None):
            yield
    except TimeoutError as exc:
        raise TemporalUnavailable(f"{waiting_for} did not answer within {within}") from exc
    except RPCError as exc:
        if exc.status is RPCStatusCode.RESOURCE_EXHAUSTED:
            raise TemporalBusy(f"Temporal is at its rate limit: {exc.message}") from exc
        if exc.status in _UNAVAILABLE:
            raise TemporalUnavailable(f"Temporal did not answer: {exc.message}") from exc
        if exc.status is RPCStatusCode.NOT_FOUND:
            raise WorkflowMissing(exc.message) from exc
        raise


class OrderService:
    def __init__(self, state: GatewayState) -> None:
        self.state = state

    async def client(self) -> Client:
        return await self.state.temporal.get()

    async def handle(self, workflow_id: str) -> WorkflowHandle[Any, Any]:
        return (await self.client()).get_workflow_handle(workflow_id)

    async def start_workflow(self, workflow_id: str, inp: OrderInput) -> bool:
        """Start an order's workflow unless Temporal has it; True if it started now."""
        client = await self.client()
        async with temporal_errors(WEBHOOK_RPC_TIMEOUT):
            return await start_workflow(
                client, self.state.settings.task_queue_prefix, workflow_id, inp, rpc_timeout=WEBHOOK_RPC_TIMEOUT
            )

    async def signal(self, workflow_id: str, name: str, arg: BaseModel) -> None:
        handle = await self.handle(workflow_id)
        async with temporal_errors(WEBHOOK_RPC_TIMEOUT):
            await handle.signal(name, arg, rpc_timeout=WEBHOOK_RPC_TIMEOUT)

    async def status(self, workflow_id: str) -> OrderView:
        handle = await self.handle(workflow_id)
        try:
            async with temporal_errors(QUERY_TIMEOUT, "the order's worker (is it running?)"):
                return await handle.query(Queries.STATUS, result_type=OrderView)
        except WorkflowMissing as exc:
            raise GatewayError(
                404, f"no order {workflow_id}", "check the channel id and the external order id"
            ) from exc

    async def update(self, workflow_id: str, name: str, request: BaseModel) -> UpdateResult:
        handle = await self.handle(workflow_id)
        try:
            async with temporal_errors():
                return await handle.execute_update(name, request, result_type=UpdateResult)
        except WorkflowMissing as exc:
            if await self.exists(workflow_id):
                raise GatewayError(409, f"order {workflow_id} is closed: nothing to {name}") from exc
            raise GatewayError(404, f"no order {workflow_id}") from exc
        except WorkflowUpdateFailedError as exc:
            cause = exc.cause
            if isinstance(cause, ApplicationError):
                status = 422 if cause.type == ErrorTypes.INVALID_REQUEST else 409
                raise GatewayError(status, cause.message) from exc
            raise GatewayError(409, f"{name} failed: {cause}") from exc

    async def exists(self, workflow_id: str) -> bool:
        handle = await self.handle(workflow_id)
        try:
            async with temporal_errors():
                await handle.describe()
        except WorkflowMissing:
            return False
        return True

    async def search(self, query: str, limit: int) -> list[dict[str, Any]]:
        client = await self.client()
        rows: list[dict[str, Any]] = []
        async with temporal_errors():
            async for wf in client.list_workflows(query, limit=limit):
                attrs = wf.typed_search_attributes
                rows.append(
                    {
                        "workflowId": wf.id,
                        "channel": attrs.get(SearchAttributes.CHANNEL),
                        "status": attrs.get(SearchAttributes.STATUS),
                        "exception": attrs.get(SearchAttributes.EXCEPTION),
                        "location": ",".join(attrs.get(SearchAttributes.LOCATIONS) or [])
                        or attrs.get(SearchAttributes.LOCATION),
                        "startedAt": wf.start_time.isoformat() if wf.start_time else None,
                        "closedAt": wf.close_time.isoformat() if wf.close_time else None,
                        "executionStatus": wf.status.name if wf.status else None,
                    }
                )
        return rows
