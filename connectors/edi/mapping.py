"""An inbound 850 purchase order (with the 860 changes received since) -> the canonical wholesale
`Order`.

The payload the order's workflow keeps is JSON: the 850's segments between ST and SE as lists
(`["PO1", "1", "24", "EA", ...]`), the envelope references an answer quotes back, and the 860
change sets applied on top, oldest first. Reading it:

- BEG03 PO number (the order's external id), BEG05 PO date; CUR02 currency (USD when absent);
- ITD: terms type, discount percent (ITD03) and its days (ITD05), net days (ITD07), text (ITD12);
- DTM 037 ship not before / 010 requested ship (the window's start), 038 ship no later / 001
  cancel after (cancel-if-not-shipped-by);
- N1 loops (with N3/N4): ST ship-to (the address), BY buying party (N104: the buyer account,
  else the partner's ISA id), Z7 mark-for party (N104: the retailer's store or DC number);
- TD5: the routing carrier (TD503, a SCAC) and the routing text (TD505);
- PO1: line id (PO101), quantity (PO102, whole units), unit (PO103), unit price (PO104), product
  ids in qualifier/id pairs from PO106 (VN vendor's item = our SKU, else SK, else UP/EN); PO4 after
  a PO1: PO401 the pack (units per case), the line's case pack.

An 860 (BCH01 04 change) replaces the header's DTM/ITD/TD5/N1 of the same qualifier it carries,
and changes lines by POC: AI add, DI delete, QI/QD/PQ/CA/RZ a new quantity (POC03, the new
quantity ordered) and price (POC06). BCH01 01 is a cancel, which never reaches this mapping.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from connectors.base import MappingError, validated_by
from orderloop.model import (
    Address,
    CustomField,
    MarkFor,
    Order,
    OrderLine,
    OrderType,
    PaymentTerms,
    WholesaleTerms,
)

SKU_QUALIFIERS = ("VN", "SK", "UP", "EN", "IN", "BP")
HEADER_REPLACEABLE = {"DTM", "ITD", "TD5", "CUR"}


@dataclass
class PoLine:
    line_id: str
    quantity: Decimal
    unit: str
    price: Decimal | None
    ids: dict[str, str]
    case_pack: int | None = None


@dataclass
class PurchaseOrder:
    number: str
    date: str
    purpose: str
    header: list[list[str]] = field(default_factory=list)  # every header segment but N1 loops
    parties: dict[str, list[list[str]]] = field(default_factory=dict)  # N101 -> N1 and its N2-N4
    lines: list[PoLine] = field(default_factory=list)

    def first(self, segment_id: str, qualifier: str | None = None) -> list[str] | None:
        for segment in self.header:
            if segment[0] == segment_id and (qualifier is None or _el(segment, 1) == qualifier):
                return segment
        return None


def _el(segment: Sequence[str], index: int) -> str:
    return segment[index] if index < len(segment) else ""


def read_purchase_order(segments: Sequence[Sequence[str]]) -> PurchaseOrder:
    """The 850's parts (its segments already passed the syntax check of `connectors.edi.rules`)."""
    po: PurchaseOrder | None = None
    party: list[list[str]] | None = None
    line: PoLine | None = None
    for raw in segments:
        segment = [str(v) for v in raw]
        kind = segment[0]
        if kind == "BEG":
            po = PurchaseOrder(number=_el(segment, 3), date=_el(segment, 5), purpose=_el(segment, 1))
            continue
        if po is None:
            raise MappingError(f"segment {kind} comes before BEG")
        if kind == "N1":
            party = [segment]
            po.parties[_el(segment, 1)] = party
            line = None
        elif kind in {"N2", "N3", "N4", "PER"} and party is not None:
            party.append(segment)
        elif kind == "PO1":
            party = None
            line = _po_line(segment, len(po.lines) + 1)
            po.lines.append(line)
        elif kind == "PO4" and line is not None:
            line.case_pack = _whole(_el(segment, 1), "PO401 pack") if _el(segment, 1) else None
        elif line is None and party is None and kind not in {"CTT", "AMT"}:
            po.header.append(segment)
    if po is None:
        raise MappingError("no BEG segment: not a purchase order")
    return po


def _po_line(segment: list[str], index: int) -> PoLine:
    ids = {}
    for position in range(6, len(segment), 2):
        qualifier, value = _el(segment, position), _el(segment, position + 1)
        if qualifier and value:
            ids[qualifier] = value
    return PoLine(
        line_id=_el(segment, 1) or str(index),
        quantity=_decimal(_el(segment, 2), "PO102 quantity"),
        unit=_el(segment, 3),
        price=_decimal(_el(segment, 4), "PO104 unit price") if _el(segment, 4) else None,
        ids=ids,
    )


def _decimal(value: str, what: str) -> Decimal:
    try:
        return Decimal(value)
    except InvalidOperation:
        raise MappingError(f"{what} {value!r} is not a number") from None


def _whole(value: str, what: str) -> int:
    number = _decimal(value, what)
    if number != number.to_integral_value() or number <= 0:
        raise MappingError(f"{what} {value!r} is not a whole number of units")
    return int(number)


def apply_change(po: PurchaseOrder, segments: Sequence[Sequence[str]]) -> None:
    """Apply an 860's changes (header and POC lines) to `po`, in place."""
    party: list[list[str]] | None = None
    for raw in segments:
        segment = [str(v) for v in raw]
        kind = segment[0]
        if kind == "BCH":
            continue
        if kind == "N1":
            party = [segment]
            po.parties[_el(segment, 1)] = party
        elif kind in {"N2", "N3", "N4"} and party is not None:
            party.append(segment)
        elif kind in HEADER_REPLACEABLE:
            party = None
            qualifier = _el(segment, 1) if kind == "DTM" else None
            po.header = [s for s in po.header if not (s[0] == kind and (qualifier is None or _el(s, 1) == qualifier))]
            po.header.append(segment)
        elif kind == "POC":
            party = None
            _change_line(po, segment)


def _change_line(po: PurchaseOrder, segment: list[str]) -> None:
    line_id, change = _el(segment, 1), _el(segment, 2)
    existing = next((line for line in po.lines if line.line_id == line_id), None)
    if change == "AI":
        if existing is not None:
            raise MappingError(f"860 adds line {line_id}, which the order has already")
        added = _po_line(
            ["PO1", line_id, _el(segment, 3), _el(segment, 5), _el(segment, 6), _el(segment, 7), *segment[8:]], 0
        )
        po.lines.append(added)
        return
    if existing is None:
        raise MappingError(f"860 changes line {line_id}, which the order does not have")
    if change == "DI":
        po.lines.remove(existing)
        return
    if _el(segment, 3):
        existing.quantity = _decimal(_el(segment, 3), "POC03 quantity ordered")
    if _el(segment, 6):
        existing.price = _decimal(_el(segment, 6), "POC06 unit price")


def _date(value: str) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.strptime(value, "%Y%m%d").replace(tzinfo=UTC)
    except ValueError:
        raise MappingError(f"date {value!r} is not CCYYMMDD") from None


def _address(party: list[list[str]] | None) -> Address | None:
    if not party:
        return None
    n1 = party[0]
    n3 = next((s for s in party if s[0] == "N3"), None)
    n4 = next((s for s in party if s[0] == "N4"), None)
    return Address(
        company=_el(n1, 2) or None,
        address1=_el(n3, 1) or None if n3 else None,
        address2=_el(n3, 2) or None if n3 else None,
        city=_el(n4, 1) or None if n4 else None,
        state_or_province=_el(n4, 2) or None if n4 else None,
        zip_code_or_postal_code=_el(n4, 3) or None if n4 else None,
        country=(_el(n4, 4) or "US") if n4 else None,
    )


def _terms(po: PurchaseOrder) -> PaymentTerms | None:
    itd = po.first("ITD")
    if itd is None:
        return None
    net = _el(itd, 7)
    discount, discount_days = _el(itd, 3), _el(itd, 5)
    code = f"NET{net}" if net else (_el(itd, 12) or f"ITD{_el(itd, 1)}")
    if discount and discount_days and net:
        code = f"{discount}/{discount_days} NET{net}"
    return PaymentTerms(
        code=code,
        net_days=int(net) if net.isdigit() else None,
        discount_percent=Decimal(discount) if discount else None,
        discount_days=int(discount_days) if discount_days.isdigit() else None,
        description=_el(itd, 12) or None,
    )


def _ship_window(po: PurchaseOrder) -> tuple[datetime | None, datetime | None]:
    def dtm(*qualifiers: str) -> datetime | None:
        for qualifier in qualifiers:
            segment = po.first("DTM", qualifier)
            if segment is not None:
                return _date(_el(segment, 2))
        return None

    return dtm("037", "010"), dtm("038", "001")


def _sku(line: PoLine) -> str:
    for qualifier in SKU_QUALIFIERS:
        if line.ids.get(qualifier):
            return line.ids[qualifier]
    raise MappingError(f"PO1 line {line.line_id} names no product (no VN, SK, UP or EN id)")


def map_purchase_order(
    raw: Mapping[str, Any],
    *,
    order_id: str,
    tenant_id: str,
    channel_id: str,
    received_at: datetime,
    ship_complete: bool,
    partner_isa_id: str,
) -> Order:
    try:
        segments = raw["purchase_order"]
        envelope = raw["interchange"]
    except (KeyError, TypeError):
        raise MappingError("not an EDI purchase order payload (no purchase_order and interchange)") from None
    po = read_purchase_order(segments)
    for change in raw.get("changes", []):
        apply_change(po, change["segments"])
    if not po.lines:
        raise MappingError(f"purchase order {po.number} has no lines left")
    ids = [line.line_id for line in po.lines]
    if len(set(ids)) != len(ids):
        raise MappingError(f"purchase order {po.number} repeats a PO101 line number: {ids}")
    created = _date(po.date) or received_at
    updated = max([utc(c["received_at"]) for c in raw.get("changes", [])], default=created)
    after, cancel_by = _ship_window(po)
    td5 = po.first("TD5")
    buyer = po.parties.get("BY")
    mark_for = po.parties.get("Z7")
    ship_to = po.parties.get("ST") or mark_for
    currency = po.first("CUR")
    lines = [
        OrderLine(
            id=line.line_id,
            external_id=line.line_id,
            sku=_sku(line),
            quantity=_whole(str(line.quantity), f"line {line.line_id} quantity"),
            unit_price=line.price,
            case_pack=line.case_pack,
            custom_fields=[CustomField(name=f"x12:{q}", value=v) for q, v in line.ids.items()]
            + [CustomField(name="x12:unit", value=line.unit or "EA")],
        )
        for line in po.lines
    ]
    wholesale = WholesaleTerms(
        customer_po_number=po.number,
        buyer_account=(_el(buyer[0], 4) or _el(buyer[0], 2)) if buyer else partner_isa_id,
        payment_terms=_terms(po),
        ship_after_date=after,
        ship_cancel_by_date=cancel_by,
        ship_complete=ship_complete,
        mark_for=MarkFor(
            location_identifier=_el(mark_for[0], 4), name=_el(mark_for[0], 2) or None, address=_address(mark_for)
        )
        if mark_for and _el(mark_for[0], 4)
        else None,
        requested_carrier=(_el(td5, 3) or None) if td5 else None,
        routing_instructions=(_el(td5, 5) or None) if td5 else None,
        partner_refs={
            "isa_sender": f"{envelope.get('sender_qualifier', '')}:{envelope.get('sender_id', '')}",
            "interchange_control_number": str(envelope.get("control_number", "")),
            "group_control_number": str(envelope.get("group_control_number", "")),
            "set_control_number": str(envelope.get("set_control_number", "")),
            "po_date": po.date,
            "version": str(envelope.get("version", "")),
        },
    )
    return validated_by(
        lambda: Order(
            id=order_id,
            external_id=po.number,
            tenant_id=tenant_id,
            created_at=created,
            updated_at=updated,
            channel_id=channel_id,
            order_type=OrderType.WHOLESALE,
            name=f"PO {po.number}",
            currency=_el(currency, 2) if currency else "USD",
            line_items=lines,
            shipping_address=_address(ship_to),
            shipping_carrier=wholesale.requested_carrier,
            wholesale=wholesale,
            custom_fields=[CustomField(name="x12:purpose", value=po.purpose)],
        )
    )


def utc(value: str) -> datetime:
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def purchase_order_number(raw: Mapping[str, Any]) -> str | None:
    """BEG03 of a payload, or None."""
    for segment in raw.get("purchase_order", []):
        if segment and segment[0] == "BEG":
            return _el(segment, 3) or None
    return None
