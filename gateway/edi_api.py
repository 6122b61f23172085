"""The operator API for EDI partners' interchanges (bearer token): what each partner sent, and
above all what was rejected (a malformed interchange is answered with a 997 or TA1 rejection
and starts nothing, so the order search cannot find it), with the errors the acknowledgement
named; and what Orderloop sent with the partner's acknowledgement of each (rejected first), the
ones still unacknowledged past the partner's `acknowledgement_within`, and the acknowledgements
naming nothing Orderloop sent."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query

from connectors.edi.settings import edi_settings
from gateway.deps import ID_PATTERN, Operator, State
from orderloop.edi_records import (
    AcknowledgementRecord,
    AcknowledgementStatus,
    InterchangeRecord,
    InterchangeStatus,
    OutboundStatus,
)

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


def acknowledgement_json(row: AcknowledgementRecord) -> dict[str, Any]:
    return {
        "channel": row.channel_id,
        "kind": row.kind,
        "status": row.status,
        "functionalId": row.functional_id,
        "groupControl": row.group_control,
        "interchange": row.interchange_control,
        "codes": row.codes,
        "detail": row.detail,
        "sets": row.sets,
        "document": row.document_key,
        "receivedAt": row.received_at.isoformat(),
        "raisedAt": row.case_delivered_at.isoformat() if row.case_delivered_at else None,
    }


def document_json(row: OutboundStatus) -> dict[str, Any]:
    ack = row.acknowledgement
    return {
        "channel": row.channel_id,
        "key": row.key,
        "kind": row.kind,
        "controlNumber": row.control_number,
        "file": row.path,
        "createdAt": row.created_at.isoformat(),
        "sentAt": row.sent_at.isoformat() if row.sent_at else None,
        "status": ack.status if ack else "unacknowledged",
        "codes": ack.codes if ack else [],
        "detail": ack.detail if ack else None,
        "acknowledgement": acknowledgement_json(ack) if ack else None,
    }


@router.get("/documents", summary="Documents sent to EDI partners with their acknowledgement, rejected first")
async def list_documents(
    state: State,
    _: Operator,
    channel: Annotated[str | None, Query(max_length=64, pattern=ID_PATTERN)] = None,
    status: Annotated[
        AcknowledgementStatus | None, Query(description="accepted, accepted_with_errors or rejected (default: all)")
    ] = None,
    overdue: Annotated[
        bool, Query(description="only those still unacknowledged past the partner's acknowledgement_within")
    ] = False,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict[str, Any]]:
    cutoffs = None
    if overdue:
        now = datetime.now(UTC)
        cutoffs = {
            c.id: now - edi_settings(c).acknowledgement_within
            for c in state.config.channels
            if c.type == "edi" and channel in (None, c.id)
        }
    rows = await state.ledger.edi_outbound_statuses(channel, status, cutoffs, limit)
    return [document_json(row) for row in rows]


@router.get("/acknowledgements", summary="997s and TA1s received from EDI partners, newest first")
async def list_acknowledgements(
    state: State,
    _: Operator,
    channel: Annotated[str | None, Query(max_length=64, pattern=ID_PATTERN)] = None,
    unmatched: Annotated[bool, Query(description="only those naming nothing Orderloop sent")] = False,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict[str, Any]]:
    return [acknowledgement_json(row) for row in await state.ledger.edi_acknowledgements(channel, unmatched, limit)]
