"""What one file from a partner's inbox becomes: the interchange's record, the 850 and 860 sets it
accepted, the partner's 997s and TA1s about Orderloop's interchanges it carried (`responses`),
and the acknowledgement to send back (a 997 per functional group, but never for a group of
997s; a TA1 when the envelope itself is broken, so no group can be acknowledged).

Nothing of a rejected set starts: a group whose envelope is wrong (GE count or control number,
a version other than the partner's) rejects all its sets; a set with a segment or element error
is rejected alone (AK9 P for the group). An interchange from a sender other than the configured
partner, or addressed to another receiver, is rejected whole (TA1 note 006 / 008).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

from connectors.edi import responses, rules
from connectors.edi.acknowledgements import functional_acknowledgement, interchange_acknowledgement
from connectors.edi.envelopes import FunctionalGroup, Interchange, OutboundSet, TransactionSet, read_interchange
from connectors.edi.settings import EdiSettings
from connectors.edi.x12 import Segment, X12SyntaxError
from orderloop.edi_records import AcknowledgementRecord, InboundDocument, InterchangeRecord, InterchangeStatus

INBOUND_SETS = {"850", "860"}
# The partner's acknowledgement of a group Orderloop sent: read, never acknowledged itself.
ACKNOWLEDGEMENT_SET = "997"


@dataclass
class Received:
    record: InterchangeRecord
    documents: list[InboundDocument] = field(default_factory=list)
    # 997 sets to send (one per functional group), or the TA1 segment.
    acknowledgements: list[OutboundSet] = field(default_factory=list)
    ta1: Segment | None = None
    interchange: Interchange | None = None
    # The partner's 997s (per AK1 loop) and TA1s about Orderloop's interchanges, not yet matched.
    responses: list[AcknowledgementRecord] = field(default_factory=list)


def receive(data: bytes, *, channel_id: str, file_name: str, settings: EdiSettings, at: datetime) -> Received:
    try:
        interchange = read_interchange(data)
    except X12SyntaxError as exc:
        return Received(
            InterchangeRecord(
                channel_id=channel_id,
                sender=f"file:{file_name}",
                control_number=f"{at.timestamp():.6f}",
                file_name=file_name,
                status=InterchangeStatus.UNREADABLE,
                received_at=at,
                detail=str(exc),
            )
        )
    sender = f"{interchange.sender_qualifier}:{interchange.sender_id}"
    _check_parties(interchange, settings)
    record = InterchangeRecord(
        channel_id=channel_id,
        sender=sender,
        control_number=interchange.control_number,
        file_name=file_name,
        status=InterchangeStatus.ACCEPTED,
        received_at=at,
    )
    received = Received(record, interchange=interchange)
    if interchange.errors:
        record.status = InterchangeStatus.REJECTED
        record.detail = f"interchange rejected, TA1 note codes {', '.join(interchange.errors)}"
        received.ta1 = interchange_acknowledgement(interchange, at)
        return received
    received.responses = responses.interchange_acknowledgements(interchange, channel_id, at)
    received.acknowledgements, problems, accepted, total = _groups(interchange, settings, received, channel_id, at)
    if problems:
        record.detail = "; ".join(problems)
        record.status = InterchangeStatus.REJECTED if accepted == 0 else InterchangeStatus.PARTIAL
    if total == 0 and not interchange.ta1:
        record.status = InterchangeStatus.REJECTED
        record.detail = record.detail or "the interchange holds no transaction set"
    return received


def _check_parties(interchange: Interchange, settings: EdiSettings) -> None:
    if (interchange.sender_qualifier, interchange.sender_id) != (
        settings.partner_isa_qualifier,
        settings.partner_isa_id,
    ):
        interchange.errors.append("006")
    if (interchange.receiver_qualifier, interchange.receiver_id) != (settings.our_isa_qualifier, settings.our_isa_id):
        interchange.errors.append("008")


def _groups(
    interchange: Interchange, settings: EdiSettings, received: Received, channel_id: str, at: datetime
) -> tuple[list[OutboundSet], list[str], int, int]:
    acks, problems = [], []
    accepted = total = 0
    for group in interchange.groups:
        if group.version[:6] != settings.version and "2" not in group.errors:
            group.errors.append("2")
        for transaction in group.transactions:
            total += 1
            known = INBOUND_SETS | {ACKNOWLEDGEMENT_SET}
            if transaction.code not in known or transaction.code not in settings.documents:
                transaction.errors.append("1")
            else:
                rules.check_transaction(transaction)
            if transaction.accepted and not group.errors:
                accepted += 1
                if transaction.code == ACKNOWLEDGEMENT_SET:
                    received.responses.extend(
                        responses.functional_acknowledgements(_alone(group, transaction), interchange, channel_id, at)
                    )
                else:
                    received.documents.append(_document(transaction, interchange, group.control_number, channel_id, at))
            else:
                problems.append(_describe(group.control_number, transaction, group.errors))
        if not group.transactions:
            problems.append(f"group {group.control_number} holds no transaction set")
        if group.functional_id != "FA" and all(t.code != ACKNOWLEDGEMENT_SET for t in group.transactions):
            acks.append(functional_acknowledgement(group))
    return acks, problems, accepted, total


def _alone(group: FunctionalGroup, transaction: TransactionSet) -> FunctionalGroup:
    return replace(group, transactions=[transaction])


def _document(
    transaction: TransactionSet, interchange: Interchange, group_control: str, channel_id: str, at: datetime
) -> InboundDocument:
    segments = [[s.id, *s.elements] for s in transaction.body]
    header = "BEG" if transaction.code == "850" else "BCH"
    number = next((s.get(3) for s in transaction.body if s.id == header), "")
    return InboundDocument(
        channel_id=channel_id,
        po_number=number,
        kind=transaction.code,
        received_at=at,
        envelope={
            "sender_qualifier": interchange.sender_qualifier,
            "sender_id": interchange.sender_id,
            "control_number": interchange.control_number,
            "group_control_number": group_control,
            "set_control_number": transaction.control_number,
            "version": interchange.groups[0].version if interchange.groups else "",
            "received_at": at.isoformat(),
            "component_separator": interchange.delimiters.component,
        },
        segments=segments,
    )


def _describe(group_control: str, transaction: TransactionSet, group_errors: list[str]) -> str:
    parts = [f"group {group_control} set {transaction.code} {transaction.control_number} rejected"]
    if group_errors:
        parts.append(f"AK9 codes {','.join(group_errors)}")
    if transaction.errors:
        parts.append(f"AK5 codes {','.join(transaction.errors)}")
    for error in transaction.segment_errors:
        detail = f"{error.segment_id} at {error.position}: AK3 {error.code}"
        if error.elements:
            detail += " (" + ", ".join(f"{error.segment_id}{e.position:02d} AK4 {e.code}" for e in error.elements) + ")"
        parts.append(detail)
    return ": ".join(parts[:1]) + (" " + "; ".join(parts[1:]) if parts[1:] else "")
