"""The operator API (bearer token): search orders, read one order's status, and resolve
exceptions with the workflow's validated updates."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from gateway.deps import Operator, Orders
from gateway.errors import GatewayError
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
from orderloop.model import ExceptionKind, OrderStatus, OrderView

router = APIRouter(prefix="/api/orders", tags=["operators"])

# Channel and location ids as the configuration allows them (they go into visibility queries).
_ID_PATTERN = r"^[a-z0-9][a-z0-9_-]*$"
ChannelId = Annotated[str, Path(max_length=64, pattern=_ID_PATTERN)]
ExternalId = Annotated[str, Path(max_length=300)]

_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "missing or wrong bearer token"},
    404: {"description": "no such order"},
    409: {"description": "the action does not apply to the order now (the body says why)"},
    422: {"description": "invalid request"},
    429: {"description": "Temporal is at its rate limit (Retry-After)"},
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
    channel: Annotated[str | None, Query(max_length=64, pattern=_ID_PATTERN)] = None,
    exception: ExceptionKind | None = None,
    location: Annotated[str | None, Query(max_length=64, pattern=_ID_PATTERN)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    query = visibility_query(status, channel, exception, location)
    rows = await orders.search(query, limit)
    return {"query": query, "count": len(rows), "orders": rows}


@router.get("/{channel_id}/{external_id}", summary="One order's status", responses=_ERRORS)
async def get_order(orders: Orders, _: Operator, channel_id: ChannelId, external_id: ExternalId) -> OrderView:
    return await orders.status(order_workflow_id(channel_id, external_id))


@router.post("/{channel_id}/{external_id}/retry", summary="Retry the failed step", responses=_ERRORS)
async def retry(
    orders: Orders, _: Operator, channel_id: ChannelId, external_id: ExternalId, body: RetryRequest | None = None
) -> UpdateResult:
    return await orders.update(order_workflow_id(channel_id, external_id), Updates.RETRY, body or RetryRequest())


@router.post("/{channel_id}/{external_id}/reroute", summary="Ship from another location", responses=_ERRORS)
async def reroute(
    orders: Orders, _: Operator, channel_id: ChannelId, external_id: ExternalId, body: RerouteRequest
) -> UpdateResult:
    return await orders.update(order_workflow_id(channel_id, external_id), Updates.REROUTE, body)


@router.post("/{channel_id}/{external_id}/cancel", summary="Cancel the order", responses=_ERRORS)
async def cancel(
    orders: Orders, _: Operator, channel_id: ChannelId, external_id: ExternalId, body: CancelRequest | None = None
) -> UpdateResult:
    return await orders.update(order_workflow_id(channel_id, external_id), Updates.CANCEL, body or CancelRequest())


@router.post("/{channel_id}/{external_id}/amend-address", summary="Correct the address", responses=_ERRORS)
async def amend_address(
    orders: Orders, _: Operator, channel_id: ChannelId, external_id: ExternalId, body: AmendAddressRequest
) -> UpdateResult:
    return await orders.update(order_workflow_id(channel_id, external_id), Updates.AMEND_ADDRESS, body)


@router.post("/{channel_id}/{external_id}/mark-shipped", summary="Record a shipment by hand", responses=_ERRORS)
async def mark_shipped(
    orders: Orders,
    _: Operator,
    channel_id: ChannelId,
    external_id: ExternalId,
    body: MarkShippedRequest | None = None,
) -> UpdateResult:
    return await orders.update(
        order_workflow_id(channel_id, external_id), Updates.MARK_SHIPPED, body or MarkShippedRequest()
    )


@router.post("/{channel_id}/{external_id}/{action}", include_in_schema=False)
async def unknown_action(_: Operator, channel_id: ChannelId, external_id: ExternalId, action: str) -> None:
    names = ", ".join(name.replace("_", "-") for name in Updates)
    raise GatewayError(404, f"unknown action {action!r}", f"actions: {names}")
