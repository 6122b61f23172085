"""The 997 functional acknowledgement of a received functional group, and the TA1 interchange
acknowledgement of an envelope Orderloop cannot open.

A 997 has one AK2 loop per transaction set: AK3 (segment errors) with their AK4 (element
errors), then AK5 (A accepted, R rejected, with the 717 codes); AK9 sums the group up (A, P
partially accepted, R) with the counts of sets included, received and accepted. 5010 adds the
group's version as AK1-03; the rest is the same in 4010 and 5010.
"""

from __future__ import annotations

from datetime import datetime

from connectors.edi.envelopes import FunctionalGroup, Interchange, OutboundSet
from connectors.edi.x12 import Segment, seg


def functional_acknowledgement(group: FunctionalGroup) -> OutboundSet:
    body: list[Segment] = [
        seg("AK1", group.functional_id, group.control_number, group.version if group.version >= "005010" else None)
    ]
    accepted = 0
    for transaction in group.transactions:
        body.append(seg("AK2", transaction.code, transaction.control_number))
        for error in transaction.segment_errors:
            body.append(seg("AK3", error.segment_id, error.position, error.loop_id or None, error.code))
            for element in error.elements:
                body.append(seg("AK4", element.position, element.reference, element.code, _copy(element.value)))
        ok = transaction.accepted and not group.errors
        accepted += ok
        body.append(seg("AK5", "A" if ok else "R", *transaction.errors[:5]))
    received = len(group.transactions)
    if group.errors or accepted == 0:
        status = "R"
    elif accepted < received:
        status = "P"
    else:
        status = "A"
    body.append(seg("AK9", status, received, received, accepted, *group.errors[:5]))
    return OutboundSet("997", body)


def interchange_acknowledgement(interchange: Interchange, at: datetime) -> Segment:
    """TA1: the interchange's control number, date and time, R (rejected) or A, the first note code."""
    isa = interchange.isa
    date = isa.get(9) if isa else at.strftime("%y%m%d")
    time = isa.get(10) if isa else at.strftime("%H%M")
    note = interchange.errors[0] if interchange.errors else "000"
    return seg("TA1", interchange.control_number, date, time, "R" if interchange.errors else "A", note)


def _copy(value: str) -> str | None:
    """AK4-04, the bad data element, printable characters only."""
    text = "".join(c for c in value if c.isprintable())
    return text or None
