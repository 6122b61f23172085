"""EDI partners' records, on both databases: migration 14 makes the tables; an interchange is
recorded once per sender and control number (the second recording is a duplicate, nothing of it
kept); control numbers rise by one per partner, never twice the same under concurrent writers;
an outbound document is kept under its first recording; parcels once per shipment."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from orderloop.edi_records import InboundDocument, InterchangeRecord, InterchangeStatus, OutboundDocument
from orderloop.ledger import Ledger
from orderloop.ledger.migrations import LATEST

Uid = Callable[[str], str]
AT = datetime(2026, 12, 1, 13, tzinfo=UTC)


def interchange(
    channel: str, control: str, status: InterchangeStatus = InterchangeStatus.ACCEPTED
) -> InterchangeRecord:
    return InterchangeRecord(
        channel_id=channel,
        sender="ZZ:ACMERETAIL",
        control_number=control,
        file_name=f"{control}.x12",
        status=status,
        received_at=AT,
    )


def document(channel: str, po: str, kind: str = "850", at: datetime = AT) -> InboundDocument:
    return InboundDocument(
        channel_id=channel,
        po_number=po,
        kind=kind,
        received_at=at,
        envelope={"control_number": "1"},
        segments=[["BEG", "00", "SA", po]],
    )


async def test_migration_16_is_the_latest_step() -> None:
    assert LATEST >= 14


async def test_an_interchange_is_recorded_once_with_its_documents(ledger: Ledger, uid: Uid) -> None:
    channel = uid("edi")

    first = await ledger.record_edi_interchange(interchange(channel, "000000905"), [document(channel, "PO-1")])
    again = await ledger.record_edi_interchange(interchange(channel, "000000905"), [document(channel, "PO-1")])

    assert (first, again) == (True, False)
    assert len(await ledger.edi_documents_of(channel, "PO-1")) == 1
    assert [r.control_number for r in await ledger.edi_interchanges(channel)] == ["000000905"]


async def test_rejected_interchanges_are_listed_by_status_and_documents_by_time(ledger: Ledger, uid: Uid) -> None:
    channel = uid("edi")
    await ledger.record_edi_interchange(interchange(channel, "1"), [document(channel, "PO-1")])
    await ledger.record_edi_interchange(interchange(channel, "2", InterchangeStatus.REJECTED), [])
    later = AT + timedelta(hours=1)
    await ledger.record_edi_interchange(
        interchange(channel, "3"), [document(channel, "PO-1", "860", later), document(channel, "PO-2", at=later)]
    )

    assert [r.control_number for r in await ledger.edi_interchanges(channel, InterchangeStatus.REJECTED)] == ["2"]
    assert [(d.po_number, d.kind) for d in await ledger.edi_documents_since(channel, later)] == [
        ("PO-1", "860"),
        ("PO-2", "850"),
    ]
    assert [d.kind for d in await ledger.edi_documents_of(channel, "PO-1")] == ["850", "860"]


async def test_control_numbers_rise_by_one_per_partner_even_under_concurrent_writers(ledger: Ledger, uid: Uid) -> None:
    one, other = uid("edi-a"), uid("edi-b")

    numbers = await asyncio.gather(*(ledger.next_edi_control_number(one) for _ in range(20)))

    assert sorted(numbers) == list(range(1, 21))
    assert await ledger.next_edi_control_number(other) == 1


async def test_an_outbound_document_is_kept_under_its_first_recording(ledger: Ledger, uid: Uid) -> None:
    channel = uid("edi")
    first = OutboundDocument(
        channel_id=channel, key="855/o1", kind="855", control_number=7, path="out/855_7", content="A", created_at=AT
    )

    kept = await ledger.record_edi_outbound(first)
    second = await ledger.record_edi_outbound(first.model_copy(update={"control_number": 8, "content": "B"}))
    await ledger.mark_edi_outbound_sent(channel, "855/o1", AT)

    assert (kept.control_number, second.control_number, second.content) == (7, 7, "A")
    stored = await ledger.edi_outbound(channel, "855/o1")
    assert stored is not None and stored.sent_at == AT


async def test_a_parcel_is_kept_once_per_shipment(ledger: Ledger, uid: Uid) -> None:
    channel = uid("edi")
    for _ in range(2):
        await ledger.record_edi_parcel(channel, "order/o1", "s1", "order/o1/sr1", {"id": "s1"})
    await ledger.record_edi_parcel(channel, "order/o1", "s2", "order/o1/sr1", {"id": "s2"})

    assert await ledger.edi_parcels(channel, "order/o1") == [{"id": "s1"}, {"id": "s2"}]
