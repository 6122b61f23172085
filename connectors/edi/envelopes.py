"""X12 envelopes: reading an interchange (ISA/IEA, GS/GE, ST/SE) with every structural error the
standard's acknowledgements can name, and writing one with correct counts and control numbers.

Errors found while reading are kept on the part they concern, as the acknowledgement codes of
X12.6 / the 997 and TA1 (code lists I18 TA1 note codes, 716 AK9, 717 AK5, 720 AK3, 723 AK4):
an interchange-level error is answered with a TA1, a group or transaction set error with a 997
(`connectors.edi.acknowledgements`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from connectors.edi.x12 import ISA_WIDTHS, Delimiters, Segment, X12SyntaxError, render, seg, tokenize

# Versions this connector speaks: ISA12 and the GS08 prefix each implies.
ISA_VERSIONS = {"00401": "004010", "00501": "005010"}
GS_OF_ISA = {gs: isa for isa, gs in ISA_VERSIONS.items()}

# GS01 functional identifier code of each transaction set (X12 element 479).
FUNCTIONAL_IDS = {"850": "PO", "855": "PR", "856": "SH", "810": "IN", "846": "IB", "860": "PC", "997": "FA"}


@dataclass
class ElementError:
    """An AK4: element `position` (1-based) of the segment, its data element number, the 723
    code (1 mandatory missing, 4 too short, 5 too long, 7 invalid code, 8 invalid date ...)."""

    position: int
    reference: str
    code: str
    value: str = ""


@dataclass
class SegmentError:
    """An AK3: the segment id, its position in the transaction set (ST is 1), the 720 code
    (1 unrecognized, 2 unexpected, 3 mandatory missing, 8 has data element errors)."""

    segment_id: str
    position: int
    code: str
    elements: list[ElementError] = field(default_factory=list)
    loop_id: str = ""


@dataclass
class TransactionSet:
    code: str  # ST01, e.g. "850"
    control_number: str  # ST02
    st: Segment
    # The segments between ST and SE.
    body: list[Segment]
    se: Segment | None
    segment_errors: list[SegmentError] = field(default_factory=list)
    # AK5 syntax error codes (717): 1 not supported, 2 trailer missing, 3 control numbers
    # differ, 4 segment count wrong, 5 segments in error.
    errors: list[str] = field(default_factory=list)

    @property
    def accepted(self) -> bool:
        return not self.errors and not self.segment_errors

    def segments(self) -> list[Segment]:
        return [self.st, *self.body, *([self.se] if self.se else [])]


@dataclass
class FunctionalGroup:
    functional_id: str  # GS01
    sender: str  # GS02
    receiver: str  # GS03
    control_number: str  # GS06
    version: str  # GS08
    gs: Segment
    transactions: list[TransactionSet]
    ge: Segment | None
    # AK9 syntax error codes (716): 2 version not supported, 3 trailer missing, 4 control
    # numbers differ, 5 transaction set count wrong.
    errors: list[str] = field(default_factory=list)


@dataclass
class Interchange:
    delimiters: Delimiters
    sender_qualifier: str
    sender_id: str
    receiver_qualifier: str
    receiver_id: str
    control_number: str
    version: str  # ISA12
    usage: str  # ISA15: P production, T test
    acknowledgment_requested: bool
    groups: list[FunctionalGroup]
    # TA1 note codes (I18): 001 control numbers differ, 017 version, 018 control number,
    # 021 group count, 022 control structure, 023 end of file (no IEA), 024 content.
    errors: list[str] = field(default_factory=list)
    isa: Segment | None = None
    # TA1 interchange acknowledgements it carries (they travel outside any group).
    ta1: list[Segment] = field(default_factory=list)


def read_interchange(data: bytes | str) -> Interchange:
    """The interchange in `data`; raises `X12SyntaxError` only when there is no readable ISA."""
    text = data.decode("utf-8", errors="replace") if isinstance(data, bytes) else data
    delimiters, segments = tokenize(text)
    isa = segments[0]
    errors = _isa_errors(isa)
    interchange = Interchange(
        delimiters=delimiters,
        sender_qualifier=isa.get(5).strip(),
        sender_id=isa.get(6).strip(),
        receiver_qualifier=isa.get(7).strip(),
        receiver_id=isa.get(8).strip(),
        control_number=isa.get(13),
        version=isa.get(12),
        usage=isa.get(15),
        acknowledgment_requested=isa.get(14) == "1",
        groups=[],
        errors=errors,
        isa=isa,
    )
    rest = segments[1:]
    iea = rest.pop() if rest and rest[-1].id == "IEA" else None
    group: list[Segment] = []
    for segment in rest:
        if segment.id == "GS":
            if group:  # a GS before the GE of the one open
                interchange.groups.append(_group(group))
                group = []
            group.append(segment)
        elif not group and segment.id == "TA1":
            interchange.ta1.append(segment)
        elif not group:
            _note(interchange, "022")  # a segment outside any group
        else:
            group.append(segment)
            if segment.id == "GE":
                interchange.groups.append(_group(group))
                group = []
    if group:
        interchange.groups.append(_group(group))
    if iea is None:
        _note(interchange, "023")
    else:
        if iea.get(2) != interchange.control_number:
            _note(interchange, "001")
        if iea.get(1) != str(len(interchange.groups)):
            _note(interchange, "021")
    return interchange


def _note(interchange: Interchange, code: str) -> None:
    if code not in interchange.errors:
        interchange.errors.append(code)


def _isa_errors(isa: Segment) -> list[str]:
    if isa.id != "ISA" or len(isa.elements) != 16:
        return ["024"]
    errors = []
    if any(len(isa.get(i + 1)) != width for i, (_, width) in enumerate(ISA_WIDTHS)):
        errors.append("024")
    if isa.get(12) not in ISA_VERSIONS:
        errors.append("017")
    if not isa.get(13).isdigit():
        errors.append("018")
    if isa.get(14) not in {"0", "1"}:
        errors.append("019")
    if isa.get(15) not in {"P", "T"}:
        errors.append("020")
    return errors


def _group(segments: list[Segment]) -> FunctionalGroup:
    gs = segments[0]
    ge = segments[-1] if segments[-1].id == "GE" and len(segments) > 1 else None
    inner = segments[1:-1] if ge else segments[1:]
    group = FunctionalGroup(
        functional_id=gs.get(1),
        sender=gs.get(2),
        receiver=gs.get(3),
        control_number=gs.get(6),
        version=gs.get(8),
        gs=gs,
        transactions=[],
        ge=ge,
    )
    if group.version[:6] not in GS_OF_ISA:
        group.errors.append("2")
    current: list[Segment] = []
    for segment in inner:
        if segment.id == "ST":
            if current:
                group.transactions.append(_transaction(current))
            current = [segment]
        elif current:
            current.append(segment)
            if segment.id == "SE":
                group.transactions.append(_transaction(current))
                current = []
    if current:
        group.transactions.append(_transaction(current))
    if ge is None:
        group.errors.append("3")
    else:
        if ge.get(2) != group.control_number:
            group.errors.append("4")
        if ge.get(1) != str(len(group.transactions)):
            group.errors.append("5")
    return group


def _transaction(segments: list[Segment]) -> TransactionSet:
    st = segments[0]
    se = segments[-1] if segments[-1].id == "SE" and len(segments) > 1 else None
    body = segments[1:-1] if se else segments[1:]
    transaction = TransactionSet(code=st.get(1), control_number=st.get(2), st=st, body=body, se=se)
    if se is None:
        transaction.errors.append("2")
    else:
        if se.get(2) != transaction.control_number:
            transaction.errors.append("3")
        if se.get(1) != str(len(segments)):
            transaction.errors.append("4")
    return transaction


# --- writing --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Party:
    """One side of an interchange: its ISA qualifier and id, and its GS application code."""

    qualifier: str
    isa_id: str
    gs_id: str


@dataclass(frozen=True)
class OutboundSet:
    code: str  # "855", "856", "810", "997"
    body: list[Segment]  # between ST and SE


def write_interchange(
    *,
    sender: Party,
    receiver: Party,
    version: str,  # "004010" or "005010"
    delimiters: Delimiters,
    interchange_control: int,
    group_control: int,
    sets: list[OutboundSet],
    at: datetime,
    usage: str = "P",
    acknowledgment_requested: bool = False,
    ta1: Segment | None = None,
) -> str:
    """One interchange holding one functional group of `sets` (all of one functional id), each
    set numbered 0001, 0002 ... within the group, with SE, GE and IEA counts; or, with `ta1`
    and no sets, an interchange acknowledgement alone (IEA01 0)."""
    if version not in GS_OF_ISA:
        raise ValueError(f"X12 version {version!r} is not one of {sorted(GS_OF_ISA)}")
    functional_ids = {FUNCTIONAL_IDS[s.code] for s in sets}
    if ta1 is not None and sets:
        raise ValueError("a TA1 travels in an interchange without functional groups")
    if ta1 is None and len(functional_ids) != 1:
        raise ValueError(f"one functional group holds one kind of document, got {sorted(functional_ids)}")
    isa_version = GS_OF_ISA[version]
    repetition = delimiters.repetition if isa_version >= "00501" else "U"
    if isa_version >= "00501" and not repetition:
        raise ValueError("a 5010 interchange needs a repetition separator (ISA11)")
    isa = seg(
        "ISA",
        "00",
        " " * 10,
        "00",
        " " * 10,
        sender.qualifier.ljust(2),
        sender.isa_id.ljust(15),
        receiver.qualifier.ljust(2),
        receiver.isa_id.ljust(15),
        at.strftime("%y%m%d"),
        at.strftime("%H%M"),
        repetition,
        isa_version,
        f"{interchange_control:09d}",
        "1" if acknowledgment_requested else "0",
        usage,
        delimiters.component,
    )
    for (name, width), value in zip(ISA_WIDTHS, isa.elements, strict=True):
        if len(value) != width:
            raise ValueError(f"ISA {name} {value!r} is longer than its {width} characters")
    if ta1 is not None:
        return render([isa, ta1, seg("IEA", 0, f"{interchange_control:09d}")], delimiters)
    segments = [
        isa,
        seg(
            "GS",
            functional_ids.pop(),
            sender.gs_id,
            receiver.gs_id,
            at.strftime("%Y%m%d"),
            at.strftime("%H%M"),
            group_control,
            "X",
            version,
        ),
    ]
    for number, outbound in enumerate(sets, start=1):
        control = f"{number:04d}"
        segments.append(seg("ST", outbound.code, control))
        segments.extend(outbound.body)
        segments.append(seg("SE", len(outbound.body) + 2, control))
    segments.append(seg("GE", len(sets), group_control))
    segments.append(seg("IEA", 1, f"{interchange_control:09d}"))
    return render(segments, delimiters)


__all__ = [
    "ElementError",
    "FunctionalGroup",
    "Interchange",
    "OutboundSet",
    "Party",
    "SegmentError",
    "TransactionSet",
    "X12SyntaxError",
    "read_interchange",
    "write_interchange",
]
