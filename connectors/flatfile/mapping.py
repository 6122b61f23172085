"""Flat files <-> the canonical model: the order file of a shipping request (CSV or JSON, one row
per line or one column group per line), and the rows of the shipment and inventory files the
partner drops, each checked on its own so one bad row never holds back the good ones.

Line numbers: a CSV row's number is its physical line in the file (the header is line 1); a JSON
file is an array of row objects, and a row's number is its position in it (1 for the first).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from connectors.flatfile.settings import FileFormat, FlatFileSettings, Layout
from orderloop.model import Shipment, ShipmentLine, ShippingRequest, StockRow


class FileFormatError(Exception):
    """The file is not in the configured format (not UTF-8, not CSV/JSON rows, required columns
    missing): it goes to the error folder whole."""


@dataclass(frozen=True)
class FileRow:
    line: int
    values: dict[str, str]


@dataclass(frozen=True)
class RowError:
    line: int
    reason: str


@dataclass(frozen=True)
class ShipmentRow:
    line: int
    request_id: str
    sku: str
    quantity: int
    tracking_number: str
    carrier: str | None = None
    tracking_url: str | None = None
    shipped_at: datetime | None = None


@dataclass
class ParcelRows:
    """One parcel (a request and a tracking number) and the file lines it came from."""

    shipment: Shipment
    lines: list[int] = field(default_factory=list)


# --- outbound: the order file --------------------------------------------------------------------


def order_file_name(request_id: str, settings: FlatFileSettings) -> str:
    """The order file's name: the request id (its slashes escaped), so a retried send writes the
    same file again and the partner never sees two."""
    return quote(request_id, safe="") + settings.extension


def order_file_path(request_id: str, settings: FlatFileSettings) -> str:
    return f"{settings.orders_folder.strip('/')}/{order_file_name(request_id, settings)}"


def _request_fields(request: ShippingRequest, settings: FlatFileSettings) -> dict[str, str]:
    c, a = settings.order_columns, request.shipping_address
    name = " ".join(p for p in (a.first_name, a.last_name) if p)
    values = {
        c.request_id: request.id,
        c.order_id: request.external_order_id,
        c.channel: request.channel_id,
        c.created_at: request.created_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        c.shipping_code: request.shipping_code,
        c.name: name,
        c.company: a.company,
        c.address1: a.address1,
        c.address2: a.address2,
        c.city: a.city,
        c.state: a.state_or_province,
        c.postal_code: a.zip_code_or_postal_code,
        c.country: a.country,
        c.phone: a.phone,
        c.email: a.email,
    }
    return {column: value or "" for column, value in values.items() if column is not None}


def order_rows(request: ShippingRequest, settings: FlatFileSettings) -> tuple[list[str], list[dict[str, str]]]:
    """The order file's header and rows; a ValueError when the flat layout has too few groups."""
    c = settings.order_columns
    head = _request_fields(request, settings)
    line_columns = [(c.line_id, "line_id"), (c.sku, "sku"), (c.quantity, "quantity")]
    if settings.layout is Layout.UNWIND:
        header = [*head, *(col for col, _ in line_columns if col is not None)]
        rows = []
        for item in request.line_items:
            row = dict(head)
            for column, attr in line_columns:
                if column is not None:
                    row[column] = str(getattr(item, attr))
            rows.append(row)
        return header, rows
    if len(request.line_items) > settings.flat_max_lines:
        raise ValueError(
            f"{len(request.line_items)} lines, the flat layout carries {settings.flat_max_lines} (flat_max_lines)"
        )
    header = list(head)
    row = dict(head)
    for n in range(1, settings.flat_max_lines + 1):
        line = request.line_items[n - 1] if n <= len(request.line_items) else None
        for column, attr in line_columns:
            if column is None:
                continue
            header.append(f"{column}_{n}")
            row[f"{column}_{n}"] = "" if line is None else str(getattr(line, attr))
    return header, [row]


def render_rows(header: list[str], rows: list[dict[str, str]], settings: FlatFileSettings) -> bytes:
    if settings.format is FileFormat.JSON:
        return (json.dumps([{k: row.get(k, "") for k in header} for row in rows], indent=2) + "\n").encode()
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, header, delimiter=settings.csv_delimiter, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue().encode()


def order_file(request: ShippingRequest, settings: FlatFileSettings) -> bytes:
    header, rows = order_rows(request, settings)
    return render_rows(header, rows, settings)


def cancel_file(request: ShippingRequest, settings: FlatFileSettings) -> bytes:
    c = settings.order_columns
    header = [c.request_id] + ([c.order_id] if c.order_id else [])
    row = {c.request_id: request.id} | ({c.order_id: request.external_order_id} if c.order_id else {})
    return render_rows(header, [row], settings)


# --- inbound: rows of the partner's files --------------------------------------------------------


def read_rows(data: bytes, settings: FlatFileSettings, required: Iterable[str]) -> list[FileRow]:
    """The rows of an inbound file; `FileFormatError` when it is not the configured format."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FileFormatError(f"not UTF-8 text ({exc})") from None
    rows = _json_rows(text) if settings.format is FileFormat.JSON else _csv_rows(text, settings)
    wanted = list(required)
    if rows:
        present = set().union(*(r.values for r in rows))
        missing = [c for c in wanted if c not in present]
        if missing:
            raise FileFormatError(f"required column(s) missing: {', '.join(missing)}")
    return rows


def _csv_rows(text: str, settings: FlatFileSettings) -> list[FileRow]:
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=settings.csv_delimiter, strict=True)
    rows = []
    try:
        header = reader.fieldnames
        if not header:
            raise FileFormatError("empty file: no header row")
        for values in reader:
            if None in values:
                raise FileFormatError(f"line {reader.line_num}: more fields than the header has")
            if not any((v or "").strip() for v in values.values()):
                continue  # a blank line
            rows.append(FileRow(reader.line_num, {k: (v or "").strip() for k, v in values.items()}))
    except csv.Error as exc:
        raise FileFormatError(f"not CSV: line {reader.line_num}: {exc}") from None
    return rows


def _json_rows(text: str) -> list[FileRow]:
    try:
        data: Any = json.loads(text)
    except ValueError as exc:
        raise FileFormatError(f"not JSON: {exc}") from None
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        raise FileFormatError("not a JSON array of row objects")
    return [
        FileRow(n, {str(k): "" if v is None else str(v).strip() for k, v in item.items()})
        for n, item in enumerate(data, 1)
    ]


def shipment_required_columns(settings: FlatFileSettings) -> list[str]:
    c = settings.shipment_columns
    return [c.request_id, c.sku, c.quantity, c.tracking_number]


def shipment_rows(rows: list[FileRow], settings: FlatFileSettings) -> tuple[list[ShipmentRow], list[RowError]]:
    """Each row as a shipped line, or the reason it cannot be one."""
    c = settings.shipment_columns
    good, bad = [], []
    for row in rows:
        v = row.values
        request_id = v.get(c.request_id, "")
        try:
            ShippingRequest.order_id_of(request_id)
        except ValueError:
            bad.append(RowError(row.line, f"unknown order: {request_id!r} is not one of Orderloop's request ids"))
            continue
        quantity = _positive(v.get(c.quantity, ""))
        if quantity is None:
            bad.append(RowError(row.line, f"bad quantity {v.get(c.quantity, '')!r}: a whole number above 0"))
            continue
        sku = v.get(c.sku, "")
        if not sku:
            bad.append(RowError(row.line, "missing sku"))
            continue
        tracking = v.get(c.tracking_number, "")
        if not tracking:
            bad.append(RowError(row.line, "missing tracking number"))
            continue
        shipped_at, problem = _when(v.get(c.shipped_at, "") if c.shipped_at else "")
        if problem:
            bad.append(RowError(row.line, problem))
            continue
        good.append(
            ShipmentRow(
                line=row.line,
                request_id=request_id,
                sku=sku,
                quantity=quantity,
                tracking_number=tracking,
                carrier=(v.get(c.carrier) or None) if c.carrier else None,
                tracking_url=(v.get(c.tracking_url) or None) if c.tracking_url else None,
                shipped_at=shipped_at,
            )
        )
    return good, bad


def parcels(rows: list[ShipmentRow], channel_id: str) -> list[ParcelRows]:
    """The shipped lines grouped by (request, tracking number), in the file's order; a parcel's
    id is its request and tracking number, so the same parcel read from two files is one."""
    grouped: dict[tuple[str, str], ParcelRows] = {}
    for row in rows:
        key = (row.request_id, row.tracking_number)
        parcel = grouped.get(key)
        if parcel is None:
            shipment = Shipment(
                id=f"{row.request_id}/parcel/{row.tracking_number}",
                shipping_request_id=row.request_id,
                fulfillment_channel_id=channel_id,
                line_items=[ShipmentLine(sku=row.sku, quantity=row.quantity)],
                tracking_numbers=[row.tracking_number],
                shipping_carrier=row.carrier,
                tracking_url=row.tracking_url,
                shipped_at=row.shipped_at,
            )
            grouped[key] = ParcelRows(shipment, [row.line])
            continue
        parcel.lines.append(row.line)
        lines = list(parcel.shipment.line_items)
        same = [i for i, item in enumerate(lines) if item.sku == row.sku]
        if same:
            lines[same[0]] = ShipmentLine(sku=row.sku, quantity=lines[same[0]].quantity + row.quantity)
        else:
            lines.append(ShipmentLine(sku=row.sku, quantity=row.quantity))
        parcel.shipment = parcel.shipment.model_copy(update={"line_items": lines})
    return list(grouped.values())


def inventory_required_columns(settings: FlatFileSettings) -> list[str]:
    c = settings.inventory_columns
    return [c.sku, c.on_hand] + ([c.location] if c.location else [])


def inventory_rows(
    rows: list[FileRow], settings: FlatFileSettings
) -> tuple[list[tuple[int, StockRow]], list[RowError]]:
    c = settings.inventory_columns
    good, bad = [], []
    for row in rows:
        v = row.values
        sku = v.get(c.sku, "")
        on_hand = _count(v.get(c.on_hand, ""))
        available = _count(v.get(c.available, "")) if c.available and v.get(c.available) else None
        if not sku:
            bad.append(RowError(row.line, "missing sku"))
        elif on_hand is None:
            bad.append(RowError(row.line, f"bad on hand {v.get(c.on_hand, '')!r}: a whole number, 0 or more"))
        elif c.available and v.get(c.available) and available is None:
            bad.append(RowError(row.line, f"bad available {v.get(c.available, '')!r}: a whole number, 0 or more"))
        else:
            location: str | None = None
            if c.location:
                code = v.get(c.location, "")
                location = settings.warehouses.get(code)
                if location is None:
                    bad.append(RowError(row.line, f"unknown warehouse {code!r} (settings.warehouses)"))
                    continue
            good.append((row.line, StockRow(sku=sku, on_hand=on_hand, available=available, location_ref=location)))
    return good, bad


def error_report(errors: Iterable[RowError]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(["line", "reason"])
    writer.writerows([e.line, e.reason] for e in sorted(errors, key=lambda e: e.line))
    return buffer.getvalue().encode()


def _positive(raw: str) -> int | None:
    value = _count(raw)
    return value if value is not None and value > 0 else None


def _count(raw: str) -> int | None:
    try:
        value = int(raw.strip())
    except ValueError:
        return None
    return value if value >= 0 else None


def _when(raw: str) -> tuple[datetime | None, str | None]:
    if not raw:
        return None, None
    try:
        at = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return None, f"bad shipped_at {raw!r}: an ISO 8601 time"
    return (at if at.tzinfo else at.replace(tzinfo=UTC)), None
