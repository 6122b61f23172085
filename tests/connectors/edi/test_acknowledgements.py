"""The 997 a received group is answered with: accepted sets A, a malformed one R with the segment
(AK3) and element (AK4) errors the X12 codes name; the TA1 of a broken envelope."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from connectors.edi import rules
from connectors.edi.acknowledgements import functional_acknowledgement, interchange_acknowledgement
from connectors.edi.envelopes import read_interchange
from connectors.edi.x12 import Segment

FIXTURES = Path(__file__).parent / "fixtures"


def acknowledgement_of(name: str) -> list[Segment]:
    interchange = read_interchange((FIXTURES / name).read_bytes())
    [group] = interchange.groups
    for transaction in group.transactions:
        rules.check_transaction(transaction)
    return functional_acknowledgement(group).body


def rows(body: list[Segment]) -> list[tuple[str, ...]]:
    return [(s.id, *s.elements) for s in body]


def test_a_well_formed_850_is_accepted() -> None:
    assert rows(acknowledgement_of("850_4010.x12")) == [
        ("AK1", "PO", "905", ""),
        ("AK2", "850", "0001"),
        ("AK5", "A"),
        ("AK9", "A", "1", "1", "1"),
    ]


def test_a_5010_997_names_the_version_in_ak1() -> None:
    body = acknowledgement_of("850_5010.x12")

    assert rows(body)[0] == ("AK1", "PO", "906", "005010")
    assert rows(body)[-1] == ("AK9", "A", "2", "2", "2")


def test_a_malformed_850_is_rejected_with_its_segment_and_element_errors() -> None:
    assert rows(acknowledgement_of("850_malformed.x12")) == [
        ("AK1", "PO", "907", ""),
        ("AK2", "850", "0001"),
        ("AK3", "BEG", "2", "", "8"),  # BEG, second segment of the set, has element errors
        ("AK4", "5", "373", "8", "20261301"),  # BEG05 (element 373): invalid date
        ("AK3", "PO1", "3", "", "8"),
        ("AK4", "2", "330", "6", "TWELVE"),  # PO102 (quantity, 330): invalid character
        ("AK5", "R", "5"),  # one or more segments in error
        ("AK9", "R", "1", "1", "0"),
    ]


def test_a_missing_mandatory_segment_is_ak3_code_3() -> None:
    text = (FIXTURES / "850_4010.x12").read_text()
    without_lines = "".join(line + "\n" for line in text.splitlines() if not line.startswith(("PO1", "PO4")))
    without_lines = without_lines.replace("SE*21*0001", "SE*17*0001")
    interchange = read_interchange(without_lines)
    [transaction] = interchange.groups[0].transactions

    rules.check_transaction(transaction)

    assert [(e.segment_id, e.code) for e in transaction.segment_errors] == [("PO1", "3")]
    assert transaction.errors == ["5"]


def test_an_unsupported_set_and_a_wrong_count_are_ak5_codes() -> None:
    text = (FIXTURES / "850_4010.x12").read_text().replace("ST*850", "ST*875").replace("SE*21", "SE*22")
    interchange = read_interchange(text)
    [group] = interchange.groups
    rules.check_transaction(group.transactions[0])

    assert rows(functional_acknowledgement(group).body)[-2:] == [("AK5", "R", "4", "1"), ("AK9", "R", "1", "1", "0")]


def test_a_broken_envelope_is_answered_with_a_ta1_rejection() -> None:
    text = (FIXTURES / "850_4010.x12").read_text().replace("IEA*1*000000905", "IEA*1*000000999")
    interchange = read_interchange(text)

    ta1 = interchange_acknowledgement(interchange, datetime(2026, 12, 1, tzinfo=UTC))

    assert (ta1.id, *ta1.elements) == ("TA1", "000000905", "261201", "1253", "R", "001")
