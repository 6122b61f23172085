"""The operator API over the exchange log (docs/exchange-log.md): the calls, polls and webhooks
of each channel, newest first, filtered by channel, order, direction, status and period; one
exchange with its redacted bodies; and the re-run of a failed outbound call, which goes through
the order's own operator `retry` (the workflow's validated update), never to the vendor beside
the workflow: the order runs the failed step again, and the new call is logged as a new row."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from connectors.notice_sinks.model import workflow_link
from gateway.deps import ID_PATTERN, Acting, Operator, Orders, State
from gateway.errors import GatewayError
from orderloop.channel_report import ReportError, parse_since
from orderloop.contracts import RetryRequest, Updates, order_workflow_id
from orderloop.exchange_records import ExchangeDirection, ExchangeOutcome
from orderloop.ledger import ExchangeFilter, ExchangeRow

router = APIRouter(prefix="/api/exchanges", tags=["operators"])
ExchangeId = Annotated[int, Path(ge=1, le=2**63 - 1)]

_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "missing, wrong or revoked bearer token"},
    403: {"description": "the operator is read-only (a re-run needs role act)"},
    404: {"description": "no such exchange (or it was trimmed after its retention)"},
    409: {"description": "the exchange cannot be re-run, or its order takes no retry now (the body says why)"},
    422: {"description": "invalid filter"},
}


def rerun_refusal(row: ExchangeRow) -> str | None:
    """Why this exchange cannot be re-run; None when it can."""
    if row.direction is not ExchangeDirection.OUTBOUND:
        return "only an outbound call is re-run (an inbound webhook or poll is re-sent by its channel)"
    if row.outcome is not ExchangeOutcome.FAILED:
        return "the call did not fail: nothing to re-run"
    if row.order_id is None:
        return "the call belongs to no order (an inventory push or a poll is re-run by its schedule)"
    return None


def _body(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def exchange_json(row: ExchangeRow, ui_base: str, namespace: str, *, bodies: bool) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": row.id,
        "at": row.at.isoformat(),
        "direction": str(row.direction),
        "channel": row.channel_id,
        "orderId": row.order_id,
        "orderUiUrl": None if row.order_id is None else workflow_link(ui_base, namespace, row.order_id),
        "operation": row.operation,
        "summary": row.summary,
        "method": row.method,
        "target": row.target,
        "statusCode": row.status_code,
        "status": str(row.outcome),
        "attempt": row.attempt,
        "durationMs": row.duration_ms,
        "error": row.error,
        "rerunnable": rerun_refusal(row) is None and row.rerun_at is None,
        "rerunAt": None if row.rerun_at is None else row.rerun_at.isoformat(),
        "rerunBy": row.rerun_by,
    }
    if bodies:
        out["request"] = _body(row.request_body)
        out["response"] = _body(row.response_body)
    return out


def _moment(value: str | None, name: str, now: datetime) -> datetime | None:
    if value is None:
        return None
    try:
        return parse_since(value, now)
    except ReportError as exc:
        raise GatewayError(422, f"{name}: {exc}", f"{name}: 30d, 48h, 90m or an ISO timestamp") from None


@router.get("", summary="The exchange log: vendor calls, polls and webhooks, newest first", responses=_ERRORS)
async def list_exchanges(
    state: State,
    _: Operator,
    channel: Annotated[str | None, Query(max_length=64, pattern=ID_PATTERN)] = None,
    order: Annotated[
        str | None, Query(max_length=512, description="an order's workflow id, or its external id with channel")
    ] = None,
    direction: ExchangeDirection | None = None,
    status: ExchangeOutcome | None = None,
    since: Annotated[str | None, Query(max_length=64)] = "30d",
    until: Annotated[str | None, Query(max_length=64)] = None,
    before: Annotated[int | None, Query(ge=1, le=2**63 - 1, description="the next page: ids below this one")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    now = datetime.now(UTC)
    order_id = order
    if order is not None and not order.startswith("order/"):
        if channel is None:
            raise GatewayError(422, f"order {order!r} is no workflow id", "give order/<channel>/<id>, or channel too")
        order_id = order_workflow_id(channel, order)
    wanted = ExchangeFilter(
        channel_id=channel,
        order_id=order_id,
        direction=direction,
        outcome=status,
        since=_moment(since, "since", now),
        until=_moment(until, "until", now),
        before_id=before,
        limit=limit,
    )
    rows = await state.ledger.exchanges(wanted)
    totals = await state.ledger.exchange_counts(wanted)
    notes = state.config.notifications
    return {
        "count": len(rows),
        "totals": {"ok": totals.get("ok", 0), "failed": totals.get("failed", 0)},
        "nextBefore": rows[-1].id if len(rows) == limit else None,
        "exchanges": [exchange_json(row, notes.ui_url, notes.namespace, bodies=False) for row in rows],
    }


async def _found(state: State, exchange_id: int) -> ExchangeRow:
    row = await state.ledger.exchange(exchange_id)
    if row is None:
        raise GatewayError(
            404,
            f"no exchange {exchange_id}",
            f"rows are kept {state.config.exchange_log.retention_days} days (exchange_log.retention_days)",
        )
    return row


@router.get("/{exchange_id}", summary="One exchange with its bodies (personal data redacted)", responses=_ERRORS)
async def get_exchange(state: State, _: Operator, exchange_id: ExchangeId) -> dict[str, Any]:
    row = await _found(state, exchange_id)
    notes = state.config.notifications
    return {**exchange_json(row, notes.ui_url, notes.namespace, bodies=True), "rerunRefusal": rerun_refusal(row)}


@router.post("/{exchange_id}/rerun", summary="Re-run a failed call (its order retries)", responses=_ERRORS)
async def rerun_exchange(state: State, orders: Orders, who: Acting, exchange_id: ExchangeId) -> dict[str, Any]:
    row = await _found(state, exchange_id)
    refusal = rerun_refusal(row)
    if refusal is not None:
        raise GatewayError(409, f"exchange {exchange_id} cannot be re-run", refusal)
    assert row.order_id is not None
    request = who.sign(RetryRequest(note=f"re-run of exchange {exchange_id} ({row.summary})"))
    result = await orders.update(row.order_id, Updates.RETRY, request)
    first = await state.ledger.mark_exchange_rerun(exchange_id, who.name)
    return {
        "exchange": exchange_id,
        "orderId": row.order_id,
        "operator": who.name,
        "firstRerun": first,
        "message": result.message,
        "orderStatus": str(result.view.status),
    }
