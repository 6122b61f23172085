"""The operator API for the orders a selling channel holds back (bearer token): which orders a
channel reported that may not ship yet (unpaid, in review, in the buyer's remorse window), why,
and since when. Orderloop started no workflow for them, so the order search cannot find them."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query

from gateway.deps import ID_PATTERN, Operator, State
from orderloop.ledger import HoldRow, HoldState

router = APIRouter(prefix="/api/holds", tags=["operators"])


def hold_json(row: HoldRow) -> dict[str, Any]:
    return {
        "channel": row.channel_id,
        "externalId": row.external_id,
        "state": row.state,
        "reason": row.reason,
        "channelStatus": row.channel_status,
        "firstSeenAt": row.first_seen_at.isoformat(),
        "lastSeenAt": row.last_seen_at.isoformat(),
        "timesSeen": row.times_seen,
        "releasedAt": row.released_at.isoformat() if row.released_at else None,
        "cancelledAt": row.cancelled_at.isoformat() if row.cancelled_at else None,
    }


@router.get("", summary="Orders the channels hold back (not started), most recently seen first")
async def list_holds(
    state: State,
    _: Operator,
    channel: Annotated[str | None, Query(max_length=64, pattern=ID_PATTERN)] = None,
    status: Annotated[
        HoldState | Literal["all"], Query(description="held (default), released, cancelled, or all")
    ] = HoldState.HELD,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    rows = await state.ledger.list_channel_holds(channel, None if status == "all" else HoldState(status), limit)
    return {"count": len(rows), "holds": [hold_json(row) for row in rows]}
