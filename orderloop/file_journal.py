"""The record of inbound files a file-speaking channel dropped and what each row did, kept in the
ledger database (`exchange_files`, `exchange_rows`) so that processing survives a crash mid-file:
a row is recorded `delivering` before its effect is sent and `applied` (or `rejected`, with the
reason) after, and a file read again skips every row recorded `applied` or `rejected`.

A `delivering` row found on a second reading was sent before the crash or not: its effect is
sent again, and the receiver recognises a repeat (an order's shipment by its id, a stock level
by being absolute), so each row takes effect once.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from pydantic import BaseModel


class RowOutcome(StrEnum):
    DELIVERING = "delivering"
    APPLIED = "applied"
    REJECTED = "rejected"


class FileState(StrEnum):
    READING = "reading"
    ARCHIVED = "archived"
    ERROR = "error"


class RowRecord(BaseModel):
    line: int
    outcome: RowOutcome
    # What was applied (a shipment id, a stock level) or why the row was refused.
    detail: str
    recorded_at: datetime


class FileRecord(BaseModel):
    channel_id: str
    file_key: str
    name: str
    kind: str
    state: FileState
    rows_applied: int
    rows_rejected: int
    reason: str | None = None
    first_seen_at: datetime
    finished_at: datetime | None = None


class FileJournal(Protocol):
    """What a connector reading inbound files needs of the ledger (`Ledger` is one)."""

    async def begin_exchange_file(self, channel_id: str, file_key: str, name: str, kind: str) -> FileRecord: ...

    async def exchange_rows(self, channel_id: str, file_key: str) -> dict[int, RowRecord]: ...

    async def record_exchange_rows(
        self, channel_id: str, file_key: str, rows: Mapping[int, str], outcome: RowOutcome
    ) -> None:
        """Record `outcome` for each line of `rows` (line -> its detail), in one transaction."""

    async def finish_exchange_file(
        self, channel_id: str, file_key: str, state: FileState, reason: str | None = None
    ) -> FileRecord: ...
