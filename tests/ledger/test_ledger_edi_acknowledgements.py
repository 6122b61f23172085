"""The partner's 997s and TA1s about Orderloop's documents, on both databases: they are kept with
the interchange that carried them (a re-sent one adds nothing); a matched one becomes its
document's status, the more severe answer kept whatever the order they arrive in; documents are
listed rejected first, filtered to the unacknowledged ones sent before a channel's cut-off; an
unmatched acknowledgement is listed apart; a rejected 856 or 810 is to be raised until marked.
A database from before migration 15 gains the tables, on SQLite and on PostgreSQL."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest

from orderloop.edi_records import (
    AcknowledgementRecord,
    AcknowledgementStatus,
    InterchangeRecord,
    InterchangeStatus,
    OutboundDocument,
)
from orderloop.ledger import Ledger
from orderloop.ledger.migrations import LATEST
from orderloop.ledger.schema import EDI_ACK_TABLES
from tests.db import _dsn, postgres_schema, postgres_url_or_skip

Uid = Callable[[str], str]
AT = datetime(2026, 12, 1, 13, tzinfo=UTC)
A, E, R = AcknowledgementStatus.ACCEPTED, AcknowledgementStatus.ACCEPTED_WITH_ERRORS, AcknowledgementStatus.REJECTED


def carrier(channel: str, control: str) -> InterchangeRecord:
    return InterchangeRecord(
        channel_id=channel,
        sender="ZZ:ACMERETAIL",
        control_number=control,
        file_name=f"997_{control}.x12",
        status=InterchangeStatus.ACCEPTED,
        received_at=AT,
    )


def ack(
    channel: str, group: int, status: AcknowledgementStatus, key: str | None, kind: str = "997", doc: str = "856"
) -> AcknowledgementRecord:
    return AcknowledgementRecord(
        channel_id=channel,
        sender="ZZ:ACMERETAIL",
        interchange_control="1",
        kind=kind,
        functional_id="SH" if kind == "997" else "",
        group_control=str(group),
        status=status,
        codes=["AK9 R", "AK5 5"] if status is R else [],
        detail=f"group {group} {status}",
        sets=[{"code": doc, "control": "0001", "status": status.value[0].upper()}],
        document_key=key,
        document_kind=doc if key else None,
        received_at=AT,
    )


async def sent(ledger: Ledger, channel: str, key: str, kind: str, control: int, at: datetime = AT) -> None:
    await ledger.record_edi_outbound(
        OutboundDocument(
            channel_id=channel,
            key=key,
            kind=kind,
            control_number=control,
            path=f"out/{kind}_{control}",
            content="ISA",
            created_at=at,
        )
    )
    await ledger.mark_edi_outbound_sent(channel, key, at)


async def test_migration_15_is_the_latest_step() -> None:
    assert LATEST == 15


async def test_acknowledgements_are_kept_once_with_their_interchange(ledger: Ledger, uid: Uid) -> None:
    channel = uid("edi")
    await sent(ledger, channel, "856/o1/sr1", "856", 5)

    first = await ledger.record_edi_interchange(carrier(channel, "1001"), [], [ack(channel, 5, R, "856/o1/sr1")])
    again = await ledger.record_edi_interchange(carrier(channel, "1001"), [], [ack(channel, 5, R, "856/o1/sr1")])

    assert (first, again) == (True, False)
    [kept] = await ledger.edi_acknowledgements(channel)
    assert (kept.status, kept.codes, kept.document_key, kept.sets[0]["code"]) == (
        R,
        ["AK9 R", "AK5 5"],
        "856/o1/sr1",
        "856",
    )


async def test_the_more_severe_answer_stays_whatever_the_order(ledger: Ledger, uid: Uid) -> None:
    channel = uid("edi")
    await sent(ledger, channel, "856/o1/sr1", "856", 5)
    await sent(ledger, channel, "810/o1", "810", 6)
    # The 856: rejected by its TA1, then "accepted" by a 997; the 810: accepted, then with errors.
    await ledger.record_edi_interchange(carrier(channel, "1"), [], [ack(channel, 5, R, "856/o1/sr1", "TA1")])
    await ledger.record_edi_interchange(
        carrier(channel, "2"), [], [ack(channel, 5, A, "856/o1/sr1"), ack(channel, 6, A, "810/o1", doc="810")]
    )
    await ledger.record_edi_interchange(carrier(channel, "3"), [], [ack(channel, 6, E, "810/o1", doc="810")])

    statuses = {s.key: s.acknowledgement for s in await ledger.edi_outbound_statuses(channel)}

    assert statuses["856/o1/sr1"] is not None and statuses["856/o1/sr1"].status is R
    assert statuses["856/o1/sr1"].kind == "TA1"
    assert statuses["810/o1"] is not None and statuses["810/o1"].status is E


async def test_documents_are_listed_rejected_first_and_unacknowledged_ones_by_cut_off(ledger: Ledger, uid: Uid) -> None:
    channel, other = uid("edi"), uid("edi-other")
    await sent(ledger, channel, "855/o1", "855", 1, AT - timedelta(days=3))
    await sent(ledger, channel, "856/o1/sr1", "856", 2, AT - timedelta(days=2))
    await sent(ledger, channel, "810/o1", "810", 3, AT - timedelta(hours=1))
    await sent(ledger, channel, "ack/ZZ:ACMERETAIL/900", "997", 4, AT - timedelta(days=3))  # never acknowledged
    await sent(ledger, other, "855/o9", "855", 1, AT - timedelta(days=3))
    await ledger.record_edi_interchange(carrier(channel, "7"), [], [ack(channel, 2, R, "856/o1/sr1")])

    listed = [
        (s.key, s.acknowledgement.status if s.acknowledgement else None)
        for s in await ledger.edi_outbound_statuses(channel)
    ]
    overdue = await ledger.edi_outbound_statuses(unacknowledged_before={channel: AT - timedelta(hours=24)})
    rejected = await ledger.edi_outbound_statuses(channel, status=R)

    assert listed == [("856/o1/sr1", R), ("810/o1", None), ("855/o1", None)]
    assert [s.key for s in overdue] == ["855/o1"]  # the other channel has no cut-off given
    assert [s.key for s in rejected] == ["856/o1/sr1"]
    assert await ledger.edi_outbound_statuses(unacknowledged_before={}) == []


async def test_an_unmatched_acknowledgement_is_listed_apart(ledger: Ledger, uid: Uid) -> None:
    channel = uid("edi")
    await sent(ledger, channel, "856/o1/sr1", "856", 5)
    await ledger.record_edi_interchange(
        carrier(channel, "8"), [], [ack(channel, 5, A, "856/o1/sr1"), ack(channel, 77, R, None)]
    )

    [unmatched] = await ledger.edi_acknowledgements(channel, unmatched=True)

    assert (unmatched.group_control, unmatched.document_key) == ("77", None)
    assert len(await ledger.edi_acknowledgements(channel)) == 2
    assert await ledger.edi_rejections_to_raise(channel) == []  # nothing of ours to raise it on


async def test_a_rejected_856_or_810_is_to_be_raised_until_marked(ledger: Ledger, uid: Uid) -> None:
    channel = uid("edi")
    await sent(ledger, channel, "855/o1", "855", 4)
    await sent(ledger, channel, "856/o1/sr1", "856", 5)
    await ledger.record_edi_interchange(
        carrier(channel, "9"), [], [ack(channel, 4, R, "855/o1", doc="855"), ack(channel, 5, R, "856/o1/sr1")]
    )

    [pending] = await ledger.edi_rejections_to_raise(channel)
    assert pending.document_key == "856/o1/sr1" and pending.id is not None
    await ledger.mark_edi_rejection_raised(channel, pending.id, AT)

    assert await ledger.edi_rejections_to_raise(channel) == []
    [marked] = [a for a in await ledger.edi_acknowledgements(channel) if a.id == pending.id]
    assert marked.case_delivered_at == AT
    found = await ledger.edi_outbound_by_control(channel, 5)
    assert found is not None and found.key == "856/o1/sr1"
    assert await ledger.edi_outbound_by_control(channel, 99) is None


async def _acknowledged_after_reopening(url: str, schema: str | None = None) -> list[AcknowledgementRecord]:
    reopened = await Ledger.open(url, schema=schema)
    try:
        await sent(reopened, "edi", "856/o1/sr1", "856", 5)
        await reopened.record_edi_interchange(carrier("edi", "1"), [], [ack("edi", 5, R, "856/o1/sr1")])
        return await reopened.edi_acknowledgements("edi")
    finally:
        await reopened.close()


async def test_a_sqlite_database_from_before_migration_15_gains_the_acknowledgements(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    await (await Ledger.open(url)).close()
    with sqlite3.connect(tmp_path / "old.db") as conn:  # as a ledger of step 14 left it
        for table in EDI_ACK_TABLES:
            conn.execute(f"DROP TABLE {table.name}")
        conn.execute("DELETE FROM schema_version WHERE version >= 15")

    [kept] = await _acknowledged_after_reopening(url)

    assert kept.status is R
    with sqlite3.connect(tmp_path / "old.db") as conn:
        assert conn.execute("SELECT max(version) FROM schema_version").fetchone() == (LATEST,)


@pytest.mark.postgres
async def test_a_postgresql_database_from_before_migration_15_gains_the_acknowledgements() -> None:
    url = postgres_url_or_skip()
    async with postgres_schema(url, "edi_ack_upgrade") as schema:
        await (await Ledger.open(url, schema=schema)).close()
        conn = await asyncpg.connect(_dsn(url))
        try:  # as a ledger of step 14 left it
            for table in EDI_ACK_TABLES:
                await conn.execute(f'DROP TABLE "{schema}"."{table.name}"')
            await conn.execute(f'DELETE FROM "{schema}".schema_version WHERE version >= 15')
        finally:
            await conn.close()

        [kept] = await _acknowledged_after_reopening(url, schema)

        assert kept.status is R
        conn = await asyncpg.connect(_dsn(url))
        try:
            assert await conn.fetchval(f'SELECT max(version) FROM "{schema}".schema_version') == LATEST
        finally:
            await conn.close()
