"""The exchange log's record, shared by the writer (orderloop.exchange_log, which the connector
clients use and so must not load the SQL ledger) and its store (orderloop.ledger.exchanges)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel


class ExchangeDirection(StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"


class ExchangeOutcome(StrEnum):
    OK = "ok"
    FAILED = "failed"


class ExchangeEntry(BaseModel):
    """One exchange as the recorder writes it (bodies already redacted)."""

    at: datetime
    direction: ExchangeDirection
    channel_id: str
    order_id: str | None = None
    operation: str
    summary: str
    method: str | None = None
    target: str | None = None
    status_code: int | None = None
    outcome: ExchangeOutcome
    attempt: int = 1
    duration_ms: int = 0
    request_body: str | None = None
    response_body: str | None = None
    error: str | None = None
