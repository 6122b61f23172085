"""Reading the partner's acknowledgements of Orderloop's interchanges: a 997 (one record per AK1
loop: the group it names, each AK2 set with its AK3/AK4 errors and AK5 answer, the AK9 summary)
and a TA1 (the interchange it names, its A/E/R answer and note code), with the codes spelled out
for operators. Which outbound document each names is the client's to find (`PartnerClient`).

The answer of a group: rejected when AK9 or any AK5 says R (or M, W, X: rejected for security
reasons), accepted with errors when AK9 says E or P or any AK5 says E, else accepted. A 997 is
never answered with a 997 (X12.6 section 4.4: acknowledgements are not acknowledged).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from connectors.edi.envelopes import FunctionalGroup, Interchange, TransactionSet
from connectors.edi.x12 import Segment
from orderloop.edi_records import AcknowledgementRecord, AcknowledgementStatus

_REJECTING = {"R", "M", "W", "X"}

# Code lists (X12 elements 716, 718, 720, 723 and the TA1's I18), for the detail operators read.
AK9_CODES = {
    "1": "functional group not supported",
    "2": "functional group version not supported",
    "3": "functional group trailer missing",
    "4": "group control number in the header and trailer do not agree",
    "5": "number of included transaction sets does not match actual count",
    "6": "group control number violates syntax",
}
AK5_CODES = {
    "1": "transaction set not supported",
    "2": "transaction set trailer missing",
    "3": "transaction set control number in header and trailer do not match",
    "4": "number of included segments does not match actual count",
    "5": "one or more segments in error",
    "6": "missing or invalid transaction set identifier",
    "7": "missing or invalid transaction set control number",
    "23": "transaction set control number not unique within the functional group",
}
AK3_CODES = {
    "1": "unrecognized segment ID",
    "2": "unexpected segment",
    "3": "mandatory segment missing",
    "4": "loop occurs over maximum times",
    "5": "segment exceeds maximum use",
    "6": "segment not in defined transaction set",
    "7": "segment not in proper sequence",
    "8": "segment has data element errors",
}
AK4_CODES = {
    "1": "mandatory data element missing",
    "2": "conditional required data element missing",
    "3": "too many data elements",
    "4": "data element too short",
    "5": "data element too long",
    "6": "invalid character in data element",
    "7": "invalid code value",
    "8": "invalid date",
    "9": "invalid time",
    "10": "exclusion condition violated",
}
TA1_NOTES = {
    "000": "no error",
    "001": "interchange control numbers in header and trailer do not match",
    "004": "invalid segment terminator",
    "005": "invalid interchange ID qualifier for sender",
    "006": "invalid interchange sender ID",
    "007": "invalid interchange ID qualifier for receiver",
    "008": "invalid interchange receiver ID",
    "014": "invalid interchange date value",
    "015": "invalid interchange time value",
    "017": "invalid interchange control standards identifier or version",
    "018": "invalid interchange control number value",
    "021": "invalid number of included groups value",
    "022": "invalid control structure",
    "023": "improper (premature) end-of-file",
    "024": "invalid interchange content",
    "025": "duplicate interchange control number",
}


def _spelled(codes: dict[str, str], code: str) -> str:
    return f"{code} ({codes[code]})" if code in codes else code


def functional_acknowledgements(
    group: FunctionalGroup, interchange: Interchange, channel_id: str, at: datetime
) -> list[AcknowledgementRecord]:
    """The records of a group of accepted 997 sets, one per AK1 loop."""
    return [_from_997(t, interchange, channel_id, at) for t in group.transactions if t.code == "997"]


def _from_997(
    transaction: TransactionSet, interchange: Interchange, channel_id: str, at: datetime
) -> AcknowledgementRecord:
    ak1 = next(s for s in transaction.body if s.id == "AK1")  # mandatory: checked by the rules
    ak9 = next(s for s in transaction.body if s.id == "AK9")
    sets: list[dict[str, Any]] = []
    for segment in transaction.body:
        if segment.id == "AK2":
            sets.append({"code": segment.get(1), "control": segment.get(2), "status": "", "codes": [], "errors": []})
        elif segment.id == "AK3" and sets:
            sets[-1]["errors"].append(
                {
                    "segment": segment.get(1),
                    "position": segment.get(2),
                    "loop": segment.get(3),
                    "code": segment.get(4),
                    "elements": [],
                }
            )
        elif segment.id == "AK4" and sets and sets[-1]["errors"]:
            sets[-1]["errors"][-1]["elements"].append(
                {
                    "position": segment.get(1),
                    "reference": segment.get(2),
                    "code": segment.get(3),
                    "value": segment.get(4),
                }
            )
        elif segment.id == "AK5" and sets:
            sets[-1]["status"] = segment.get(1)
            sets[-1]["codes"] = [c for c in segment.elements[1:6] if c]
    group_status, group_codes = ak9.get(1), [c for c in ak9.elements[4:9] if c]
    answers = {group_status, *(s["status"] for s in sets)}
    if answers & _REJECTING:
        status = AcknowledgementStatus.REJECTED
    elif answers & {"E", "P"}:
        status = AcknowledgementStatus.ACCEPTED_WITH_ERRORS
    else:
        status = AcknowledgementStatus.ACCEPTED
    codes = [f"AK9 {group_status}", *(f"AK9 {c}" for c in group_codes)]
    parts = [f"group {ak1.get(2)} ({ak1.get(1)}) AK9 {group_status}"]
    parts += [f"AK9 {_spelled(AK9_CODES, c)}" for c in group_codes]
    for entry in sets:
        codes += [f"AK5 {entry['status']}", *(f"AK5 {c}" for c in entry["codes"])]
        described = [f"set {entry['code']} {entry['control']} AK5 {entry['status']}"]
        described += [f"AK5 {_spelled(AK5_CODES, c)}" for c in entry["codes"]]
        for error in entry["errors"]:
            codes.append(f"AK3 {error['segment']} {error['position']} {error['code']}")
            described.append(f"{error['segment']} at {error['position']}: AK3 {_spelled(AK3_CODES, error['code'])}")
            for element in error["elements"]:
                name = f"{error['segment']}{element['position'].split(interchange.delimiters.component)[0].zfill(2)}"
                codes.append(f"AK4 {name} {element['code']}")
                value = f" {element['value']!r}" if element["value"] else ""
                described.append(f"{name}{value}: AK4 {_spelled(AK4_CODES, element['code'])}")
        parts.append(", ".join(described))
    return AcknowledgementRecord(
        channel_id=channel_id,
        sender=f"{interchange.sender_qualifier}:{interchange.sender_id}",
        interchange_control=interchange.control_number,
        kind="997",
        functional_id=ak1.get(1),
        group_control=ak1.get(2),
        status=status,
        codes=codes,
        detail="; ".join(parts),
        sets=sets,
        received_at=at,
    )


def interchange_acknowledgements(
    interchange: Interchange, channel_id: str, at: datetime
) -> list[AcknowledgementRecord]:
    """The records of the TA1s the interchange carries (outside any group)."""
    return [_from_ta1(segment, interchange, channel_id, at) for segment in interchange.ta1]


def _from_ta1(segment: Segment, interchange: Interchange, channel_id: str, at: datetime) -> AcknowledgementRecord:
    answer, note = segment.get(4), segment.get(5)
    status = {"A": AcknowledgementStatus.ACCEPTED, "E": AcknowledgementStatus.ACCEPTED_WITH_ERRORS}.get(
        answer, AcknowledgementStatus.REJECTED
    )
    return AcknowledgementRecord(
        channel_id=channel_id,
        sender=f"{interchange.sender_qualifier}:{interchange.sender_id}",
        interchange_control=interchange.control_number,
        kind="TA1",
        group_control=segment.get(1),
        status=status,
        codes=[f"TA1 {answer}", f"TA1 {note}"] if note else [f"TA1 {answer}"],
        detail=f"interchange {segment.get(1)} TA1 {answer}, note {_spelled(TA1_NOTES, note)}",
        received_at=at,
    )
