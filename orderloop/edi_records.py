"""What an EDI connector keeps in the ledger database, and the store's protocol: the
interchanges received from each partner (deduplicated by the sender's ISA id and control
number, the rejected ones kept for operators), the purchase orders and changes they carried,
the interchange control numbers Orderloop sends with (per partner, monotonic), the documents
sent (one per key: a retried 855, 856 or 810 is the same file with the same control number) and
the parcels reported per order (the cartons of the 856), and the partner's 997s and TA1s about
Orderloop's documents (each matched to the document it acknowledges, or kept as unmatched).

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


class AcknowledgementStatus(StrEnum):
    """What the partner said of one of Orderloop's documents (997 AK5/AK9, TA1-04)."""

    ACCEPTED = "accepted"
    # Accepted, with errors noted (AK5/AK9 E, AK9 P, TA1 E).
    ACCEPTED_WITH_ERRORS = "accepted_with_errors"
    # Rejected (AK5/AK9 R, M, W, X; TA1 R): the partner did not take the document.
    REJECTED = "rejected"


# The more severe answer wins when a document is acknowledged twice (a TA1, then its 997).
SEVERITY = {
    AcknowledgementStatus.ACCEPTED: 0,
    AcknowledgementStatus.ACCEPTED_WITH_ERRORS: 1,
    AcknowledgementStatus.REJECTED: 2,
}


class AcknowledgementRecord(BaseModel):
    """A partner's 997 functional group response (one AK1 loop) or TA1, about an interchange
    Orderloop sent: our GS06 (the 997's AK1-02) or ISA13 (TA1-01), both the interchange control
    number `PartnerClient.send` reserved."""

    channel_id: str
    # ISA05:ISA06 and ISA13 of the interchange that carried the acknowledgement.
    sender: str
    interchange_control: str
    kind: str  # "997" or "TA1"
    functional_id: str = ""  # AK1-01 (e.g. "SH" for an 856); "" for a TA1
    group_control: str  # AK1-02, or TA1-01
    status: AcknowledgementStatus
    # The partner's codes, each with the segment that carried it: "AK9 R", "AK5 5", "AK3 BSN 2 8",
    # "AK4 BSN03 7", "TA1 006".
    codes: list[str] = Field(default_factory=list)
    # The codes spelled out for operators ("set 856 0001 rejected: AK5 5 one or more segments in error ...").
    detail: str = ""
    # Each AK2 loop: code, control, status, codes and its AK3/AK4 errors.
    sets: list[dict[str, Any]] = Field(default_factory=list)
    # The outbound document it acknowledges (its key and kind); None when Orderloop never sent
    # that group (an unmatched acknowledgement, kept and logged).
    document_key: str | None = None
    document_kind: str | None = None
    received_at: datetime
    # When the rejection was raised on its order as a channel exception (856 and 810).
    case_delivered_at: datetime | None = None
    id: int | None = None


class OutboundStatus(BaseModel):
    """An outbound document (without its content) and the partner's acknowledgement of it."""

    channel_id: str
    key: str
    kind: str
    control_number: int
    path: str
    created_at: datetime
    sent_at: datetime | None = None
    # None while unacknowledged.
    acknowledgement: AcknowledgementRecord | None = None


class EdiRecords(Protocol):
    async def record_edi_interchange(
        self,
        record: InterchangeRecord,
        documents: list[InboundDocument],
        acknowledgements: list[AcknowledgementRecord] | None = None,
    ) -> bool:
        """Record a received interchange, its accepted documents and the acknowledgements it
        carried in one transaction (each matched one becoming its document's status, the more
        severe kept); False (nothing recorded) when the same sender's control number was
        recorded before."""
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

    async def edi_outbound_by_control(self, channel_id: str, control_number: int) -> OutboundDocument | None:
        """The document sent under an interchange control number (its GS06 too)."""
        ...

    async def edi_outbound_statuses(
        self,
        channel_id: str | None = None,
        status: AcknowledgementStatus | None = None,
        unacknowledged_before: dict[str, datetime] | None = None,
        limit: int = 100,
    ) -> list[OutboundStatus]:
        """The documents sent that a partner acknowledges (not 997s or TA1s), rejected first,
        then accepted with errors, unacknowledged, accepted; newest first within each. With
        `unacknowledged_before` (a cut-off per channel), only those sent before their channel's
        cut-off and still unacknowledged."""
        ...

    async def edi_acknowledgements(
        self, channel_id: str | None = None, unmatched: bool = False, limit: int = 100
    ) -> list[AcknowledgementRecord]:
        """Acknowledgements received, newest first; `unmatched`: only those naming no document sent."""
        ...

    async def edi_rejections_to_raise(self, channel_id: str) -> list[AcknowledgementRecord]:
        """Rejections of 856s and 810s not yet raised on their order, oldest first."""
        ...

    async def mark_edi_rejection_raised(self, channel_id: str, acknowledgement_id: int, at: datetime) -> None: ...

    async def mark_edi_outbound_sent(self, channel_id: str, key: str, sent_at: datetime) -> None: ...

    async def record_edi_parcel(
        self, channel_id: str, order_id: str, shipment_id: str, shipping_request_id: str, parcel: dict[str, Any]
    ) -> None:
        """Keep a reported parcel (a `Shipment` as JSON) of an order; once per shipment id."""
        ...

    async def edi_parcels(self, channel_id: str, order_id: str) -> list[dict[str, Any]]:
        """The order's parcels, in the order they were reported."""
        ...
