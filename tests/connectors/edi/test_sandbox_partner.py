"""The connector over real SFTP against the sandbox trading partner: the partner's 850 is read
from the inbox on its SFTP server, acknowledged (the partner finds the 997 well formed and about
its group), a re-sent interchange is recognised, a malformed file is rejected with AK3/AK4, and
the partner's checks pass for the 855, 856 and 810 it reads (counts, control numbers rising,
SSCCs, totals), and fail for a document whose counts are wrong."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio

from connectors.base import SandboxOptions
from connectors.edi import EdiConnector
from connectors.edi.sandbox import create_app, sandbox_host_key
from orderloop.config import ChannelConfig
from orderloop.ledger import Ledger
from orderloop.loopback_stack import free_port
from orderloop.model import LineDecision, Shipment, ShipmentLine
from tests.connectors.edi.conftest import FIXTURES, partner_channel

PASSWORD_VAR = "ORDERLOOP_TEST_EDI_SFTP_PASSWORD"


@pytest.fixture
def sftp_channel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ChannelConfig:
    monkeypatch.setenv(PASSWORD_VAR, "sandbox-edi-sftp-password")
    base = partner_channel(
        "edi-sandbox-test",
        exchange={
            "kind": "sftp",
            "url": f"sftp://brand@127.0.0.1:{free_port()}/",
            "known_host_key": sandbox_host_key("edi-sandbox-test"),
        },
    )
    return base.model_copy(update={"credentials": {"sftp_password": PASSWORD_VAR}})


@pytest_asyncio.fixture
async def partner(sftp_channel: ChannelConfig, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(
        SandboxOptions(
            channel=sftp_channel, webhook_url="http://127.0.0.1:9/unused", knobs={"root": str(tmp_path / "sftp")}
        )
    )
    lifespan = app.router.lifespan_context(app)
    await lifespan.__aenter__()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://edi-sandbox") as http:
        yield http
    await lifespan.__aexit__(None, None, None)


@pytest_asyncio.fixture
async def connector(sftp_channel: ChannelConfig, tmp_path: Path) -> AsyncIterator[EdiConnector]:
    ledger = await Ledger.open(f"sqlite:///{tmp_path / 'ledger.db'}")
    built = EdiConnector(sftp_channel)
    built.share_records(ledger)
    yield built
    await built.aclose()
    await ledger.close()


async def control(http: httpx.AsyncClient, method: str, path: str, **kwargs: Any) -> Any:
    response = await http.request(method, f"/_sandbox/{path}", **kwargs)
    assert response.is_success, response.text
    return response.json()


PO = {
    "poNumber": "4500077001",
    "lines": [
        {"sku": "TSHIRT-BLK-M", "quantity": 24, "price": "7.50", "casePack": 12},
        {"sku": "MUG-11OZ", "quantity": 6, "price": "4.25"},
    ],
    "shipNotBefore": "2026-12-05",
    "shipNoLater": "2026-12-15",
    "carrier": "UPSN",
    "markFor": "0231",
}


async def test_a_partner_po_over_sftp_is_polled_acknowledged_and_answered_with_checked_documents(
    partner: httpx.AsyncClient, connector: EdiConnector
) -> None:
    placed = await control(partner, "POST", "purchase-orders", json=PO)
    since = datetime.now(UTC) - timedelta(minutes=1)

    [polled] = await connector.poll_orders(since)

    assert polled.external_id == "4500077001"
    order = connector.map_order(
        polled.payload, order_id="order/edi-sandbox-test/4500077001", tenant_id="t", received_at=since
    )
    assert [(line.sku, line.quantity, line.case_pack) for line in order.line_items] == [
        ("TSHIRT-BLK-M", 24, 12),
        ("MUG-11OZ", 6, None),
    ]
    assert order.wholesale is not None and order.wholesale.mark_for is not None
    await control(partner, "POST", f"purchase-orders/{placed['poNumber']}/resend")
    assert await connector.poll_orders(datetime.now(UTC)) == []  # the same interchange: nothing new
    decisions = [
        LineDecision(line_id="1", sku="TSHIRT-BLK-M", ordered=24, accepted=24, status="accepted"),
        LineDecision(line_id="2", sku="MUG-11OZ", ordered=6, accepted=6, status="accepted"),
    ]
    await connector.confirm_allocation(order, decisions)
    request = "order/edi-sandbox-test/4500077001/sr1"
    for number, line in enumerate(order.line_items, start=1):
        parcel = Shipment(
            id=f"parcel-{number}",
            shipping_request_id=request,
            line_items=[ShipmentLine(sku=line.sku, quantity=line.quantity, line_id=line.id)],
            tracking_numbers=[f"1Z0000000000000{number}"],
            shipping_carrier="UPSN",
        )
        await connector.push_shipment(order, parcel)

    read = await control(partner, "GET", "documents")

    assert [(d["kinds"], d["ok"], d["problems"]) for d in read] == [
        (["997"], True, []),
        (["855"], True, []),
        (["856"], True, []),
        (["810"], True, []),
    ]
    ack, confirmation, notice, bill = (d["summary"] for d in read)
    assert (ack["group"], ack["status"]) == (str(placed["controlNumber"]), "A")
    assert confirmation["type"] == "AD" and confirmation["lines"] == [["IA", "24"], ["IA", "6"]]
    assert notice["cartons"] == 2 and len(set(notice["ssccs"])) == 2 and notice["po"] == "4500077001"
    assert bill["total_cents"] == str(24 * 750 + 6 * 425)


async def test_a_malformed_file_is_rejected_with_segment_and_element_errors(
    partner: httpx.AsyncClient, connector: EdiConnector
) -> None:
    before = datetime.now(UTC)
    await control(
        partner, "POST", "files", params={"name": "bad.x12"}, content=(FIXTURES / "850_malformed.x12").read_bytes()
    )

    assert await connector.poll_orders(before) == []  # nothing of a rejected set is an order
    read = await control(partner, "GET", "documents")

    rejected = read[-1]
    assert rejected["kinds"] == ["997"] and rejected["summary"]["status"] == "R"
    assert ["BEG", "2", "", "8"] in rejected["summary"]["errors"] and ["5", "373", "8", "20261301"] in rejected[
        "summary"
    ]["errors"]
    # The partner never sent group 907 (the file was hand-made): its check says so.
    assert rejected["problems"] == ["997 AK1 names group 907, which the partner never sent"]


async def test_the_partner_answers_each_document_with_a_997_and_rejects_the_armed_kind(
    partner: httpx.AsyncClient, connector: EdiConnector
) -> None:
    await control(partner, "POST", "purchase-orders", json=PO | {"poNumber": "4500077002"})
    [polled] = await connector.poll_orders(datetime.now(UTC) - timedelta(minutes=1))
    order = connector.map_order(
        polled.payload, order_id="order/edi-sandbox-test/4500077002", tenant_id="t", received_at=datetime.now(UTC)
    )
    await connector.confirm_allocation(
        order,
        [
            LineDecision(
                line_id=line.id, sku=line.sku, ordered=line.quantity, accepted=line.quantity, status="accepted"
            )
            for line in order.line_items
        ],
    )
    parcel = Shipment(
        id="parcel-1",
        shipping_request_id="order/edi-sandbox-test/4500077002/sr1",
        line_items=[ShipmentLine(sku=line.sku, quantity=line.quantity, line_id=line.id) for line in order.line_items],
        tracking_numbers=["1Z00000000000009"],
        shipping_carrier="UPSN",
    )
    await connector.push_shipment(order, parcel)
    ak3 = [
        {"segment": "TD1", "position": 4, "code": "8", "elements": [{"position": 2, "reference": "80", "code": "1"}]}
    ]
    assert await control(partner, "POST", "rejections", json={"kind": "856", "ak5": ["5"], "ak3": ak3}) == {
        "armed": ["856"]
    }

    read = await control(partner, "GET", "documents")
    await connector.poll_orders(datetime.now(UTC))  # reads the partner's three 997s

    assert [len(d["summary"]["answered"]) for d in read] == [0, 1, 1, 1]  # no 997 for the brand's 997
    assert await control(partner, "GET", "rejections") == {"armed": []}
    statuses = {
        s.kind: s.acknowledgement
        for s in await connector.partner_client.records.edi_outbound_statuses("edi-sandbox-test")
    }
    assert {kind: a.status if a else None for kind, a in statuses.items()} == {
        "856": "rejected",
        "855": "accepted",
        "810": "accepted",
    }
    assert statuses["856"] is not None and statuses["856"].codes == [
        "AK9 R",
        "AK5 R",
        "AK5 5",
        "AK3 TD1 4 8",
        "AK4 TD102 1",
    ]
    [case] = await connector.poll_channel_cases()
    assert case.external_order_id == "4500077002" and case.case.kind == "edi_document_rejected"
    control_number = case.case.detail["controlNumber"]
    assert f"856 ship notice sent in interchange {control_number}" in case.case.message
    assert "AK5 5" in case.case.message and "TD102: AK4 1 (mandatory data element missing)" in case.case.message
    await connector.channel_cases_delivered([case])
    assert await connector.poll_channel_cases() == []
    assert await control(partner, "GET", "documents") == read  # the brand answers no 997
