"""The record of inbound files and their rows, on both databases: a file is begun once, a row
delivering moves to applied or rejected and a final outcome never changes, and a finished file
counts its rows."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

from orderloop.file_journal import FileState, RowOutcome
from orderloop.ledger import Ledger
from orderloop.ledger.migrations import LATEST
from orderloop.ledger.schema import EDI_ACK_TABLES, EDI_TABLES

Uid = Callable[[str], str]


async def test_a_file_is_begun_once_and_its_rows_keep_their_final_outcome(ledger: Ledger, uid: Uid) -> None:
    channel, key = uid("files"), uid("SHIP-1.csv@ab12")

    first = await ledger.begin_exchange_file(channel, key, "SHIP-1.csv", "shipments")
    again = await ledger.begin_exchange_file(channel, key, "SHIP-1.csv", "shipments")
    assert first == again and first.state is FileState.READING

    await ledger.record_exchange_rows(channel, key, dict.fromkeys([2, 3], "SR-1/parcel/1Z1"), RowOutcome.DELIVERING)
    await ledger.record_exchange_rows(channel, key, dict.fromkeys([2, 3], "SR-1/parcel/1Z1"), RowOutcome.APPLIED)
    await ledger.record_exchange_rows(channel, key, {4: "bad quantity"}, RowOutcome.REJECTED)
    # A second reading of the file delivers row 2 again: its applied record stays.
    await ledger.record_exchange_rows(channel, key, {2: "SR-1/parcel/1Z1"}, RowOutcome.DELIVERING)
    rows = await ledger.exchange_rows(channel, key)
    assert {line: r.outcome for line, r in rows.items()} == {
        2: RowOutcome.APPLIED,
        3: RowOutcome.APPLIED,
        4: RowOutcome.REJECTED,
    }
    assert rows[4].detail == "bad quantity"

    done = await ledger.finish_exchange_file(channel, key, FileState.ARCHIVED)
    assert (done.state, done.rows_applied, done.rows_rejected) == (FileState.ARCHIVED, 2, 1)
    assert done.finished_at is not None
    assert [f.file_key for f in await ledger.exchange_files_of(channel)] == [key]


async def test_files_of_two_channels_stay_apart(ledger: Ledger, uid: Uid) -> None:
    key = uid("INV.csv@00")
    await ledger.begin_exchange_file(uid("a"), key, "INV.csv", "inventory")
    await ledger.record_exchange_rows(uid("a"), key, {2: "SKU-1=4"}, RowOutcome.APPLIED)
    assert await ledger.exchange_rows(uid("b"), key) == {}
    assert await ledger.exchange_file(uid("b"), key) is None


async def test_a_database_from_before_migration_13_gains_the_file_journal(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    await (await Ledger.open(url)).close()
    with sqlite3.connect(tmp_path / "old.db") as conn:  # as a ledger of step 12 left it
        for table in [*(t.name for t in EDI_ACK_TABLES + EDI_TABLES), "exchange_rows", "exchange_files"]:
            conn.execute(f"DROP TABLE {table}")
        conn.execute("DELETE FROM schema_version WHERE version >= 13")
    reopened = await Ledger.open(url)
    try:
        await reopened.begin_exchange_file("files", "k", "SHIP.csv", "shipments")
        await reopened.record_exchange_rows("files", "k", {2: "parcel"}, RowOutcome.APPLIED)
        assert (await reopened.exchange_rows("files", "k"))[2].outcome is RowOutcome.APPLIED
    finally:
        await reopened.close()
    with sqlite3.connect(tmp_path / "old.db") as conn:
        assert conn.execute("SELECT max(version) FROM schema_version").fetchone() == (LATEST,)
