"""The gateway's dealings with return workflows: start (through the return intake), signal,
query and update, with Temporal's failures translated as for orders."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from gateway.errors import GatewayError
from gateway.order_service import QUERY_TIMEOUT, WEBHOOK_RPC_TIMEOUT, WorkflowMissing, temporal_errors
from gateway.state import GatewayState
from orderloop.contracts.names import ErrorTypes, ReturnQueries
from orderloop.contracts.returns import ReturnInput, ReturnUpdateResult
from orderloop.ledger.types import ReturnRecord
from orderloop.model import OnxModel
from orderloop.return_intake import ReturnIntake, start_return_workflow
from orderloop.returns_model import ReturnView


class ReturnService:
    def __init__(self, state: GatewayState) -> None:
        self.state = state
        self.intake = ReturnIntake(state.ledger, self._start)

    async def handle(self, workflow_id: str) -> WorkflowHandle[Any, Any]:
        return (await self.state.temporal.get()).get_workflow_handle(workflow_id)

    async def _start(self, workflow_id: str, inp: ReturnInput) -> bool:
        client = await self.state.temporal.get()
        async with temporal_errors(WEBHOOK_RPC_TIMEOUT):
            return await start_return_workflow(
                client, self.state.settings.task_queue_prefix, workflow_id, inp, rpc_timeout=WEBHOOK_RPC_TIMEOUT
            )

    async def signal(self, workflow_id: str, name: str, arg: BaseModel) -> None:
        handle = await self.handle(workflow_id)
        async with temporal_errors(WEBHOOK_RPC_TIMEOUT):
            await handle.signal(name, arg, rpc_timeout=WEBHOOK_RPC_TIMEOUT)

    async def status(self, workflow_id: str) -> ReturnView:
        handle = await self.handle(workflow_id)
        try:
            async with temporal_errors(QUERY_TIMEOUT, "the return's worker (is it running?)"):
                return await handle.query(ReturnQueries.STATUS, result_type=ReturnView)
        except WorkflowMissing as exc:
            raise GatewayError(404, f"no return {workflow_id}", "check the channel id and the return id") from exc

    async def update(self, workflow_id: str, name: str, request: BaseModel) -> ReturnUpdateResult:
        handle = await self.handle(workflow_id)
        what = name.removeprefix("return_")
        try:
            async with temporal_errors():
                return await handle.execute_update(name, request, result_type=ReturnUpdateResult)
        except WorkflowMissing as exc:
            if await self.state.ledger.return_record(workflow_id) is not None:
                raise GatewayError(409, f"return {workflow_id} is closed: nothing to {what}") from exc
            raise GatewayError(404, f"no return {workflow_id}") from exc
        except WorkflowUpdateFailedError as exc:
            cause = exc.cause
            if isinstance(cause, ApplicationError):
                status = 422 if cause.type == ErrorTypes.INVALID_REQUEST else 409
                raise GatewayError(status, cause.message) from exc
            raise GatewayError(409, f"{what} failed: {cause}") from exc


class ReturnRecordLineOut(OnxModel):
    line_id: str
    order_line_id: str
    sku: str
    quantity: int


class ReceiptRowOut(OnxModel):
    sku: str
    condition: str
    disposition: str
    quantity: int
    location_id: str | None = None


class ReturnSummary(OnxModel):
    """A return's ledger record as the operator API shows it (camelCase like every view)."""

    return_id: str
    channel_id: str
    external_id: str
    order_id: str | None = None
    location_id: str | None = None
    shipment_ids: list[str] = []
    status: str
    reason: str | None = None
    lines: list[ReturnRecordLineOut] = []
    receipt: list[ReceiptRowOut] = []
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, record: ReturnRecord) -> ReturnSummary:
        return cls.model_validate(record.model_dump())
