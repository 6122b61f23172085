"""Reading the partner's inbound files against a real ledger journal (SQLite) and a folder
exchange: rows applied once across an interrupted run, bad rows in the error report while the
good ones apply, a file not in the format moved to the error folder whole, inventory files as
one snapshot, a repeated file applying nothing again."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from connectors.base import Delivery
from connectors.file_exchange import LocalFolderExchange
from connectors.flatfile.inbox import PARCELS_PER_BATCH, Inbox, file_key
from connectors.flatfile.settings import FlatFileSettings
from orderloop.contracts.scheduled_jobs import LocationSnapshot, SnapshotReport
from orderloop.file_journal import FileState, RowOutcome
from orderloop.ledger import Ledger
from orderloop.model import Shipment, StockRow

SETTINGS = FlatFileSettings(username="orderloop")
HEADER = "request_id,sku,quantity,tracking_number,carrier\r\n"


class Crash(Exception):
    pass


class RecordingSink:
    """Stands in for Temporal and the ledger's snapshot path: records what it was handed, and
    can die before the n-th shipment (a worker killed mid-file)."""

    def __init__(self, die_at: int | None = None, closed: frozenset[str] = frozenset()) -> None:
        self.shipments: list[Shipment] = []
        self.stock_calls: list[list[StockRow]] = []
        self.die_at = die_at
        self.closed = closed

    async def shipment(self, shipment: Shipment) -> Delivery:
        if self.die_at is not None and len(self.shipments) + 1 == self.die_at:
            raise Crash
        if shipment.shipping_request_id.startswith("order/storefront/gone"):
            return Delivery.UNKNOWN_ORDER
        if shipment.shipping_request_id in self.closed:
            return Delivery.ORDER_CLOSED
        self.shipments.append(shipment)
        return Delivery.DELIVERED

    async def stock(self, rows: list[StockRow]) -> SnapshotReport:
        self.stock_calls.append(rows)
        return SnapshotReport(
            channel_id="files", locations=[LocationSnapshot(location_id="files-tx", changed=len(rows), unchanged=0)]
        )

    def progress(self, detail: str) -> None:
        pass


@pytest_asyncio.fixture
async def ledger(tmp_path: Path) -> AsyncIterator[Ledger]:
    opened = await Ledger.open(f"sqlite:///{tmp_path / 'ledger.db'}")
    yield opened
    await opened.close()


@pytest.fixture
def root(tmp_path: Path) -> Path:
    for folder in ("inbound/shipments", "inbound/inventory"):
        (tmp_path / "x" / folder).mkdir(parents=True)
    return tmp_path / "x"


def inbox(root: Path, ledger: Ledger, sink: RecordingSink) -> Inbox:
    return Inbox(LocalFolderExchange(root), SETTINGS, "files", ledger, sink)


def shipment_file(orders: int) -> str:
    return HEADER + "".join(f"order/storefront/{n}/sr1,MUG-11OZ,1,1Z{n:04d},UPS\r\n" for n in range(1, orders + 1))


async def test_a_run_cut_short_mid_file_applies_every_row_once_after_the_restart(root: Path, ledger: Ledger) -> None:
    parcels = 2 * PARCELS_PER_BATCH + 5
    body = shipment_file(parcels)
    (root / "inbound/shipments/SHIP-1.csv").write_text(body)
    key = file_key("SHIP-1.csv", body.encode())
    # The worker dies in the second batch: the first is applied, the second caught delivering.
    first = RecordingSink(die_at=PARCELS_PER_BATCH + 10)
    with pytest.raises(Crash):
        await inbox(root, ledger, first).collect()
    rows = await ledger.exchange_rows("files", key)
    applied = sorted(line for line, r in rows.items() if r.outcome is RowOutcome.APPLIED)
    assert applied == list(range(2, PARCELS_PER_BATCH + 2))
    assert {r.outcome for line, r in rows.items() if line not in applied} == {RowOutcome.DELIVERING}
    assert (root / "inbound/shipments/SHIP-1.csv").exists()  # still in the inbox

    second = RecordingSink()
    report = await inbox(root, ledger, second).collect()
    # The applied batch is skipped; the batch caught delivering is sent again, then the rest.
    resent = [int(s.tracking_numbers[0][2:]) for s in second.shipments]
    assert resent == list(range(PARCELS_PER_BATCH + 1, parcels + 1))
    assert (report.rows_applied, report.rows_already_applied, report.rows_rejected) == (
        parcels - PARCELS_PER_BATCH,
        PARCELS_PER_BATCH,
        0,
    )
    # Every parcel reached its order; none was sent twice except those in flight at the crash,
    # which the order recognises by the shipment's id.
    delivered = [s.id for s in first.shipments + second.shipments]
    assert set(delivered) == {f"order/storefront/{n}/sr1/parcel/1Z{n:04d}" for n in range(1, parcels + 1)}
    twice = {i for i in delivered if delivered.count(i) > 1}
    assert all(PARCELS_PER_BATCH < int(i.rsplit("1Z", 1)[1]) <= 2 * PARCELS_PER_BATCH for i in twice)
    rows = await ledger.exchange_rows("files", key)
    assert {line: r.outcome for line, r in rows.items()} == dict.fromkeys(range(2, parcels + 2), RowOutcome.APPLIED)
    assert (root / "archive/SHIP-1.csv").read_bytes() == body.encode()
    assert not (root / "archive/SHIP-1.csv.errors.csv").exists()
    record = await ledger.exchange_file("files", key)
    assert record is not None and (record.state, record.rows_applied) == (FileState.ARCHIVED, parcels)


async def test_two_bad_rows_go_to_the_error_report_and_the_rest_apply(root: Path, ledger: Ledger) -> None:
    body = (
        HEADER
        + "order/storefront/1/sr1,MUG-11OZ,1,1Z1,UPS\r\n"
        + "order/storefront/2/sr1,MUG-11OZ,-3,1Z2,UPS\r\n"
        + "order/storefront/3/sr1,MUG-11OZ,1,1Z3,UPS\r\n"
        + "order/storefront/4/sr1,MUG-11OZ,1,,UPS\r\n"
        + "order/storefront/gone/sr1,MUG-11OZ,1,1Z5,UPS\r\n"
    )
    (root / "inbound/shipments/SHIP-2.csv").write_text(body)
    sink = RecordingSink()
    report = await inbox(root, ledger, sink).collect()
    assert [s.shipping_request_id for s in sink.shipments] == ["order/storefront/1/sr1", "order/storefront/3/sr1"]
    assert (report.rows_applied, report.rows_rejected) == (2, 3)
    errors = (root / "archive/SHIP-2.csv.errors.csv").read_text().splitlines()
    assert errors == [
        "line,reason",
        "3,bad quantity '-3': a whole number above 0",
        "5,missing tracking number",
        "6,unknown order: no order has shipping request 'order/storefront/gone/sr1'",
    ]
    assert not (root / "inbound/shipments/SHIP-2.csv").exists()


async def test_a_file_not_in_the_format_goes_whole_to_the_error_folder(root: Path, ledger: Ledger) -> None:
    (root / "inbound/shipments/SHIP-3.csv").write_text("order,qty\r\nA,1\r\n")
    (root / "inbound/shipments/notes.txt").write_text("hello")
    sink = RecordingSink()
    report = await inbox(root, ledger, sink).collect()
    assert sink.shipments == [] and sorted(report.files_in_error) == ["SHIP-3.csv", "notes.txt"]
    assert (root / "error/SHIP-3.csv").read_bytes() == b"order,qty\r\nA,1\r\n"
    reason = (root / "error/SHIP-3.csv.reason.txt").read_text()
    assert "required column(s) missing: request_id, sku, quantity, tracking_number" in reason
    assert "must end in .csv" in (root / "error/notes.txt.reason.txt").read_text()


async def test_the_same_file_dropped_again_applies_nothing_and_keeps_both_copies(root: Path, ledger: Ledger) -> None:
    body = shipment_file(2)
    (root / "inbound/shipments/SHIP-4.csv").write_text(body)
    await inbox(root, ledger, RecordingSink()).collect()
    (root / "inbound/shipments/SHIP-4.csv").write_text(body)
    again = RecordingSink()
    report = await inbox(root, ledger, again).collect()
    assert again.shipments == [] and report.rows_already_applied == 2
    assert sorted(p.name for p in (root / "archive").iterdir()) == [
        "SHIP-4.csv",
        f"SHIP-4.{file_key('SHIP-4.csv', body.encode())[:12]}.csv",
    ]


async def test_an_inventory_file_is_one_snapshot_of_its_good_rows(root: Path, ledger: Ledger) -> None:
    (root / "inbound/inventory/INV-1.csv").write_text("sku,on_hand,available\r\nA,5,5\r\nB,x,\r\nC,0,\r\n")
    sink = RecordingSink()
    report = await inbox(root, ledger, sink).collect()
    [rows] = sink.stock_calls
    assert [(r.sku, r.on_hand) for r in rows] == [("A", 5), ("C", 0)]
    assert (report.rows_applied, report.rows_rejected, len(report.stock)) == (2, 1, 1)
    errors = (root / "archive/INV-1.csv.errors.csv").read_text().splitlines()
    assert errors == ["line,reason", "3,\"bad on hand 'x': a whole number, 0 or more\""]


async def test_a_parcel_caught_delivering_whose_order_closed_since_counts_as_applied(
    root: Path, ledger: Ledger
) -> None:
    body = shipment_file(1)
    (root / "inbound/shipments/SHIP-5.csv").write_text(body)
    key = file_key("SHIP-5.csv", body.encode())
    await ledger.begin_exchange_file("files", key, "SHIP-5.csv", "shipments")
    await ledger.record_exchange_rows("files", key, {2: "order/storefront/1/sr1/parcel/1Z0001"}, RowOutcome.DELIVERING)
    report = await inbox(root, ledger, RecordingSink(closed=frozenset({"order/storefront/1/sr1"}))).collect()
    assert report.rows_applied == 1
    assert (await ledger.exchange_rows("files", key))[2].outcome is RowOutcome.APPLIED
