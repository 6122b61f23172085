"""The syntax rules of the segments Orderloop reads from a partner (850, 860) and checks in what
it writes (855, 856, 810, 846, 997), from the X12 4010/5010 segment dictionaries: each element's data
element number, requirement (M mandatory, O optional, X conditional: checked where it is given),
type (ID code, AN text, DT date, TM time, N0 integer, R decimal) and length; codes where the
connector acts on them. A transaction set's rules name its mandatory segments.

Checking a transaction set yields the AK3/AK4 errors of a 997. Segments not listed here but
well-formed (2-3 upper-case letters or digits) are accepted and ignored, as a partner's
implementation guide may add segments Orderloop has no use for; a segment id that is not one is
AK3 code 1 (unrecognized).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from connectors.edi.envelopes import ElementError, SegmentError, TransactionSet


@dataclass(frozen=True)
class Element:
    reference: str
    required: bool
    kind: str  # ID, AN, DT, TM, N0, R
    min_length: int
    max_length: int
    codes: frozenset[str] = frozenset()


def e(reference: str, req: str, kind: str, lengths: str, codes: str = "") -> Element:
    low, high = (int(n) for n in lengths.split("/"))
    return Element(reference, req == "M", kind, low, high, frozenset(codes.split()) if codes else frozenset())


# Element rules of each segment, by position (1-based).
SEGMENTS: dict[str, dict[int, Element]] = {
    "BEG": {
        1: e("353", "M", "ID", "2/2", "00 05 06 07"),
        2: e("92", "M", "ID", "2/2"),
        3: e("324", "M", "AN", "1/22"),
        4: e("328", "O", "AN", "1/30"),
        5: e("373", "M", "DT", "8/8"),
    },
    "BCH": {
        1: e("353", "M", "ID", "2/2", "01 04 05"),
        2: e("92", "M", "ID", "2/2"),
        3: e("324", "M", "AN", "1/22"),
        4: e("328", "O", "AN", "1/30"),
        5: e("327", "O", "AN", "1/8"),
        6: e("373", "M", "DT", "8/8"),
    },
    "CUR": {1: e("98", "M", "ID", "2/3"), 2: e("100", "M", "ID", "3/3")},
    "REF": {1: e("128", "M", "ID", "2/3"), 2: e("127", "O", "AN", "1/50")},
    "ITD": {
        1: e("336", "O", "ID", "2/2"),
        2: e("333", "O", "ID", "1/2"),
        3: e("338", "O", "R", "1/6"),
        5: e("351", "O", "N0", "1/3"),
        7: e("386", "O", "N0", "1/3"),
        12: e("352", "O", "AN", "1/80"),
    },
    "DTM": {1: e("374", "M", "ID", "3/3"), 2: e("373", "O", "DT", "8/8"), 3: e("337", "O", "TM", "4/8")},
    "TD5": {
        1: e("133", "O", "ID", "1/2"),
        2: e("66", "O", "ID", "1/2"),
        3: e("67", "O", "AN", "2/80"),
        4: e("91", "O", "ID", "1/2"),
        5: e("387", "O", "AN", "1/35"),
    },
    "N1": {
        1: e("98", "M", "ID", "2/3"),
        2: e("93", "O", "AN", "1/60"),
        3: e("66", "O", "ID", "1/2"),
        4: e("67", "O", "AN", "2/80"),
    },
    "N3": {1: e("166", "M", "AN", "1/55"), 2: e("166", "O", "AN", "1/55")},
    "N4": {
        1: e("19", "O", "AN", "2/30"),
        2: e("156", "O", "ID", "2/2"),
        3: e("116", "O", "ID", "3/15"),
        4: e("26", "O", "ID", "2/3"),
    },
    "PO1": {
        1: e("350", "M", "AN", "1/20"),
        2: e("330", "M", "R", "1/15"),
        3: e("355", "M", "ID", "2/2"),
        4: e("212", "O", "R", "1/17"),
        5: e("639", "O", "ID", "2/2"),
        **{
            p: e("235" if p % 2 == 0 else "234", "O", "ID" if p % 2 == 0 else "AN", "2/2" if p % 2 == 0 else "1/48")
            for p in range(6, 26)
        },
    },
    "PO4": {1: e("356", "O", "N0", "1/6"), 2: e("357", "O", "R", "1/8"), 3: e("355", "O", "ID", "2/2")},
    "POC": {
        1: e("350", "M", "AN", "1/20"),
        2: e("670", "M", "ID", "2/2", "AI CA DI PC PQ QD QI RZ"),
        3: e("380", "O", "R", "1/15"),
        4: e("671", "O", "R", "1/9"),
        5: e("355", "O", "ID", "2/2"),
        6: e("212", "O", "R", "1/17"),
        7: e("639", "O", "ID", "2/2"),
        **{
            p: e("235" if p % 2 == 0 else "234", "O", "ID" if p % 2 == 0 else "AN", "2/2" if p % 2 == 0 else "1/48")
            for p in range(8, 28)
        },
    },
    "CTT": {1: e("354", "M", "N0", "1/6")},
    # What Orderloop writes (the sandbox partner checks these).
    "BAK": {
        1: e("353", "M", "ID", "2/2"),
        2: e("587", "M", "ID", "2/2", "AC AD AT RJ"),
        3: e("324", "M", "AN", "1/22"),
        4: e("373", "M", "DT", "8/8"),
    },
    "ACK": {1: e("668", "M", "ID", "2/2", "IA IQ IR"), 2: e("380", "O", "R", "1/15"), 3: e("355", "O", "ID", "2/2")},
    "BSN": {
        1: e("353", "M", "ID", "2/2"),
        2: e("396", "M", "AN", "2/30"),
        3: e("373", "M", "DT", "8/8"),
        4: e("337", "M", "TM", "4/8"),
        5: e("1005", "O", "ID", "4/4"),
    },
    "HL": {1: e("628", "M", "AN", "1/12"), 2: e("734", "O", "AN", "1/12"), 3: e("735", "M", "ID", "1/2", "S O P I T")},
    "MAN": {1: e("88", "M", "ID", "1/2"), 2: e("87", "M", "AN", "1/48")},
    "PRF": {1: e("324", "M", "AN", "1/22")},
    "LIN": {1: e("350", "O", "AN", "1/20"), 2: e("235", "M", "ID", "2/2"), 3: e("234", "M", "AN", "1/48")},
    "SN1": {1: e("350", "O", "AN", "1/20"), 2: e("382", "M", "R", "1/10"), 3: e("355", "M", "ID", "2/2")},
    "BIG": {1: e("373", "M", "DT", "8/8"), 2: e("76", "M", "AN", "1/22"), 4: e("324", "O", "AN", "1/22")},
    "IT1": {
        1: e("350", "O", "AN", "1/20"),
        2: e("358", "M", "R", "1/10"),
        3: e("355", "M", "ID", "2/2"),
        4: e("212", "M", "R", "1/17"),
    },
    "TDS": {1: e("610", "M", "N0", "1/15")},
    "BIA": {
        1: e("353", "M", "ID", "2/2", "00 05"),
        2: e("755", "M", "ID", "2/2"),
        3: e("127", "M", "AN", "1/30"),
        4: e("373", "M", "DT", "8/8"),
        5: e("337", "O", "TM", "4/8"),
    },
    "QTY": {1: e("673", "M", "ID", "2/2"), 2: e("380", "O", "R", "1/15"), 3: e("355", "O", "ID", "2/2")},
    "AK1": {1: e("479", "M", "ID", "2/2"), 2: e("28", "M", "N0", "1/9")},
    "AK2": {1: e("143", "M", "ID", "3/3"), 2: e("329", "M", "AN", "4/9")},
    "AK5": {1: e("717", "M", "ID", "1/1", "A E M R W X")},
    "AK9": {
        1: e("715", "M", "ID", "1/1", "A E M P R W X"),
        2: e("97", "M", "N0", "1/6"),
        3: e("123", "M", "N0", "1/6"),
        4: e("2", "M", "N0", "1/6"),
    },
}

# Mandatory segments of each transaction set (at least once), and the repeating line segment.
MANDATORY: dict[str, tuple[str, ...]] = {
    "850": ("BEG", "PO1"),
    "860": ("BCH",),
    "855": ("BAK",),
    "856": ("BSN", "HL"),
    "810": ("BIG", "IT1", "TDS"),
    "846": ("BIA", "LIN", "QTY"),
    "997": ("AK1", "AK9"),
}

_SEGMENT_ID = re.compile(r"^[A-Z0-9]{2,3}$")
_INTEGER = re.compile(r"^-?\d+$")
_DECIMAL = re.compile(r"^-?(\d+\.?\d*|\.\d+)$")


def check_transaction(transaction: TransactionSet) -> None:
    """Add the AK3/AK4 errors of `transaction`'s segments to it (and AK5 code 5 when any)."""
    if transaction.code not in MANDATORY:
        transaction.errors.append("1")  # transaction set not supported
        return
    seen = set()
    for index, segment in enumerate(transaction.body, start=2):  # ST is position 1
        seen.add(segment.id)
        if not _SEGMENT_ID.match(segment.id):
            transaction.segment_errors.append(SegmentError(segment.id[:3], index, "1"))
            continue
        elements = _element_errors(segment.id, segment.elements)
        if elements:
            transaction.segment_errors.append(SegmentError(segment.id, index, "8", elements))
    for required in MANDATORY[transaction.code]:
        if required not in seen:
            transaction.segment_errors.append(SegmentError(required, len(transaction.body) + 2, "3"))
    if transaction.segment_errors and "5" not in transaction.errors:
        transaction.errors.append("5")


def _element_errors(segment_id: str, values: tuple[str, ...]) -> list[ElementError]:
    rules = SEGMENTS.get(segment_id)
    if rules is None:
        return []
    errors = []
    for position, rule in rules.items():
        value = values[position - 1] if position <= len(values) else ""
        code = _element_error(rule, value)
        if code:
            errors.append(ElementError(position, rule.reference, code, value[:99]))
    return errors


def _element_error(rule: Element, value: str) -> str | None:
    if value == "":
        return "1" if rule.required else None
    if rule.kind in {"AN", "ID"}:
        if len(value) < rule.min_length:
            return "4"
        if len(value) > rule.max_length:
            return "5"
        if rule.codes and value not in rule.codes:
            return "7"
        return None
    if rule.kind == "DT":
        return None if _is_time(value, "%Y%m%d") and len(value) == 8 else "8"
    if rule.kind == "TM":
        return None if _is_time(value[:4], "%H%M") and value.isdigit() else "9"
    pattern = _INTEGER if rule.kind == "N0" else _DECIMAL
    if not pattern.match(value):
        return "6"
    digits = len(value.lstrip("-").replace(".", ""))
    if digits < rule.min_length:
        return "4"
    if digits > rule.max_length:
        return "5"
    return None


def _is_time(value: str, fmt: str) -> bool:
    try:
        datetime.strptime(value, fmt)
    except ValueError:
        return False
    return True
