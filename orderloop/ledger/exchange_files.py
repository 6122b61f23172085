"""Inbound files of file-speaking channels and what each row applied (orderloop.file_journal).

Invariants: one row per (channel, file key) in `exchange_files` and per (channel, file key,
line) in `exchange_rows`; a row's outcome moves from `delivering` to `applied` or `rejected` and
never back (the upsert's WHERE keeps a final outcome); a file's counts are recounted from its rows
when it is finished, in the same transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.engine import Connection

from orderloop.file_journal import FileRecord, FileState, RowOutcome, RowRecord
from orderloop.ledger.base import LedgerBase, utc_now
from orderloop.ledger.schema import exchange_files, exchange_rows


class ExchangeFiles(LedgerBase):
    def _file(self, conn: Connection, channel_id: str, file_key: str) -> FileRecord | None:
        row = conn.execute(
            select(exchange_files).where(
                exchange_files.c.channel_id == channel_id, exchange_files.c.file_key == file_key
            )
        ).first()
        return None if row is None else FileRecord.model_validate(dict(row._mapping))

    async def begin_exchange_file(self, channel_id: str, file_key: str, name: str, kind: str) -> FileRecord:
        def tx(conn: Connection) -> FileRecord:
            conn.execute(
                self._insert(exchange_files)
                .values(
                    channel_id=channel_id,
                    file_key=file_key,
                    name=name,
                    kind=kind,
                    state=FileState.READING,
                    rows_applied=0,
                    rows_rejected=0,
                    first_seen_at=utc_now(),
                )
                .on_conflict_do_nothing(index_elements=[exchange_files.c.channel_id, exchange_files.c.file_key])
            )
            record = self._file(conn, channel_id, file_key)
            assert record is not None
            return record

        return await self._write(tx)

    async def exchange_file(self, channel_id: str, file_key: str) -> FileRecord | None:
        return await self._read(lambda conn: self._file(conn, channel_id, file_key))

    async def exchange_files_of(self, channel_id: str) -> list[FileRecord]:
        def tx(conn: Connection) -> list[FileRecord]:
            rows = conn.execute(
                select(exchange_files)
                .where(exchange_files.c.channel_id == channel_id)
                .order_by(exchange_files.c.first_seen_at, exchange_files.c.name)
            )
            return [FileRecord.model_validate(dict(r._mapping)) for r in rows]

        return await self._read(tx)

    async def exchange_rows(self, channel_id: str, file_key: str) -> dict[int, RowRecord]:
        def tx(conn: Connection) -> dict[int, RowRecord]:
            c = exchange_rows.c
            rows = conn.execute(
                select(c.line, c.outcome, c.detail, c.recorded_at).where(
                    c.channel_id == channel_id, c.file_key == file_key
                )
            )
            return {r.line: RowRecord.model_validate(dict(r._mapping)) for r in rows}

        return await self._read(tx)

    async def record_exchange_rows(
        self, channel_id: str, file_key: str, rows: Mapping[int, str], outcome: RowOutcome
    ) -> None:
        if not rows:
            return

        def tx(conn: Connection) -> None:
            now = utc_now()
            values: list[dict[str, Any]] = [
                {
                    "channel_id": channel_id,
                    "file_key": file_key,
                    "line": line,
                    "outcome": outcome,
                    "detail": detail[:2048],
                    "recorded_at": now,
                }
                for line, detail in sorted(rows.items())
            ]
            insert = self._insert(exchange_rows).values(values)
            conn.execute(
                insert.on_conflict_do_update(
                    index_elements=[exchange_rows.c.channel_id, exchange_rows.c.file_key, exchange_rows.c.line],
                    set_={
                        "outcome": insert.excluded.outcome,
                        "detail": insert.excluded.detail,
                        "recorded_at": insert.excluded.recorded_at,
                    },
                    # A final outcome stays: only a row still being delivered takes a new one.
                    where=exchange_rows.c.outcome == RowOutcome.DELIVERING,
                )
            )

        await self._write(tx)

    async def finish_exchange_file(
        self, channel_id: str, file_key: str, state: FileState, reason: str | None = None
    ) -> FileRecord:
        def tx(conn: Connection) -> FileRecord:
            c = exchange_rows.c
            counts: dict[str, int] = dict(
                conn.execute(
                    select(c.outcome, func.count())
                    .where(c.channel_id == channel_id, c.file_key == file_key)
                    .group_by(c.outcome)
                ).all()
            )
            conn.execute(
                update(exchange_files)
                .where(exchange_files.c.channel_id == channel_id, exchange_files.c.file_key == file_key)
                .values(
                    state=state,
                    reason=reason,
                    rows_applied=counts.get(RowOutcome.APPLIED, 0),
                    rows_rejected=counts.get(RowOutcome.REJECTED, 0),
                    finished_at=utc_now(),
                )
            )
            record = self._file(conn, channel_id, file_key)
            assert record is not None
            return record

        return await self._write(tx)
