"""Reading and writing X12 envelopes: delimiters come from the inbound ISA (4010 with `*`/`>`/`~`
and CR/LF, 5010 with `|`/`:`/`~`, a repetition separator and no line breaks); counts and control
numbers are checked on the way in and written right on the way out."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from connectors.edi.envelopes import OutboundSet, Party, read_interchange, write_interchange
from connectors.edi.x12 import Delimiters, X12SyntaxError, render, seg, tokenize

FIXTURES = Path(__file__).parent / "fixtures"
AT = datetime(2026, 12, 1, 12, 53, tzinfo=UTC)


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def test_a_4010_interchange_declares_its_delimiters_in_the_isa() -> None:
    interchange = read_interchange(fixture("850_4010.x12"))

    assert (interchange.delimiters.element, interchange.delimiters.component, interchange.delimiters.segment) == (
        "*",
        ">",
        "~",
    )
    assert interchange.delimiters.repetition is None  # ISA11 is "U" in 4010
    assert (interchange.sender_qualifier, interchange.sender_id) == ("ZZ", "ACMERETAIL")
    assert (interchange.control_number, interchange.version, interchange.usage) == ("000000905", "00401", "P")
    [group] = interchange.groups
    assert (group.functional_id, group.control_number, group.version) == ("PO", "905", "004010")
    [po] = group.transactions
    assert (po.code, po.control_number, len(po.body)) == ("850", "0001", 19)
    assert interchange.errors == [] and group.errors == [] and po.accepted


def test_a_5010_interchange_with_other_delimiters_and_two_sets_reads_the_same_way() -> None:
    interchange = read_interchange(fixture("850_5010.x12"))

    assert interchange.delimiters == Delimiters(element="|", component=":", segment="~", repetition="^")
    assert interchange.acknowledgment_requested and interchange.usage == "T"
    [group] = interchange.groups
    assert [t.control_number for t in group.transactions] == ["0001", "0002"]
    assert group.transactions[0].body[0].elements[:3] == ("00", "SA", "4500012346")
    assert not interchange.errors and not group.errors and all(t.accepted for t in group.transactions)


def test_wrong_counts_and_control_numbers_are_reported_where_they_are() -> None:
    text = fixture("850_4010.x12").decode()
    text = (
        text.replace("SE*21*0001", "SE*20*0002")
        .replace("GE*1*905", "GE*2*906")
        .replace("IEA*1*000000905", "IEA*2*000000904")
    )

    interchange = read_interchange(text)

    [group] = interchange.groups
    assert group.transactions[0].errors == ["3", "4"]  # AK5: control numbers differ, count wrong
    assert group.errors == ["4", "5"]  # AK9: control numbers differ, set count wrong
    assert interchange.errors == ["001", "021"]  # TA1: control numbers differ, group count wrong


def test_missing_trailers_are_reported() -> None:
    text = fixture("850_4010.x12").decode()
    cut = text[: text.index("SE*21")]

    interchange = read_interchange(cut)

    assert interchange.groups[0].transactions[0].errors == ["2"]
    assert interchange.groups[0].errors == ["3"]
    assert interchange.errors == ["023"]


def test_a_file_without_an_isa_is_not_an_interchange() -> None:
    with pytest.raises(X12SyntaxError, match="does not start with a complete ISA"):
        read_interchange(b"PO,SKU,QTY\n4500012345,TSHIRT-BLK-M,24\n")


@pytest.mark.parametrize(
    ("version", "delimiters", "isa_version", "isa11"),
    [
        ("004010", Delimiters("*", ">", "~", None, "\n"), "00401", "U"),
        ("005010", Delimiters("|", ":", "~", "^", ""), "00501", "^"),
    ],
)
def test_a_written_interchange_reads_back_with_its_counts_right(
    version: str, delimiters: Delimiters, isa_version: str, isa11: str
) -> None:
    body = [seg("BAK", "00", "AD", "4500012345", "20261201"), seg("CTT", 0)]

    text = write_interchange(
        sender=Party("ZZ", "ORDERLOOPBRAND", "ORDERLOOP"),
        receiver=Party("ZZ", "ACMERETAIL", "ACMERETAIL"),
        version=version,
        delimiters=delimiters,
        interchange_control=42,
        group_control=42,
        sets=[OutboundSet("855", body), OutboundSet("855", body)],
        at=AT,
    )

    assert text.index(delimiters.segment) == 105  # the ISA is 106 characters with its terminator
    interchange = read_interchange(text)
    assert interchange.errors == [] and interchange.control_number == "000000042"
    assert (interchange.version, interchange.isa.get(11) if interchange.isa else None) == (isa_version, isa11)
    [group] = interchange.groups
    assert (group.functional_id, group.version, group.errors) == ("PR", version, [])
    assert [(t.control_number, t.errors, t.se.get(1) if t.se else None) for t in group.transactions] == [
        ("0001", [], "4"),
        ("0002", [], "4"),
    ]


def test_an_element_holding_a_delimiter_is_refused_and_trailing_empties_dropped() -> None:
    assert render([seg("N1", "ST", "ACME", None, None)], Delimiters()) == "N1*ST*ACME~"
    with pytest.raises(ValueError, match="holds the delimiter"):
        render([seg("N1", "ST", "ACME*DC")], Delimiters())


def test_tokenize_ignores_line_breaks_after_terminators() -> None:
    _, segments = tokenize(fixture("850_4010.x12").decode().replace("~\n", "~\r\n"))

    assert [s.id for s in segments[:3]] == ["ISA", "GS", "ST"] and segments[-1].id == "IEA"
