"""The operator API for exception notices (bearer token): list what the sinks were sent, what
is still pending and what was dead-lettered after its retries, and queue a notice again."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from gateway.deps import Acting, Operator, State
from gateway.errors import GatewayError
from orderloop.ledger import NoticeRow, NoticeStatus

router = APIRouter(prefix="/api/notices", tags=["operators"])


def notice_json(row: NoticeRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "eventId": row.event_id,
        "sink": row.sink,
        "audience": row.audience,
        "workflowId": row.workflow_id,
        "channel": row.channel_id,
        "kind": row.kind,
        "level": row.level,
        "status": row.status,
        "attempts": row.attempts,
        "createdAt": row.created_at.isoformat(),
        "nextAttemptAt": row.next_attempt_at.isoformat(),
        "deliveredAt": row.delivered_at.isoformat() if row.delivered_at else None,
        "lastError": row.last_error,
    }


@router.get("", summary="Exception notices per sink (pending, delivered, dead)")
async def list_notices(
    state: State,
    _: Operator,
    status: NoticeStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    rows = await state.ledger.list_notices(status, limit)
    return {"count": len(rows), "notices": [notice_json(row) for row in rows]}


@router.post("/{notice_id}/resend", summary="Queue a notice again (a dead letter, once its sink is fixed)")
async def resend_notice(state: State, _: Acting, notice_id: Annotated[int, Path(ge=1, le=2**63 - 1)]) -> dict[str, Any]:
    row = await state.ledger.resend_notice(notice_id)
    if row is None:
        raise GatewayError(404, f"no notice {notice_id}", "list them with GET /api/notices")
    return notice_json(row)
