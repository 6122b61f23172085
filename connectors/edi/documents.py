"""The transaction sets Orderloop sends a retail partner, as segment lists for an envelope:

- 855 PO acknowledgement: BAK (00 original; AD accepted as ordered, AC accepted with changes,
  RJ rejected), each PO1 line quoted back with its ACK (IA accepted, IQ quantity changed, IR
  rejected) and the quantity accepted, CTT line count.
- 856 ship notice, hierarchy Shipment / Order / Pack / Item (BSN05 0001): the shipment level
  with TD1 carton count, TD5 carrier, REF CN tracking and DTM 011 shipped; the order level with
  PRF (the PO number) and the ship-to and mark-for parties; one pack level per carton with MAN GM
  (its SSCC-18); under it one item level per line in the carton (LIN, SN1). CTT counts the HLs.
- 810 invoice: BIG (invoice date and number, the PO's number and date), ITD with the PO's terms,
  DTM 011, an IT1 per shipped line at the PO's unit price, TDS (the total in cents), CTT.
- 846 inventory advice: BIA (00 original, the report type the partner's guide names, a report
  number, date and time), then per SKU a LIN with our SKU as the vendor's part number (VN) and
  QTY 33 (quantity available for sale) in eaches, CTT counting the LIN loops. The quantities are
  the channel's available-to-sell (its inventory rules applied), absolute, so an advice sent
  twice says the same thing twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from connectors.edi.x12 import Segment, clean, seg
from orderloop.model import Address, LineDecision, Order, OrderLine, Shipment

ACK_CODES = {"accepted": "IA", "changed": "IQ", "rejected": "IR"}


def _line_ids(line: OrderLine) -> list[str]:
    """The line's product ids as the partner sent them (qualifier, id pairs)."""
    pairs = [(f.name.removeprefix("x12:"), f.value) for f in line.custom_fields if f.name.startswith("x12:")]
    flat: list[str] = []
    for qualifier, value in pairs:
        if qualifier not in {"unit", "purpose"}:
            flat += [qualifier, value]
    return flat or ["VN", line.sku]


def _unit(line: OrderLine) -> str:
    return next((f.value for f in line.custom_fields if f.name == "x12:unit"), "EA")


def _price(value: Decimal | None) -> str | None:
    return None if value is None else format(value.normalize(), "f")


def _refs(order: Order) -> dict[str, str]:
    return order.wholesale.partner_refs if order.wholesale else {}


def _po_number(order: Order) -> str:
    return order.wholesale.customer_po_number if order.wholesale else order.external_id


def _party(code: str, address: Address | None, location: str | None = None) -> list[Segment]:
    if address is None and location is None:
        return []
    name = clean((address.company if address else None) or location, 60)
    out = [seg("N1", code, name or None, "92" if location else None, location)]
    if address is not None:
        if address.address1:
            out.append(seg("N3", clean(address.address1, 55), clean(address.address2, 55) or None))
        if address.city:
            out.append(
                seg(
                    "N4",
                    clean(address.city, 30),
                    clean(address.state_or_province, 2) or None,
                    clean(address.zip_code_or_postal_code, 15) or None,
                    clean(address.country, 3) or None,
                )
            )
    return out


def po_acknowledgement(order: Order, decisions: list[LineDecision], at: datetime) -> list[Segment]:
    if all(d.status == "rejected" for d in decisions):
        kind = "RJ"
    elif all(d.status == "accepted" for d in decisions):
        kind = "AD"
    else:
        kind = "AC"
    body = [
        seg(
            "BAK",
            "00",
            kind,
            _po_number(order),
            _refs(order).get("po_date") or order.created_at.strftime("%Y%m%d"),
            None,
            None,
            None,
            None,
            at.strftime("%Y%m%d"),
        )
    ]
    for decision in decisions:
        line = order.line(decision.line_id)
        body.append(seg("PO1", line.id, decision.ordered, _unit(line), _price(line.unit_price), None, *_line_ids(line)))
        body.append(seg("ACK", ACK_CODES[decision.status], decision.accepted, _unit(line)))
    body.append(seg("CTT", len(decisions)))
    return body


@dataclass(frozen=True)
class Carton:
    sscc: str
    parcel: Shipment


def ship_notice(order: Order, shipment_id: str, cartons: list[Carton], at: datetime) -> list[Segment]:
    first = cartons[0].parcel
    shipped = first.shipped_at or at
    tracking = [n for c in cartons for n in c.parcel.tracking_numbers]
    body = [
        seg("BSN", "00", clean(shipment_id, 30), at.strftime("%Y%m%d"), at.strftime("%H%M"), "0001"),
        seg("DTM", "011", shipped.strftime("%Y%m%d")),
        seg("HL", 1, None, "S"),
        seg("TD1", "CTN25", len(cartons)),
        seg(
            "TD5",
            None,
            "2",
            clean(
                first.shipping_carrier or (order.wholesale.requested_carrier if order.wholesale else None) or "UNKN", 80
            ),
        ),
    ]
    body += [seg("REF", "CN", clean(n, 50)) for n in tracking[:1]]
    mark_for = order.wholesale.mark_for if order.wholesale else None
    body += _party("ST", order.shipping_address)
    body.append(seg("HL", 2, 1, "O"))
    body.append(seg("PRF", _po_number(order), None, None, _refs(order).get("po_date") or None))
    if mark_for is not None:
        body += _party("Z7", mark_for.address, mark_for.location_identifier)[:1]
    number = 2
    for carton in cartons:
        number += 1
        pack = number
        body.append(seg("HL", pack, 2, "P"))
        body.append(seg("MAN", "GM", carton.sscc))
        for item in carton.parcel.line_items:
            number += 1
            line = _order_line(order, item.line_id, item.sku)
            body.append(seg("HL", number, pack, "I"))
            body.append(seg("LIN", line.id, *_line_ids(line)))
            body.append(seg("SN1", None, item.quantity, _unit(line)))
    body.append(seg("CTT", number))
    return body


def _order_line(order: Order, line_id: str | None, sku: str) -> OrderLine:
    for line in order.line_items:
        if (line_id is not None and line.id == line_id) or (line_id is None and line.sku == sku):
            return line
    raise ValueError(f"shipped {sku} (line {line_id}) is not a line of order {order.id}")


def invoice(order: Order, invoice_number: str, parcels: list[Shipment], at: datetime) -> list[Segment]:
    shipped: dict[str, int] = {}
    for parcel in parcels:
        for item in parcel.line_items:
            line = _order_line(order, item.line_id, item.sku)
            shipped[line.id] = shipped.get(line.id, 0) + item.quantity
    refs = _refs(order)
    body = [
        seg("BIG", at.strftime("%Y%m%d"), clean(invoice_number, 22), refs.get("po_date") or None, _po_number(order))
    ]
    if order.currency and order.currency != "USD":
        body.append(seg("CUR", "SE", order.currency))
    body += _party("ST", order.shipping_address)
    terms = order.wholesale.payment_terms if order.wholesale else None
    if terms is not None:
        body.append(
            seg(
                "ITD",
                "05" if terms.discount_percent else "01",
                "3",
                _price(terms.discount_percent),
                None,
                terms.discount_days,
                None,
                terms.net_days,
                None,
                None,
                None,
                None,
                clean(terms.description or terms.code, 80),
            )
        )
    last = max((p.shipped_at for p in parcels if p.shipped_at), default=at)
    body.append(seg("DTM", "011", last.strftime("%Y%m%d")))
    total = Decimal(0)
    for line_id, quantity in shipped.items():
        line = order.line(line_id)
        price = line.unit_price or Decimal(0)
        total += price * quantity
        body.append(seg("IT1", line.id, quantity, _unit(line), _price(price), None, *_line_ids(line)))
    body.append(seg("TDS", int((total * 100).to_integral_value())))
    body.append(seg("CTT", len(shipped)))
    return body


# The 846's LIN loop repeats at most 10,000 times in a transaction set (X12 4010 and 5010).
ADVICE_LINES_PER_SET = 10_000


def inventory_advice(
    quantities: Mapping[str, int], report_type: str, report_number: str, at: datetime
) -> list[list[Segment]]:
    """The 846 sets (one per 10,000 SKUs, in SKU order) advising `quantities` available."""
    skus = sorted(quantities)
    sets = []
    for start in range(0, len(skus), ADVICE_LINES_PER_SET):
        chunk = skus[start : start + ADVICE_LINES_PER_SET]
        body = [seg("BIA", "00", report_type, clean(report_number, 30), at.strftime("%Y%m%d"), at.strftime("%H%M"))]
        for sku in chunk:
            body.append(seg("LIN", None, "VN", clean(sku, 48)))
            body.append(seg("QTY", "33", max(quantities[sku], 0), "EA"))
        body.append(seg("CTT", len(chunk)))
        sets.append(body)
    return sets
