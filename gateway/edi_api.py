"""The operator API for EDI partners' interchanges (bearer token): what each partner sent, and
above all what was rejected (a malformed interchange is answered with a 997 or TA1 rejection
and starts nothing, so the order search cannot find it), with the errors the acknowledgement
named."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from gateway.deps import ID_PATTERN, Operator, State
from orderloop.edi_records import InterchangeRecord, InterchangeStatus

router = APIRouter(prefix="/api/edi", tags=["operators"])


def interchange_json(row: InterchangeRecord) -> dict[str, Any]:
    return {
        "channel": row.channel_id,
        "sender": row.sender,
        "controlNumber": row.control_number,
        "file": row.file_name,
        "status": row.status,
        "receivedAt": row.received_at.isoformat(),
        "detail": row.detail,
    }


@router.get("/interchanges", summary="Interchanges received from EDI partners, newest first")
async def list_interchanges(
    state: State,
    _: Operator,
    channel: Annotated[str | None, Query(max_length=64, pattern=ID_PATTERN)] = None,
    status: Annotated[
        InterchangeStatus | None, Query(description="accepted, partial, rejected or unreadable (default: all)")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict[str, Any]]:
    return [interchange_json(row) for row in await state.ledger.edi_interchanges(channel, status, limit)]
