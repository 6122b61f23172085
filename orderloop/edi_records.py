"""What an EDI connector keeps in the ledger database, and the store's protocol: the
interchanges received from each partner (deduplicated by the sender's ISA id and control
number, the rejected ones kept for operators), the purchase orders and changes they carried,
the interchange control numbers Orderloop sends with (per partner, monotonic), the documents
sent (one per key: a retried 855, 856 or 810 is the same file with the same control number) and
the parcels reported per order (the cartons of the 856).

Lives outside `connectors` and `orderloop.ledger` so that both use it without a connector
loading the SQL ledger (as `orderloop.tokens` does for rotating tokens).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from pydantic import BaseModel, Field


class InterchangeStatus(StrEnum):
    ACCEPTED = "accepted"
    # Some transaction sets accepted, others rejected (997 AK9 P).
    PARTIAL = "partial"
    REJECTED = "rejected"
    # Not X12 at all (no ISA): moved to the error folder, nothing could be acknowledged.
    UNREADABLE = "unreadable"


class InterchangeRecord(BaseModel):
    channel_id: str
    # ISA05:ISA06 of the sender ("ZZ:ACMERETAIL"); the file name for an unreadable file.
    sender: str
    control_number: str
    file_name: str
    status: InterchangeStatus
    received_at: datetime
    # What was wrong (the 997's or TA1's errors, readable), None when accepted.
    detail: str | None = None


class InboundDocument(BaseModel):
    """An accepted 850 or 860 transaction set."""

    channel_id: str
    po_number: str
    kind: str  # "850", "860"
    received_at: datetime
    # Envelope references (sender, control numbers, version) and the set's segments.
    envelope: dict[str, Any] = Field(default_factory=dict)
    segments: list[list[str]] = Field(default_factory=list)


class OutboundDocument(BaseModel):
    channel_id: str
    # What the document answers, e.g. "855/<order id>", "856/<shipping request id>".
    key: str
    kind: str
    control_number: int
    path: str
    content: str
    created_at: datetime
    sent_at: datetime | None = None


class EdiRecords(Protocol):
    async def record_edi_interchange(self, record: InterchangeRecord, documents: list[InboundDocument]) -> bool:
        """Record a received interchange and its accepted documents in one transaction; False
        (nothing recorded) when the same sender's control number was recorded before."""
        ...

    async def edi_interchange(self, channel_id: str, sender: str, control_number: str) -> InterchangeRecord | None: ...

    async def edi_interchanges(
        self, channel_id: str | None = None, status: InterchangeStatus | None = None, limit: int = 100
    ) -> list[InterchangeRecord]:
        """Newest first."""
        ...

    async def edi_documents_since(self, channel_id: str, since: datetime) -> list[InboundDocument]:
        """Documents received at or after `since`, oldest first."""
        ...

    async def edi_documents_of(self, channel_id: str, po_number: str) -> list[InboundDocument]:
        """Every document of one purchase order, oldest first."""
        ...

    async def next_edi_control_number(self, channel_id: str) -> int:
        """The next interchange control number for the channel's partner (1, 2, ...)."""
        ...

    async def record_edi_outbound(self, document: OutboundDocument) -> OutboundDocument:
        """Record a document to send under its key; the one recorded first when the key exists."""
        ...

    async def edi_outbound(self, channel_id: str, key: str) -> OutboundDocument | None: ...

    async def mark_edi_outbound_sent(self, channel_id: str, key: str, sent_at: datetime) -> None: ...

    async def record_edi_parcel(
        self, channel_id: str, order_id: str, shipment_id: str, shipping_request_id: str, parcel: dict[str, Any]
    ) -> None:
        """Keep a reported parcel (a `Shipment` as JSON) of an order; once per shipment id."""
        ...

    async def edi_parcels(self, channel_id: str, order_id: str) -> list[dict[str, Any]]:
        """The order's parcels, in the order they were reported."""
        ...
