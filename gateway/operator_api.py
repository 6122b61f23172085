"""The operator API (bearer token): search orders, read one order's status, and resolve
exceptions with the workflow's validated updates. An action needs a credential with role act
(`Acting`) and is recorded as the authenticated operator's, whatever its body says."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Path, Query
from sqlalchemy.exc import SQLAlchemyError

from gateway.auth import OperatorIdentity
from gateway.deps import ID_PATTERN, Acting, Operator, Orders, State
from gateway.errors import GatewayError
from gateway.holds_api import hold_json
from gateway.order_service import OrderService
from gateway.return_service import ReturnSummary
from gateway.state import GatewayState
from orderloop import operations_events
from orderloop.contracts import (
    AmendAddressRequest,
    CancelRequest,
    MarkShippedRequest,
    RerouteRequest,
    RetryRequest,
    SearchAttributes,
    UpdateResult,
    Updates,
    order_workflow_id,
)
from orderloop.ledger import LedgerError
from orderloop.ledger.base import utc_now
from orderloop.model import ExceptionKind, OrderStatus, OrderView

router = APIRouter(prefix="/api/orders", tags=["operators"])
log = structlog.get_logger("orderloop.gateway")

ChannelId = Annotated[str, Path(max_length=64, pattern=ID_PATTERN)]
ExternalId = Annotated[str, Path(max_length=300)]

_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "missing, wrong or revoked bearer token (or the shared one in production)"},
    403: {"description": "the operator is read-only (an action needs role act)"},
    404: {"description": "no such order (one the channel holds back: its `hold` in the body)"},
    409: {"description": "the action does not apply to the order now (the body says why)"},
    422: {"description": "invalid request"},
    429: {"description": "Temporal is at its rate limit, or too many bad tokens from this address (Retry-After)"},
    503: {"description": "Temporal unreachable"},
}


def _quoted(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def visibility_query(
    status: OrderStatus | None, channel: str | None, exception: ExceptionKind | None, location: str | None
) -> str:
    clauses = ["WorkflowType = 'Order'"]
    for key, value in (
        (SearchAttributes.STATUS, status),
        (SearchAttributes.CHANNEL, channel),
        (SearchAttributes.EXCEPTION, exception),
    ):
        if value is not None:
            clauses.append(f"{key.name} = {_quoted(str(value))}")
    if location is not None:
        # Each location of an order is one value of the KeywordList; orders started before it
        # hold the comma-joined Keyword (one that shipped from one location still matches).
        where = _quoted(location)
        clauses.append(f"({SearchAttributes.LOCATIONS.name} = {where} OR {SearchAttributes.LOCATION.name} = {where})")
    return " AND ".join(clauses)


@router.get("", summary="Search orders (Temporal visibility)", responses=_ERRORS)
async def list_orders(
    orders: Orders,
    _: Operator,
    status: OrderStatus | None = None,
    channel: Annotated[str | None, Query(max_length=64, pattern=ID_PATTERN)] = None,
    exception: ExceptionKind | None = None,
    location: Annotated[str | None, Query(max_length=64, pattern=ID_PATTERN)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    query = visibility_query(status, channel, exception, location)
    rows = await orders.search(query, limit)
    return {"query": query, "count": len(rows), "orders": rows}


class OrderWithReturns(OrderView):
    """The order workflow's view and the order's returns (the ledger's records of them)."""

    returns: list[ReturnSummary] = []


@router.get("/{channel_id}/{external_id}", summary="One order's status and its returns", responses=_ERRORS)
async def get_order(
    orders: Orders, state: State, _: Operator, channel_id: ChannelId, external_id: ExternalId
) -> OrderWithReturns:
    workflow_id = order_workflow_id(channel_id, external_id)
    try:
        view = await orders.status(workflow_id)
    except GatewayError as exc:
        # Not started: the channel may be holding it back, and the operator is told why.
        hold = await state.ledger.channel_hold(channel_id, external_id) if exc.status_code == 404 else None
        if hold is None:
            raise
        raise GatewayError(
            404,
            exc.message,
            f"{channel_id} holds the order back ({hold.state}): {hold.reason}",
            {"hold": hold_json(hold)},
        ) from exc
    returns = await state.ledger.returns_for_order(workflow_id)
    return OrderWithReturns.model_validate({**view.model_dump(), "returns": [ReturnSummary.of(r) for r in returns]})


async def _act(
    orders: OrderService,
    state: GatewayState,
    who: OperatorIdentity,
    channel_id: str,
    external_id: str,
    action: Updates,
    request: Any,
) -> UpdateResult:
    """Run the operator's action and record it, with the operator's name, in the operations
    record (orderloop.ledger.operations) when the order took it."""
    workflow_id = order_workflow_id(channel_id, external_id)
    result = await orders.update(workflow_id, action, request)
    if result.accepted:
        exceptions = result.view.exceptions
        kind = str(exceptions[-1].kind) if exceptions else None
        events = operations_events.operator_action(
            f"action/{uuid.uuid4().hex}", action, who.name, workflow_id, channel_id, external_id, utc_now(), kind
        )
        try:
            await state.ledger.record_operations(events)
        except (SQLAlchemyError, LedgerError) as exc:
            # The order took the action: answer it; the record misses this one row, logged.
            log.warning("operations.record_failed", workflow_id=workflow_id, action=str(action), error=str(exc))
    return result


@router.post("/{channel_id}/{external_id}/retry", summary="Retry the failed step", responses=_ERRORS)
async def retry(
    orders: Orders,
    state: State,
    who: Acting,
    channel_id: ChannelId,
    external_id: ExternalId,
    body: RetryRequest | None = None,
) -> UpdateResult:
    request = who.sign(body or RetryRequest())
    return await _act(orders, state, who, channel_id, external_id, Updates.RETRY, request)


@router.post("/{channel_id}/{external_id}/reroute", summary="Ship from another location", responses=_ERRORS)
async def reroute(
    orders: Orders, state: State, who: Acting, channel_id: ChannelId, external_id: ExternalId, body: RerouteRequest
) -> UpdateResult:
    return await _act(orders, state, who, channel_id, external_id, Updates.REROUTE, who.sign(body))


@router.post("/{channel_id}/{external_id}/cancel", summary="Cancel the order", responses=_ERRORS)
async def cancel(
    orders: Orders,
    state: State,
    who: Acting,
    channel_id: ChannelId,
    external_id: ExternalId,
    body: CancelRequest | None = None,
) -> UpdateResult:
    request = who.sign(body or CancelRequest())
    return await _act(orders, state, who, channel_id, external_id, Updates.CANCEL, request)


@router.post("/{channel_id}/{external_id}/amend-address", summary="Correct the address", responses=_ERRORS)
async def amend_address(
    orders: Orders, state: State, who: Acting, channel_id: ChannelId, external_id: ExternalId, body: AmendAddressRequest
) -> UpdateResult:
    return await _act(orders, state, who, channel_id, external_id, Updates.AMEND_ADDRESS, who.sign(body))


@router.post("/{channel_id}/{external_id}/mark-shipped", summary="Record a shipment by hand", responses=_ERRORS)
async def mark_shipped(
    orders: Orders,
    state: State,
    who: Acting,
    channel_id: ChannelId,
    external_id: ExternalId,
    body: MarkShippedRequest | None = None,
) -> UpdateResult:
    request = who.sign(body or MarkShippedRequest())
    return await _act(orders, state, who, channel_id, external_id, Updates.MARK_SHIPPED, request)


@router.post("/{channel_id}/{external_id}/{action}", include_in_schema=False)
async def unknown_action(_: Acting, channel_id: ChannelId, external_id: ExternalId, action: str) -> None:
    names = ", ".join(name.replace("_", "-") for name in Updates)
    raise GatewayError(404, f"unknown action {action!r}", f"actions: {names}")
