"""EDI trading partners' records in the ledger (orderloop.edi_records.EdiRecords).

Invariants: one interchange row per (channel, sender, control number), so a re-sent interchange
is recognised by the unique constraint, not by a read before the write; its accepted documents
are written in the same transaction, so a poll that dies after it finds them again and one that
dies before it reads the file again. The control number counter only grows (an UPDATE of
`last_value + 1` in the writing transaction, CHECKed to stay within ISA13's nine digits). An
outbound document is recorded once per key with its control number and content before it is
written to the partner's folder, so a retry writes the same bytes again, never a second number.
The partner's 997s and TA1s are written with the interchange that carried them (a re-sent one is
a duplicate like any other); a matched one becomes its document's status unless the document
already has a more severe one (`edi_document_acks.severity`), so the order they arrive in does
not matter.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import case, select, update
from sqlalchemy.engine import Connection, Row
from sqlalchemy.exc import IntegrityError

from orderloop.edi_records import (
    SEVERITY,
    AcknowledgementRecord,
    AcknowledgementStatus,
    InboundDocument,
    InterchangeRecord,
    InterchangeStatus,
    OutboundDocument,
    OutboundStatus,
)
from orderloop.ledger.base import LedgerBase
from orderloop.ledger.schema import (
    edi_acknowledgements,
    edi_control_numbers,
    edi_document_acks,
    edi_documents_in,
    edi_documents_out,
    edi_interchanges,
    edi_parcels,
)


def _interchange(row: Row[Any]) -> InterchangeRecord:
    m = dict(row._mapping)
    m.pop("id", None)
    return InterchangeRecord.model_validate(m)


# Kinds that are acknowledgements themselves: a partner never acknowledges them with a 997.
ACKNOWLEDGEMENT_KINDS = ("997", "TA1")
# Rejected first, then accepted with errors, unacknowledged, accepted.
_STATUS_ORDER = case(
    (edi_document_acks.c.severity == 2, 0),
    (edi_document_acks.c.severity == 1, 1),
    (edi_document_acks.c.severity.is_(None), 2),
    else_=3,
)


def _acknowledgement(row: Row[Any]) -> AcknowledgementRecord:
    return AcknowledgementRecord.model_validate(dict(row._mapping))


def _document(row: Row[Any]) -> InboundDocument:
    m = dict(row._mapping)
    m.pop("id", None)
    return InboundDocument.model_validate(m)


class EdiPartnerRecords(LedgerBase):
    """Interchanges, purchase orders, control numbers, documents sent and parcels per partner."""

    async def record_edi_interchange(
        self,
        record: InterchangeRecord,
        documents: list[InboundDocument],
        acknowledgements: list[AcknowledgementRecord] | None = None,
    ) -> bool:
        def tx(conn: Connection) -> bool:
            conn.execute(edi_interchanges.insert().values(**record.model_dump()))
            if documents:
                conn.execute(
                    edi_documents_in.insert(),
                    [d.model_dump(mode="json") | {"received_at": d.received_at} for d in documents],
                )
            for acknowledgement in acknowledgements or []:
                self._record_acknowledgement(conn, acknowledgement)
            return True

        try:
            return await self._write(tx)
        except IntegrityError:
            found = await self.edi_interchange(record.channel_id, record.sender, record.control_number)
            if found is None:
                raise
            return False

    def _record_acknowledgement(self, conn: Connection, acknowledgement: AcknowledgementRecord) -> None:
        values = acknowledgement.model_dump(exclude={"id"}, mode="json") | {
            "received_at": acknowledgement.received_at,
            "case_delivered_at": acknowledgement.case_delivered_at,
        }
        inserted = conn.execute(edi_acknowledgements.insert().values(**values)).inserted_primary_key
        assert inserted is not None
        row_id = inserted[0]
        if acknowledgement.document_key is None:
            return
        c = edi_document_acks.c
        severity = SEVERITY[acknowledgement.status]
        insert = self._insert(edi_document_acks).values(
            channel_id=acknowledgement.channel_id,
            key=acknowledgement.document_key,
            severity=severity,
            status=str(acknowledgement.status),
            acknowledgement_id=row_id,
        )
        conn.execute(
            insert.on_conflict_do_update(
                index_elements=[c.channel_id, c.key],
                set_={"severity": severity, "status": str(acknowledgement.status), "acknowledgement_id": row_id},
                where=c.severity <= severity,
            )
        )

    async def edi_interchange(self, channel_id: str, sender: str, control_number: str) -> InterchangeRecord | None:
        c = edi_interchanges.c

        def tx(conn: Connection) -> InterchangeRecord | None:
            row = conn.execute(
                select(edi_interchanges).where(
                    c.channel_id == channel_id, c.sender == sender, c.control_number == control_number
                )
            ).first()
            return _interchange(row) if row is not None else None

        return await self._read(tx)

    async def edi_interchanges(
        self, channel_id: str | None = None, status: InterchangeStatus | None = None, limit: int = 100
    ) -> list[InterchangeRecord]:
        c = edi_interchanges.c
        query = select(edi_interchanges).order_by(c.received_at.desc(), c.id.desc()).limit(limit)
        if channel_id is not None:
            query = query.where(c.channel_id == channel_id)
        if status is not None:
            query = query.where(c.status == str(status))
        return await self._read(lambda conn: [_interchange(r) for r in conn.execute(query)])

    async def edi_documents_since(self, channel_id: str, since: datetime) -> list[InboundDocument]:
        c = edi_documents_in.c
        query = (
            select(edi_documents_in)
            .where(c.channel_id == channel_id, c.received_at >= since)
            .order_by(c.received_at, c.id)
        )
        return await self._read(lambda conn: [_document(r) for r in conn.execute(query)])

    async def edi_documents_of(self, channel_id: str, po_number: str) -> list[InboundDocument]:
        c = edi_documents_in.c
        query = (
            select(edi_documents_in)
            .where(c.channel_id == channel_id, c.po_number == po_number)
            .order_by(c.received_at, c.id)
        )
        return await self._read(lambda conn: [_document(r) for r in conn.execute(query)])

    async def next_edi_control_number(self, channel_id: str) -> int:
        c = edi_control_numbers.c

        def tx(conn: Connection) -> int:
            conn.execute(
                self._insert(edi_control_numbers)
                .values(channel_id=channel_id, last_value=1)
                .on_conflict_do_update(index_elements=[c.channel_id], set_={"last_value": c.last_value + 1})
            )
            value = conn.execute(select(c.last_value).where(c.channel_id == channel_id)).scalar_one()
            return int(value)

        return await self._write(tx)

    async def record_edi_outbound(self, document: OutboundDocument) -> OutboundDocument:
        def tx(conn: Connection) -> OutboundDocument:
            conn.execute(
                self._insert(edi_documents_out)
                .values(**document.model_dump())
                .on_conflict_do_nothing(index_elements=[edi_documents_out.c.channel_id, edi_documents_out.c.key])
            )
            found = self._outbound(conn, document.channel_id, document.key)
            assert found is not None  # inserted now or before
            return found

        return await self._write(tx)

    def _outbound(self, conn: Connection, channel_id: str, key: str) -> OutboundDocument | None:
        c = edi_documents_out.c
        row = conn.execute(select(edi_documents_out).where(c.channel_id == channel_id, c.key == key)).first()
        return OutboundDocument.model_validate(dict(row._mapping)) if row is not None else None

    async def edi_outbound(self, channel_id: str, key: str) -> OutboundDocument | None:
        return await self._read(lambda conn: self._outbound(conn, channel_id, key))

    async def edi_outbound_by_control(self, channel_id: str, control_number: int) -> OutboundDocument | None:
        c = edi_documents_out.c
        query = select(edi_documents_out).where(c.channel_id == channel_id, c.control_number == control_number)

        def tx(conn: Connection) -> OutboundDocument | None:
            row = conn.execute(query).first()
            return OutboundDocument.model_validate(dict(row._mapping)) if row is not None else None

        return await self._read(tx)

    async def edi_outbound_statuses(
        self,
        channel_id: str | None = None,
        status: AcknowledgementStatus | None = None,
        unacknowledged_before: dict[str, datetime] | None = None,
        limit: int = 100,
    ) -> list[OutboundStatus]:
        out, acks, ack = edi_documents_out.c, edi_document_acks.c, edi_acknowledgements
        columns = [out.channel_id, out.key, out.kind, out.control_number, out.path, out.created_at, out.sent_at]
        query = (
            select(*columns, acks.acknowledgement_id)
            .select_from(
                edi_documents_out.outerjoin(
                    edi_document_acks, (acks.channel_id == out.channel_id) & (acks.key == out.key)
                )
            )
            .where(out.kind.not_in(ACKNOWLEDGEMENT_KINDS))
            .order_by(_STATUS_ORDER, out.created_at.desc(), out.control_number.desc())
            .limit(limit)
        )
        if channel_id is not None:
            query = query.where(out.channel_id == channel_id)
        if status is not None:
            query = query.where(acks.status == str(status))
        if unacknowledged_before is not None:
            cutoffs = [(out.channel_id == ch) & (out.sent_at < at) for ch, at in unacknowledged_before.items()]
            if not cutoffs:
                return []
            either = cutoffs[0]
            for cutoff in cutoffs[1:]:
                either = either | cutoff
            query = query.where(acks.key.is_(None), either)

        def tx(conn: Connection) -> list[OutboundStatus]:
            rows = conn.execute(query).all()
            ids = [r.acknowledgement_id for r in rows if r.acknowledgement_id is not None]
            found = {}
            if ids:
                found = {r.id: _acknowledgement(r) for r in conn.execute(select(ack).where(ack.c.id.in_(ids)))}
            return [
                OutboundStatus(
                    **{k: v for k, v in r._mapping.items() if k != "acknowledgement_id"},
                    acknowledgement=found.get(r.acknowledgement_id),
                )
                for r in rows
            ]

        return await self._read(tx)

    async def edi_acknowledgements(
        self, channel_id: str | None = None, unmatched: bool = False, limit: int = 100
    ) -> list[AcknowledgementRecord]:
        c = edi_acknowledgements.c
        query = select(edi_acknowledgements).order_by(c.received_at.desc(), c.id.desc()).limit(limit)
        if channel_id is not None:
            query = query.where(c.channel_id == channel_id)
        if unmatched:
            query = query.where(c.document_key.is_(None))
        return await self._read(lambda conn: [_acknowledgement(r) for r in conn.execute(query)])

    async def edi_rejections_to_raise(self, channel_id: str) -> list[AcknowledgementRecord]:
        c = edi_acknowledgements.c
        query = (
            select(edi_acknowledgements)
            .where(
                c.channel_id == channel_id,
                c.status == str(AcknowledgementStatus.REJECTED),
                c.document_kind.in_(("856", "810")),
                c.case_delivered_at.is_(None),
            )
            .order_by(c.id)
        )
        return await self._read(lambda conn: [_acknowledgement(r) for r in conn.execute(query)])

    async def mark_edi_rejection_raised(self, channel_id: str, acknowledgement_id: int, at: datetime) -> None:
        c = edi_acknowledgements.c

        def tx(conn: Connection) -> None:
            conn.execute(
                update(edi_acknowledgements)
                .where(c.channel_id == channel_id, c.id == acknowledgement_id, c.case_delivered_at.is_(None))
                .values(case_delivered_at=at)
            )

        await self._write(tx)

    async def edi_outbound_documents(self, channel_id: str) -> list[OutboundDocument]:
        c = edi_documents_out.c
        query = select(edi_documents_out).where(c.channel_id == channel_id).order_by(c.control_number)
        return await self._read(
            lambda conn: [OutboundDocument.model_validate(dict(r._mapping)) for r in conn.execute(query)]
        )

    async def mark_edi_outbound_sent(self, channel_id: str, key: str, sent_at: datetime) -> None:
        c = edi_documents_out.c

        def tx(conn: Connection) -> None:
            conn.execute(
                update(edi_documents_out)
                .where(c.channel_id == channel_id, c.key == key, c.sent_at.is_(None))
                .values(sent_at=sent_at)
            )

        await self._write(tx)

    async def record_edi_parcel(
        self, channel_id: str, order_id: str, shipment_id: str, shipping_request_id: str, parcel: dict[str, Any]
    ) -> None:
        def tx(conn: Connection) -> None:
            conn.execute(
                self._insert(edi_parcels)
                .values(
                    channel_id=channel_id,
                    order_id=order_id,
                    shipment_id=shipment_id,
                    shipping_request_id=shipping_request_id,
                    parcel=parcel,
                )
                .on_conflict_do_nothing(index_elements=[edi_parcels.c.channel_id, edi_parcels.c.shipment_id])
            )

        await self._write(tx)

    async def edi_parcels(self, channel_id: str, order_id: str) -> list[dict[str, Any]]:
        c = edi_parcels.c
        query = select(c.parcel).where(c.channel_id == channel_id, c.order_id == order_id).order_by(c.id)
        return await self._read(lambda conn: [dict(r.parcel) for r in conn.execute(query)])
