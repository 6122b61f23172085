"""The operator API for returns (bearer token): list them (from the ledger's records), read one
(the return workflow's view), and act with the workflow's validated updates (role act; recorded
as the authenticated operator's)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from gateway.deps import Acting, Operator, Returns, State
from gateway.errors import GatewayError
from gateway.operator_api import _ERRORS as OPERATOR_ERRORS
from gateway.operator_api import ID_PATTERN, ChannelId
from gateway.return_service import ReturnSummary
from orderloop.contracts.names import ReturnUpdates
from orderloop.contracts.returns import (
    AuthoriseReturnRequest,
    CloseReturnRequest,
    ReceiveReturnRequest,
    RejectReturnRequest,
    ReturnUpdateResult,
    return_workflow_id,
)
from orderloop.returns_model import ReturnStatus, ReturnView

router = APIRouter(prefix="/api/returns", tags=["operators"])

ReturnId = Annotated[str, Path(max_length=300)]
_ERRORS = {**OPERATOR_ERRORS, 404: {"description": "no such return"}}


@router.get("", summary="List returns (the ledger's records), newest first", responses=_ERRORS)
async def list_returns(
    state: State,
    _: Operator,
    channel: Annotated[str | None, Query(max_length=64, pattern=ID_PATTERN)] = None,
    status: ReturnStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    records = await state.ledger.list_returns(channel, str(status) if status else None, limit)
    return {"count": len(records), "returns": [ReturnSummary.of(r).model_dump(mode="json") for r in records]}


@router.get("/{channel_id}/{return_id}", summary="One return's status", responses=_ERRORS)
async def get_return(returns: Returns, _: Operator, channel_id: ChannelId, return_id: ReturnId) -> ReturnView:
    return await returns.status(return_workflow_id(channel_id, return_id))


@router.get("/{channel_id}/{return_id}/record", summary="One return's ledger record", responses=_ERRORS)
async def get_return_record(state: State, _: Operator, channel_id: ChannelId, return_id: ReturnId) -> ReturnSummary:
    record = await state.ledger.return_record(return_workflow_id(channel_id, return_id))
    if record is None:
        raise GatewayError(404, f"no return {return_id} of channel {channel_id}")
    return ReturnSummary.of(record)


@router.post("/{channel_id}/{return_id}/authorise", summary="Authorise the return", responses=_ERRORS)
async def authorise(
    returns: Returns,
    who: Acting,
    channel_id: ChannelId,
    return_id: ReturnId,
    body: AuthoriseReturnRequest | None = None,
) -> ReturnUpdateResult:
    request = who.sign(body or AuthoriseReturnRequest())
    return await returns.update(return_workflow_id(channel_id, return_id), ReturnUpdates.AUTHORISE, request)


@router.post("/{channel_id}/{return_id}/reject", summary="Reject the return", responses=_ERRORS)
async def reject(
    returns: Returns, who: Acting, channel_id: ChannelId, return_id: ReturnId, body: RejectReturnRequest | None = None
) -> ReturnUpdateResult:
    request = who.sign(body or RejectReturnRequest())
    return await returns.update(return_workflow_id(channel_id, return_id), ReturnUpdates.REJECT, request)


@router.post(
    "/{channel_id}/{return_id}/receive", summary="Receive it by hand (each unit's condition)", responses=_ERRORS
)
async def receive(
    returns: Returns, who: Acting, channel_id: ChannelId, return_id: ReturnId, body: ReceiveReturnRequest
) -> ReturnUpdateResult:
    return await returns.update(return_workflow_id(channel_id, return_id), ReturnUpdates.RECEIVE, who.sign(body))


@router.post("/{channel_id}/{return_id}/close", summary="Close the return", responses=_ERRORS)
async def close(
    returns: Returns, who: Acting, channel_id: ChannelId, return_id: ReturnId, body: CloseReturnRequest | None = None
) -> ReturnUpdateResult:
    request = who.sign(body or CloseReturnRequest())
    return await returns.update(return_workflow_id(channel_id, return_id), ReturnUpdates.CLOSE, request)
