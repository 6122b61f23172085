"""The flat-file mapping: order files in CSV and JSON, unwind and flat, with configured column
names; inbound shipment and inventory rows, each bad row with its line and reason."""

from __future__ import annotations

import csv
import io
import json

import pytest

from connectors.flatfile import mapping
from connectors.flatfile.mapping import FileFormatError
from connectors.flatfile.settings import FlatFileSettings
from tests.connectors.shipping_requests import shipping_request_to

REQUEST = shipping_request_to("files", "1001", location="files-tx")


def settings(**fields: object) -> FlatFileSettings:
    return FlatFileSettings.model_validate({"username": "orderloop", **fields})


def csv_rows(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode())))


def test_unwind_csv_has_one_row_per_line_with_the_request_repeated() -> None:
    data = mapping.order_file(REQUEST, settings())
    rows = csv_rows(data)
    assert data.decode().startswith("request_id,order_id,channel,created_at,ship_method,ship_to_name,")
    assert b"\r\n" in data  # RFC 4180 line ends
    assert [(r["request_id"], r["line_id"], r["sku"], r["quantity"]) for r in rows] == [
        ("order/storefront/1001/sr1", "L1", "TSHIRT-BLK-M", "2"),
        ("order/storefront/1001/sr1", "L2", "MUG-11OZ", "1"),
    ]
    assert {r["ship_to_name"] for r in rows} == {"Ada Lovelace"}
    assert rows[0]["ship_to_city"] == "Chicago" and rows[0]["ship_method"] == "express"
    assert rows[0]["created_at"] == "2026-03-02T10:15:00Z"


def test_flat_json_has_one_object_with_a_column_group_per_line() -> None:
    data = mapping.order_file(REQUEST, settings(format="json", layout="flat", flat_max_lines=3))
    [row] = json.loads(data)
    assert (row["sku_1"], row["quantity_1"], row["sku_2"], row["quantity_2"]) == ("TSHIRT-BLK-M", "2", "MUG-11OZ", "1")
    assert row["sku_3"] == "" and row["quantity_3"] == ""
    assert row["request_id"] == REQUEST.id


def test_columns_are_renamed_and_left_out_as_configured() -> None:
    data = mapping.order_file(
        REQUEST, settings(order_columns={"sku": "ItemCode", "quantity": "Qty", "email": None, "phone": None})
    )
    header = data.decode().splitlines()[0].split(",")
    assert "ItemCode" in header and "Qty" in header
    assert "ship_to_email" not in header and "ship_to_phone" not in header


def test_flat_layout_refuses_more_lines_than_it_has_groups() -> None:
    with pytest.raises(ValueError, match="flat_max_lines"):
        mapping.order_file(REQUEST, settings(layout="flat", flat_max_lines=1))


def test_the_file_is_named_by_the_request_id() -> None:
    assert mapping.order_file_path(REQUEST.id, settings()) == "outbound/orders/order%2Fstorefront%2F1001%2Fsr1.csv"


SHIPMENTS = (
    "request_id,sku,quantity,tracking_number,carrier,shipped_at\r\n"
    "order/storefront/1001/sr1,TSHIRT-BLK-M,2,1Z1,UPS,2026-03-03T09:00:00Z\r\n"
    "order/storefront/1001/sr1,MUG-11OZ,1,1Z1,UPS,2026-03-03T09:00:00Z\r\n"
    "order/storefront/1002/sr1,MUG-11OZ,two,1Z2,UPS,\r\n"
    "SO-77,MUG-11OZ,1,1Z3,UPS,\r\n"
    "order/storefront/1003/sr1,MUG-11OZ,1,,UPS,\r\n"
    "order/storefront/1004/sr1,MUG-11OZ,1,1Z4,,yesterday\r\n"
)


def test_shipment_rows_each_bad_one_with_its_line_and_reason() -> None:
    s = settings()
    rows = mapping.read_rows(SHIPMENTS.encode(), s, mapping.shipment_required_columns(s))
    good, bad = mapping.shipment_rows(rows, s)
    assert [r.line for r in good] == [2, 3]
    assert [(e.line, e.reason.split(" ")[0]) for e in bad] == [(4, "bad"), (5, "unknown"), (6, "missing"), (7, "bad")]
    assert "quantity" in bad[0].reason and "tracking" in bad[2].reason and "shipped_at" in bad[3].reason
    [parcel] = mapping.parcels(good, "files")
    assert parcel.lines == [2, 3]
    assert parcel.shipment.id == "order/storefront/1001/sr1/parcel/1Z1"
    assert [(li.sku, li.quantity) for li in parcel.shipment.line_items] == [("TSHIRT-BLK-M", 2), ("MUG-11OZ", 1)]
    assert parcel.shipment.tracking_numbers == ["1Z1"] and parcel.shipment.shipping_carrier == "UPS"


def test_json_rows_are_numbered_by_position() -> None:
    s = settings(format="json")
    body = json.dumps(
        [
            {"request_id": "order/s/1/sr1", "sku": "A", "quantity": 1, "tracking_number": "T"},
            {"request_id": "order/s/1/sr1", "sku": "A", "quantity": 0, "tracking_number": "T"},
        ]
    ).encode()
    good, bad = mapping.shipment_rows(mapping.read_rows(body, s, mapping.shipment_required_columns(s)), s)
    assert [r.line for r in good] == [1] and [e.line for e in bad] == [2]


@pytest.mark.parametrize(
    ("body", "fmt", "reason"),
    [
        (b"\xff\xfe\x00bad", "csv", "UTF-8"),
        (b"sku,qty\r\nA,1\r\n", "csv", "required column"),
        (b'{"not": "rows"}', "json", "array of row objects"),
        (b"[1, 2", "json", "not JSON"),
        (b'request_id,sku,quantity,tracking_number\r\na,"b,1,2\r\n', "csv", "not CSV"),
    ],
)
def test_a_file_not_in_the_format_is_refused_whole(body: bytes, fmt: str, reason: str) -> None:
    s = settings(format=fmt)
    with pytest.raises(FileFormatError, match=reason):
        mapping.read_rows(body, s, mapping.shipment_required_columns(s))


def test_inventory_rows_map_warehouses_and_report_bad_counts() -> None:
    s = settings(inventory_columns={"location": "warehouse"}, warehouses={"DAL1": "files-tx"})
    body = b"sku,on_hand,available,warehouse\r\nA,5,4,DAL1\r\nB,-1,,DAL1\r\nC,3,,MIA9\r\n"
    good, bad = mapping.inventory_rows(mapping.read_rows(body, s, mapping.inventory_required_columns(s)), s)
    assert [(line, r.sku, r.on_hand, r.available, r.location_ref) for line, r in good] == [(2, "A", 5, 4, "files-tx")]
    assert [(e.line, e.reason) for e in bad] == [
        (3, "bad on hand '-1': a whole number, 0 or more"),
        (4, "unknown warehouse 'MIA9' (settings.warehouses)"),
    ]


def test_error_report_is_csv_of_line_and_reason() -> None:
    data = mapping.error_report([mapping.RowError(7, "missing tracking number"), mapping.RowError(3, "bad, quantity")])
    assert data == b'line,reason\r\n3,"bad, quantity"\r\n7,missing tracking number\r\n'
