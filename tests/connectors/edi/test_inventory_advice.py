"""The 846 inventory advice: the inventory sync's pushes to a partner that lists 846 among its
documents become one interchange each (BIA, a LIN with the SKU as vendor part number and its
QTY 33 per SKU, CTT), read and checked by the sandbox partner as a retailer reads them; a partner
that does not take 846 is sent nothing; a catalogue over the LIN loop's limit goes in several
sets of one group."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from connectors.edi import EdiConnector, documents
from connectors.edi.envelopes import read_interchange
from connectors.edi.sandbox.partner import TradingPartner
from connectors.edi.settings import edi_settings
from connectors.file_exchange import LocalFolderExchange
from orderloop.config import ConfigError
from orderloop.edi_records import AcknowledgementStatus
from orderloop.ledger import Ledger
from tests.connectors.edi.conftest import partner_channel

WITH_846 = ["850", "860", "997", "855", "856", "810", "846"]


def advising(exchange: LocalFolderExchange, ledger: Ledger, **settings: Any) -> EdiConnector:
    built = EdiConnector(partner_channel(documents=WITH_846, **settings), exchange)
    built.share_records(ledger)
    return built


def partner_of(connector: EdiConnector, root: Path) -> TradingPartner:
    """The sandbox's trading partner reading the same folders the connector writes to."""
    return TradingPartner(connector.settings, root)


async def test_a_push_is_one_846_the_partner_reads_as_the_brands_stock(
    exchange: LocalFolderExchange, ledger: Ledger
) -> None:
    connector = advising(exchange, ledger)
    partner = partner_of(connector, exchange.root)

    before = datetime.now(UTC)
    await connector.push_inventory({"TSHIRT-BLK-M": 40, "MUG-11OZ": 0, "POSTER-A2": 3})
    pushed_on = {before.strftime("%Y%m%d"), datetime.now(UTC).strftime("%Y%m%d")}  # midnight may pass

    [read] = partner.read_outbox()
    assert read.kinds == ["846"] and read.problems == []
    assert partner.advised == {"TSHIRT-BLK-M": 40, "MUG-11OZ": 0, "POSTER-A2": 3}
    [group] = read_interchange((exchange.root / "delivered" / read.file_name).read_text()).groups
    assert group.functional_id == "IB"
    [advice] = group.transactions
    assert [s.elements for s in advice.body if s.id in {"LIN", "QTY"}] == [
        ("", "VN", "MUG-11OZ"),
        ("33", "0", "EA"),
        ("", "VN", "POSTER-A2"),
        ("33", "3", "EA"),
        ("", "VN", "TSHIRT-BLK-M"),
        ("33", "40", "EA"),
    ]
    [header] = [s for s in advice.body if s.id == "BIA"]
    assert header.get(1) == "00" and header.get(2) == "MM" and header.get(4) in pushed_on


async def test_each_push_is_an_advice_of_its_own_under_a_growing_control_number(
    exchange: LocalFolderExchange, ledger: Ledger
) -> None:
    connector = advising(exchange, ledger, inventory_report_type="DD")
    partner = partner_of(connector, exchange.root)

    await connector.push_inventory({"MUG-11OZ": 5})
    await connector.push_inventory({"MUG-11OZ": 4})

    first, second = partner.read_outbox()
    assert first.problems == [] and second.problems == []
    assert int(second.control_number) > int(first.control_number)
    assert first.summary["report"] != second.summary["report"]
    assert partner.advised == {"MUG-11OZ": 4}
    text = (exchange.root / "delivered" / second.file_name).read_text()
    assert [
        s.get(2) for g in read_interchange(text).groups for t in g.transactions for s in t.body if s.id == "BIA"
    ] == ["DD"]


async def test_a_partner_that_takes_no_846_is_sent_nothing(
    connector: EdiConnector, exchange: LocalFolderExchange
) -> None:
    assert "846" not in connector.settings.documents  # not among the documents exchanged by default

    await connector.push_inventory({"MUG-11OZ": 5})

    assert list((exchange.root / "out").iterdir()) == []


async def test_a_catalogue_over_the_loop_limit_goes_in_several_sets_of_one_group(
    exchange: LocalFolderExchange, ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(documents, "ADVICE_LINES_PER_SET", 2)
    connector = advising(exchange, ledger)
    partner = partner_of(connector, exchange.root)
    stock = {f"SKU-{n}": n for n in range(5)}

    await connector.push_inventory(stock)

    [read] = partner.read_outbox()
    assert read.kinds == ["846", "846", "846"] and read.problems == []
    assert partner.advised == stock


def test_the_report_type_is_two_letters_or_digits() -> None:
    with pytest.raises(ConfigError, match=r"settings\.inventory_report_type"):
        edi_settings(partner_channel(inventory_report_type="material"))


def test_the_partner_finds_an_item_advised_without_a_quantity(tmp_path: Path) -> None:
    partner = TradingPartner(edi_settings(partner_channel(documents=WITH_846)), tmp_path)
    body = documents.inventory_advice({"MUG-11OZ": 2, "POSTER-A2": 1}, "MM", "R1", datetime.now(UTC))[0]
    without_quantity = [s for s in body if not (s.id == "QTY" and s.get(2) == "1")]
    summary: dict[str, object] = {}

    problems = partner._inventory_advice(without_quantity, summary)

    assert problems == ["846 LIN POSTER-A2: no QTY 33"]
    assert partner.advised == {}  # an advice with problems changes nothing


async def test_the_partners_997_for_an_advice_marks_it_accepted(exchange: LocalFolderExchange, ledger: Ledger) -> None:
    connector = advising(exchange, ledger)
    partner = partner_of(connector, exchange.root)
    await connector.push_inventory({"MUG-11OZ": 5})

    [read] = partner.read_outbox()  # the partner answers the IB group with a 997 in the inbox
    await connector.partner_client.read_inbox(datetime.now(UTC))

    [advice] = [s for s in await ledger.edi_outbound_statuses(connector.channel.id) if s.kind == "846"]
    assert advice.control_number == int(read.control_number)
    assert advice.acknowledgement is not None and advice.acknowledgement.status is AcknowledgementStatus.ACCEPTED
    assert list((exchange.root / "out").iterdir()) == []  # a 997 is not answered with a 997
