"""The operator API of what Orderloop sent to EDI partners (gateway/edi_api.py) over a real SQLite
ledger: documents with the partner's acknowledgement, rejected first with its codes; `overdue`
keeps the unacknowledged ones sent longer ago than the channel's `acknowledgement_within` (24 h
in orderloop.yaml's edi-acme); acknowledgements naming nothing sent are listed apart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from orderloop.edi_records import (
    AcknowledgementRecord,
    AcknowledgementStatus,
    InterchangeRecord,
    InterchangeStatus,
    OutboundDocument,
)
from orderloop.ledger import Ledger
from tests.gateway.conftest import TOKEN

AUTH = {"Authorization": f"Bearer {TOKEN}"}
CHANNEL = "edi-acme"


def _record(client: TestClient, now: datetime) -> None:
    ledger: Ledger = client.app.state.gateway.ledger  # type: ignore[attr-defined]
    assert client.portal is not None
    for key, kind, control, age in [
        ("855/order/edi-acme/PO-1", "855", 1, timedelta(days=2)),
        ("856/order/edi-acme/PO-1/sr1", "856", 2, timedelta(days=2)),
        ("810/order/edi-acme/PO-1", "810", 3, timedelta(hours=1)),
    ]:
        document = OutboundDocument(
            channel_id=CHANNEL,
            key=key,
            kind=kind,
            control_number=control,
            path=f"out/{control}",
            content="ISA",
            created_at=now - age,
        )
        client.portal.call(ledger.record_edi_outbound, document)
        client.portal.call(ledger.mark_edi_outbound_sent, CHANNEL, key, now - age)
    carrier = InterchangeRecord(
        channel_id=CHANNEL,
        sender="ZZ:ACMERETAIL",
        control_number="1101",
        file_name="997.x12",
        status=InterchangeStatus.ACCEPTED,
        received_at=now,
    )
    answers = [
        AcknowledgementRecord(
            channel_id=CHANNEL,
            sender="ZZ:ACMERETAIL",
            interchange_control="1101",
            kind="997",
            functional_id=fid,
            group_control=group,
            status=AcknowledgementStatus.REJECTED,
            codes=["AK9 R", "AK5 R", "AK5 5"],
            detail=f"group {group} rejected",
            document_key=key,
            document_kind="856" if key else None,
            received_at=now,
        )
        for fid, group, key in [("SH", "2", "856/order/edi-acme/PO-1/sr1"), ("IN", "99", None)]
    ]
    client.portal.call(ledger.record_edi_interchange, carrier, [], answers)


def test_documents_are_listed_rejected_first_and_overdue_ones_past_the_partners_deadline(client: TestClient) -> None:
    _record(client, datetime.now(UTC))

    listed = client.get("/api/edi/documents", params={"channel": CHANNEL}, headers=AUTH)
    overdue = client.get("/api/edi/documents", params={"channel": CHANNEL, "overdue": "true"}, headers=AUTH)
    rejected = client.get("/api/edi/documents", params={"status": "rejected"}, headers=AUTH)

    assert listed.status_code == 200, listed.text
    assert [(d["kind"], d["status"]) for d in listed.json()] == [
        ("856", "rejected"),
        ("810", "unacknowledged"),
        ("855", "unacknowledged"),
    ]
    assert listed.json()[0]["codes"] == ["AK9 R", "AK5 R", "AK5 5"]
    assert [d["kind"] for d in overdue.json()] == ["855"]  # the 810 is within its 24 h
    assert [d["key"] for d in rejected.json()] == ["856/order/edi-acme/PO-1/sr1"]


def test_unmatched_acknowledgements_are_listed_apart_and_the_api_needs_a_token(client: TestClient) -> None:
    _record(client, datetime.now(UTC))

    unmatched = client.get("/api/edi/acknowledgements", params={"unmatched": "true"}, headers=AUTH)

    assert [(a["groupControl"], a["document"]) for a in unmatched.json()] == [("99", None)]
    assert client.get("/api/edi/documents").status_code == 401
    assert client.get("/api/edi/documents", params={"status": "lost"}, headers=AUTH).status_code == 422
