"""The connector against a partner's folders and a real ledger: an 850 file becomes one polled
order per PO and a 997 in the outbox, and is archived; the same interchange re-sent is
recognised (nothing new, no second 997); a malformed one is rejected with a 997 naming its
errors, moved to the error folder and listed for operators; the 855, 856 and 810 are each
written once under monotonic control numbers, the 856 with an SSCC-18 per parcel."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from connectors.edi import EdiConnector
from connectors.edi.envelopes import read_interchange
from connectors.file_exchange import LocalFolderExchange
from orderloop.documents.sscc import is_valid_sscc
from orderloop.edi_records import InterchangeStatus
from orderloop.ledger import Ledger
from orderloop.model import LineDecision, Order, Shipment, ShipmentLine
from tests.connectors.edi.conftest import FIXTURES, drop

RECEIVED = datetime(2026, 12, 1, 13, 0, tzinfo=UTC)


def files(exchange: LocalFolderExchange, folder: str) -> list[str]:
    return sorted(p.name for p in (exchange.root / folder).iterdir())


def outbox(exchange: LocalFolderExchange, kind: str) -> list[str]:
    return [(exchange.root / "out" / name).read_text() for name in files(exchange, "out") if name.startswith(kind)]


def segments_of(text: str, segment_id: str) -> list[tuple[str, ...]]:
    interchange = read_interchange(text)
    return [s.elements for g in interchange.groups for t in g.transactions for s in t.body if s.id == segment_id]


async def polled_order(connector: EdiConnector) -> Order:
    [polled] = await connector.poll_orders(datetime.now(UTC) - timedelta(minutes=5))
    return connector.map_order(
        polled.payload, order_id=f"order/edi-acme/{polled.external_id}", tenant_id="t", received_at=RECEIVED
    )


async def test_an_850_file_is_one_polled_order_a_997_and_an_archived_file(
    connector: EdiConnector, exchange: LocalFolderExchange, ledger: Ledger
) -> None:
    drop(exchange, "850_4010.x12")
    since = datetime.now(UTC) - timedelta(minutes=5)

    [polled] = await connector.poll_orders(since)

    assert polled.external_id == "4500012345" and not polled.cancelled
    assert polled.payload["interchange"]["control_number"] == "000000905"
    assert files(exchange, "in") == [] and files(exchange, "error") == []
    assert [name.endswith("-850_4010.x12") for name in files(exchange, "archive")] == [True]
    [ack] = outbox(exchange, "997")
    assert segments_of(ack, "AK1") == [("PO", "905")] and segments_of(ack, "AK9") == [("A", "1", "1", "1")]
    envelope = read_interchange(ack)
    assert (envelope.sender_id, envelope.receiver_id, envelope.control_number) == (
        "ORDERLOOPBRAND",
        "ACMERETAIL",
        "000000001",
    )
    assert envelope.delimiters.component == ">" and envelope.errors == []
    [record] = await ledger.edi_interchanges("edi-acme")
    assert (record.status, record.sender, record.control_number) == (
        InterchangeStatus.ACCEPTED,
        "ZZ:ACMERETAIL",
        "000000905",
    )


async def test_a_re_sent_interchange_is_recognised_and_not_acknowledged_again(
    connector: EdiConnector, exchange: LocalFolderExchange, ledger: Ledger
) -> None:
    drop(exchange, "850_4010.x12")
    await connector.poll_orders(datetime.now(UTC) - timedelta(minutes=5))
    after_first = datetime.now(UTC)
    drop(exchange, "850_4010.x12", "850_4010_resent.x12")

    assert await connector.poll_orders(after_first) == []

    assert len(outbox(exchange, "997")) == 1
    assert files(exchange, "in") == [] and len(files(exchange, "archive")) == 2
    assert len(await ledger.edi_interchanges("edi-acme")) == 1
    assert len(await ledger.edi_documents_of("edi-acme", "4500012345")) == 1


async def test_a_malformed_850_is_rejected_with_a_997_naming_its_errors_and_starts_nothing(
    connector: EdiConnector, exchange: LocalFolderExchange, ledger: Ledger
) -> None:
    drop(exchange, "850_malformed.x12")

    assert await connector.poll_orders(datetime.now(UTC) - timedelta(minutes=5)) == []

    [ack] = outbox(exchange, "997")
    assert segments_of(ack, "AK3") == [("BEG", "2", "", "8"), ("PO1", "3", "", "8")]
    assert segments_of(ack, "AK4") == [("5", "373", "8", "20261301"), ("2", "330", "6", "TWELVE")]
    assert segments_of(ack, "AK5") == [("R", "5")] and segments_of(ack, "AK9") == [("R", "1", "1", "0")]
    assert [name.endswith("850_malformed.x12") for name in files(exchange, "error")] == [True]
    [rejected] = await ledger.edi_interchanges("edi-acme", InterchangeStatus.REJECTED)
    assert rejected.detail is not None and "BEG at 2: AK3 8 (BEG05 AK4 8)" in rejected.detail


async def test_a_file_that_is_not_x12_goes_to_the_error_folder_and_is_listed(
    connector: EdiConnector, exchange: LocalFolderExchange, ledger: Ledger
) -> None:
    (exchange.root / "in" / "orders.csv").write_text("PO,SKU,QTY\n1,TSHIRT-BLK-M,2\n")

    assert await connector.poll_orders(datetime.now(UTC) - timedelta(minutes=5)) == []

    assert files(exchange, "out") == [] and [n.endswith("orders.csv") for n in files(exchange, "error")] == [True]
    [unreadable] = await ledger.edi_interchanges("edi-acme", InterchangeStatus.UNREADABLE)
    assert unreadable.file_name == "orders.csv" and "ISA" in (unreadable.detail or "")


async def test_an_interchange_from_another_sender_is_rejected_with_a_ta1(
    connector: EdiConnector, exchange: LocalFolderExchange
) -> None:
    source = (FIXTURES / "850_4010.x12").read_text().replace("ACMERETAIL     ", "SOMEBODYELSE   ", 1)
    (exchange.root / "in" / "stranger.x12").write_text(source)

    assert await connector.poll_orders(datetime.now(UTC) - timedelta(minutes=5)) == []

    [ta1] = outbox(exchange, "TA1")
    envelope = read_interchange(ta1)
    assert envelope.groups == [] and envelope.errors == []  # IEA01 0: a TA1 travels without groups
    assert "TA1*000000905*261201*1253*R*006" in ta1  # note 006: the sender is not the partner


async def test_860_changes_and_cancels_reach_the_polled_order(
    connector: EdiConnector, exchange: LocalFolderExchange
) -> None:
    drop(exchange, "850_4010.x12")
    await connector.poll_orders(datetime.now(UTC) - timedelta(minutes=5))
    after_850 = datetime.now(UTC)
    drop(exchange, "860_change_4010.x12")

    [changed] = await connector.poll_orders(after_850)

    assert not changed.cancelled and changed.updated_at is not None and changed.created_at is not None
    assert changed.updated_at > changed.created_at  # an edit of the order, for the order poll
    order = connector.map_order(
        changed.payload, order_id="order/edi-acme/4500012345", tenant_id="t", received_at=RECEIVED
    )
    assert [(line.sku, line.quantity) for line in order.line_items] == [
        ("TSHIRT-BLK-M", 12),
        ("HOODIE-GRY-L", 12),
        ("MUG-11OZ", 6),
    ]
    after_change = datetime.now(UTC)
    drop(exchange, "860_cancel_4010.x12")

    [cancelled] = await connector.poll_orders(after_change)

    assert cancelled.cancelled and cancelled.external_id == "4500012345"
    assert len(outbox(exchange, "997")) == 3


async def test_855_856_and_810_are_each_written_once_with_growing_control_numbers(
    connector: EdiConnector, exchange: LocalFolderExchange
) -> None:
    drop(exchange, "850_4010.x12")
    order = await polled_order(connector)
    decisions = [
        LineDecision(line_id="1", sku="TSHIRT-BLK-M", ordered=24, accepted=24, status="accepted"),
        LineDecision(line_id="2", sku="HOODIE-GRY-L", ordered=12, accepted=6, status="changed", reason="short"),
    ]

    told = await connector.confirm_allocation(order, decisions)
    told_again = await connector.confirm_allocation(order, decisions)

    assert told == "855 interchange 2" and told_again is None
    [ack] = outbox(exchange, "855")
    assert segments_of(ack, "BAK")[0][:4] == ("00", "AC", "4500012345", "20261201")
    assert segments_of(ack, "ACK") == [("IA", "24", "EA"), ("IQ", "6", "EA")]
    first = Shipment(
        id="ship-1",
        shipping_request_id="order/edi-acme/4500012345/sr1",
        line_items=[ShipmentLine(sku="TSHIRT-BLK-M", quantity=24, line_id="1")],
        tracking_numbers=["1Z999AA10123456784"],
        shipping_carrier="UPSN",
        shipped_at=datetime(2026, 12, 6, 15, tzinfo=UTC),
    )
    second = first.model_copy(
        update={
            "id": "ship-2",
            "line_items": [ShipmentLine(sku="HOODIE-GRY-L", quantity=6, line_id="2")],
            "tracking_numbers": ["1Z999AA10123456791"],
        }
    )

    assert await connector.push_shipment(order, first) is None  # the PO is not covered yet
    assert await connector.push_shipment(order, second) == "856 interchange 3, 810 interchange 4"
    assert await connector.push_shipment(order, second) is None

    [notice] = outbox(exchange, "856")
    ssccs = [e[1] for e in segments_of(notice, "MAN")]
    # extension digit 0, then the brand's GS1 company prefix; the check digit right; one per parcel
    assert all(is_valid_sscc(code) and code.startswith("00614141") for code in ssccs) and len(set(ssccs)) == 2
    assert [e[2] for e in segments_of(notice, "HL")] == ["S", "O", "P", "I", "P", "I"]
    assert [(e[0], e[1]) for e in segments_of(notice, "HL")] == [
        ("1", ""),
        ("2", "1"),
        ("3", "2"),
        ("4", "3"),
        ("5", "2"),
        ("6", "5"),
    ]
    assert segments_of(notice, "TD1") == [("CTN25", "2")] and segments_of(notice, "CTT") == [("6",)]
    assert segments_of(notice, "PRF")[0][0] == "4500012345"
    [bill] = outbox(exchange, "810")
    assert segments_of(bill, "TDS") == [(str(24 * 750 + 6 * 2100),)]
    assert segments_of(bill, "ITD")[0][:7] == ("05", "3", "2", "", "10", "", "30")
    controls = sorted(
        int(read_interchange(t).control_number) for k in ("997", "855", "856", "810") for t in outbox(exchange, k)
    )
    assert controls == [1, 2, 3, 4]
