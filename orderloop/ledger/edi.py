"""EDI trading partners' records in the ledger (orderloop.edi_records.EdiRecords).

Invariants: one interchange row per (channel, sender, control number), so a re-sent interchange
is recognised by the unique constraint, not by a read before the write; its accepted documents
are written in the same transaction, so a poll that dies after it finds them again and one that
dies before it reads the file again. The control number counter only grows (an UPDATE of
`last_value + 1` in the writing transaction, CHECKed to stay within ISA13's nine digits). An
outbound document is recorded once per key with its control number and content before it is
written to the partner's folder, so a retry writes the same bytes again, never a second number.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.engine import Connection, Row
from sqlalchemy.exc import IntegrityError

from orderloop.edi_records import InboundDocument, InterchangeRecord, InterchangeStatus, OutboundDocument
from orderloop.ledger.base import LedgerBase
from orderloop.ledger.schema import (
    edi_control_numbers,
    edi_documents_in,
    edi_documents_out,
    edi_interchanges,
    edi_parcels,
)


def _interchange(row: Row[Any]) -> InterchangeRecord:
    m = dict(row._mapping)
    m.pop("id", None)
    return InterchangeRecord.model_validate(m)


def _document(row: Row[Any]) -> InboundDocument:
    m = dict(row._mapping)
    m.pop("id", None)
    return InboundDocument.model_validate(m)


class EdiPartnerRecords(LedgerBase):
    """Interchanges, purchase orders, control numbers, documents sent and parcels per partner."""

    async def record_edi_interchange(self, record: InterchangeRecord, documents: list[InboundDocument]) -> bool:
        def tx(conn: Connection) -> bool:
            conn.execute(edi_interchanges.insert().values(**record.model_dump()))
            if documents:
                conn.execute(
                    edi_documents_in.insert(),
                    [d.model_dump(mode="json") | {"received_at": d.received_at} for d in documents],
                )
            return True

        try:
            return await self._write(tx)
        except IntegrityError:
            found = await self.edi_interchange(record.channel_id, record.sender, record.control_number)
            if found is None:
                raise
            return False

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
