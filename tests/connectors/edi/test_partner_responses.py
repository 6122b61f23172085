"""The partner's 997s and TA1s about Orderloop's interchanges, from files shaped like published
997 examples (4010 and 5010): each is read (AK1 group, AK2 sets, AK3/AK4 errors, AK5, AK9) and
matched to the document sent under the control number it names, which gets the partner's answer
with its codes spelled out; a TA1 rejecting the envelope rejects the interchange's document; a
997 naming a group never sent is kept as unmatched and archived; no 997 is ever answered with a
997. Before, an inbound 997 was rejected as a set not exchanged (AK5 1), answered with a 997 and
moved to the error folder, and a TA1 alone was rejected as holding no transaction set."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from connectors.edi import EdiConnector
from connectors.edi.envelopes import read_interchange
from connectors.edi.responses import functional_acknowledgements
from connectors.edi.settings import edi_settings
from connectors.file_exchange import LocalFolderExchange
from orderloop.config import ConfigError
from orderloop.edi_records import AcknowledgementStatus, InterchangeStatus, OutboundDocument, OutboundStatus
from orderloop.ledger import Ledger
from tests.connectors.edi.conftest import FIXTURES, drop, partner_channel

AT = datetime(2026, 12, 2, 8, 30, tzinfo=UTC)
A, E, R = AcknowledgementStatus.ACCEPTED, AcknowledgementStatus.ACCEPTED_WITH_ERRORS, AcknowledgementStatus.REJECTED


async def sent(ledger: Ledger, key: str, kind: str, control: int, channel: str = "edi-acme") -> None:
    document = OutboundDocument(
        channel_id=channel,
        key=key,
        kind=kind,
        control_number=control,
        path=f"out/{kind}_{control:09d}.x12",
        content="ISA",
        created_at=AT,
    )
    await ledger.record_edi_outbound(document)
    await ledger.mark_edi_outbound_sent(channel, key, AT)


async def statuses(ledger: Ledger, channel: str = "edi-acme") -> dict[str, OutboundStatus]:
    return {s.key: s for s in await ledger.edi_outbound_statuses(channel)}


def folder(exchange: LocalFolderExchange, name: str) -> list[str]:
    return sorted(p.name for p in (exchange.root / name).iterdir())


def test_a_published_4010_rejection_is_read_with_its_segment_and_element_errors() -> None:
    interchange = read_interchange((FIXTURES / "997_rejected_856_4010.x12").read_bytes())
    [group] = interchange.groups

    [answer] = functional_acknowledgements(group, interchange, "edi-acme", AT)

    assert (answer.kind, answer.functional_id, answer.group_control, answer.status) == ("997", "SH", "2", R)
    assert answer.codes == ["AK9 R", "AK5 R", "AK5 5", "AK3 TD1 4 8", "AK4 TD102 1", "AK3 REF 6 3"]
    [entry] = answer.sets
    assert (entry["code"], entry["control"], entry["status"], entry["codes"]) == ("856", "0001", "R", ["5"])
    assert [e["segment"] for e in entry["errors"]] == ["TD1", "REF"]
    assert "AK5 5 (one or more segments in error)" in answer.detail
    assert "TD1 at 4: AK3 8 (segment has data element errors)" in answer.detail
    assert "TD102: AK4 1 (mandatory data element missing)" in answer.detail
    assert "REF at 6: AK3 3 (mandatory segment missing)" in answer.detail


async def test_an_accepted_997_marks_its_855_accepted_and_is_not_answered(
    connector: EdiConnector, exchange: LocalFolderExchange, ledger: Ledger
) -> None:
    await sent(ledger, "855/order/edi-acme/4500012345", "855", 1)
    drop(exchange, "997_accepted_4010.x12")

    [result] = await connector.partner_client.read_inbox(AT)

    assert result.status is InterchangeStatus.ACCEPTED
    assert folder(exchange, "out") == [] and folder(exchange, "error") == []  # no 997 for a 997
    assert [name.endswith("-997_accepted_4010.x12") for name in folder(exchange, "archive")] == [True]
    acknowledgement = (await statuses(ledger))["855/order/edi-acme/4500012345"].acknowledgement
    assert acknowledgement is not None
    assert (acknowledgement.status, acknowledgement.kind, acknowledgement.interchange_control) == (
        A,
        "997",
        "000001101",
    )


async def test_a_rejected_856_gets_the_partners_codes_and_is_to_be_raised(
    connector: EdiConnector, exchange: LocalFolderExchange, ledger: Ledger
) -> None:
    await sent(ledger, "855/order/edi-acme/4500012345", "855", 1)
    await sent(ledger, "856/order/edi-acme/4500012345/sr1", "856", 2)
    drop(exchange, "997_rejected_856_4010.x12")

    await connector.partner_client.read_inbox(AT)

    found = await statuses(ledger)
    rejected = found["856/order/edi-acme/4500012345/sr1"]
    assert rejected.acknowledgement is not None and rejected.acknowledgement.status is R
    assert "AK5 5" in rejected.acknowledgement.codes
    assert found["855/order/edi-acme/4500012345"].acknowledgement is None
    assert list(found) == ["856/order/edi-acme/4500012345/sr1", "855/order/edi-acme/4500012345"]  # rejected first
    [pending] = await ledger.edi_rejections_to_raise("edi-acme")
    assert pending.document_kind == "856"


async def test_a_5010_997_with_errors_noted_marks_its_810_accepted_with_errors(
    exchange: LocalFolderExchange, ledger: Ledger
) -> None:
    connector = EdiConnector(partner_channel(version="005010"), exchange)
    connector.share_records(ledger)
    await sent(ledger, "810/order/edi-acme/4500012346", "810", 3)
    drop(exchange, "997_errors_810_5010.x12")

    [result] = await connector.partner_client.read_inbox(AT)

    assert result.status is InterchangeStatus.ACCEPTED
    acknowledgement = (await statuses(ledger))["810/order/edi-acme/4500012346"].acknowledgement
    assert acknowledgement is not None and acknowledgement.status is E
    assert acknowledgement.codes == ["AK9 E", "AK5 E", "AK3 IT1 5 8", "AK4 IT103 7"]
    assert "IT103 'XX': AK4 7 (invalid code value)" in acknowledgement.detail
    assert folder(exchange, "out") == []


async def test_a_997_of_a_group_never_sent_is_kept_unmatched_and_archived(
    connector: EdiConnector, exchange: LocalFolderExchange, ledger: Ledger
) -> None:
    await sent(ledger, "810/order/edi-acme/4500012345", "810", 2)  # group 2 is an 810, not an 856
    drop(exchange, "997_unknown_group_4010.x12")
    drop(exchange, "997_rejected_856_4010.x12")  # names group 2 as SH: not the 810

    results = await connector.partner_client.read_inbox(AT)

    assert [r.status for r in results] == [InterchangeStatus.ACCEPTED] * 2
    assert folder(exchange, "error") == [] and len(folder(exchange, "archive")) == 2
    unmatched = await ledger.edi_acknowledgements("edi-acme", unmatched=True)
    assert sorted(u.group_control for u in unmatched) == ["2", "424242"]
    assert (await statuses(ledger))["810/order/edi-acme/4500012345"].acknowledgement is None


async def test_a_rejecting_ta1_rejects_the_interchanges_document_at_the_envelope(
    connector: EdiConnector, exchange: LocalFolderExchange, ledger: Ledger
) -> None:
    await sent(ledger, "856/order/edi-acme/4500012345/sr1", "856", 4)
    drop(exchange, "ta1_rejected_4010.x12")

    [result] = await connector.partner_client.read_inbox(AT)

    assert result.status is InterchangeStatus.ACCEPTED and folder(exchange, "out") == []
    acknowledgement = (await statuses(ledger))["856/order/edi-acme/4500012345/sr1"].acknowledgement
    assert acknowledgement is not None
    assert (acknowledgement.kind, acknowledgement.status, acknowledgement.codes) == ("TA1", R, ["TA1 R", "TA1 024"])
    assert "024 (invalid interchange content)" in acknowledgement.detail


async def test_a_re_sent_997_adds_nothing(
    connector: EdiConnector, exchange: LocalFolderExchange, ledger: Ledger
) -> None:
    await sent(ledger, "856/order/edi-acme/4500012345/sr1", "856", 2)
    drop(exchange, "997_rejected_856_4010.x12")
    await connector.partner_client.read_inbox(AT)
    drop(exchange, "997_rejected_856_4010.x12", "again.x12")

    [again] = await connector.partner_client.read_inbox(AT)

    assert again.status is None  # a duplicate interchange
    assert len(await ledger.edi_acknowledgements("edi-acme")) == 1


def test_the_partners_acknowledgement_deadline_defaults_to_24h_and_is_validated() -> None:
    assert edi_settings(partner_channel()).acknowledgement_within == timedelta(hours=24)
    assert edi_settings(partner_channel(acknowledgement_within="2h")).acknowledgement_within == timedelta(hours=2)
    for bad in ("0s", "soon"):
        with pytest.raises(ConfigError, match="acknowledgement_within"):
            edi_settings(partner_channel(acknowledgement_within=bad))


async def test_a_malformed_997_is_listed_rejected_in_the_error_folder_and_not_answered(
    connector: EdiConnector, exchange: LocalFolderExchange, ledger: Ledger
) -> None:
    await sent(ledger, "855/order/edi-acme/4500012345", "855", 1)
    text = (FIXTURES / "997_accepted_4010.x12").read_text()
    (exchange.root / "in" / "bad997.x12").write_text(text.replace("AK9*A*1*1*1~\n", "").replace("SE*6", "SE*5"))

    [result] = await connector.partner_client.read_inbox(AT)

    assert result.status is InterchangeStatus.REJECTED
    assert folder(exchange, "out") == [] and len(folder(exchange, "error")) == 1
    assert result.received.record.detail is not None and "AK9 at 5: AK3 3" in result.received.record.detail
    assert (await statuses(ledger))["855/order/edi-acme/4500012345"].acknowledgement is None
