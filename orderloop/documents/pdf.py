"""The wholesale documents as PDF, drawn with ReportLab's canvas: the packing slip (what the
warehouse packs, carton by carton), the GS1-128 carton labels (one 4 x 6 in page per carton,
the SSCC as AI (00) in a GS1-128 symbol; the bars come from python-barcode's `Gs1_128`, which
encodes FNC1 and the Code 128 set C pairs) and the invoice for a portal buyer. Each document
is deterministic for its inputs apart from ReportLab's creation date, which is fixed to the
document's own date (`invariant`), so a retry renders the same bytes."""

from __future__ import annotations

import io
from collections.abc import Iterable
from datetime import datetime, timedelta
from decimal import Decimal

from barcode.codex import Gs1_128
from reportlab.lib.pagesizes import LETTER, inch
from reportlab.pdfgen.canvas import Canvas

from orderloop.documents.cartons import Carton
from orderloop.model import Address, Order, Shipment, ShippingRequest, WholesaleTerms

LABEL_SIZE = (4 * inch, 6 * inch)
# Narrowest bar of the GS1-128 symbol: 0.0125 in (GS1's minimum X-dimension for logistics
# labels is 0.495 mm; this is 0.3175 mm x 1.6 = ~0.5 mm with the 1.6 scale below).
MODULE = 0.0125 * inch * 1.6
BAR_HEIGHT = 1.25 * inch


def _canvas(buffer: io.BytesIO, title: str, size: tuple[float, float], at: datetime) -> Canvas:
    canvas = Canvas(buffer, pagesize=size, invariant=True, pageCompression=0)
    canvas.setTitle(title)
    canvas.setCreator("Orderloop")
    canvas.setSubject(f"issued {at:%Y-%m-%d}")
    return canvas


def _address_lines(address: Address | None) -> list[str]:
    if address is None:
        return []
    name = " ".join(p for p in (address.first_name, address.last_name) if p)
    city = " ".join(p for p in (address.city, address.state_or_province, address.zip_code_or_postal_code) if p)
    return [line for line in (address.company, name, address.address1, address.address2, city, address.country) if line]


def sscc_text(code: str) -> str:
    """The human-readable line under the symbol: (00) and the 18 digits."""
    return f"(00) {code[0]} {code[1:8]} {code[8:17]} {code[17]}"


def draw_gs1_128(canvas: Canvas, data: str, x: float, y: float) -> float:
    """Draw the GS1-128 symbol of `data` (AIs and values, e.g. "00" + SSCC) at (x, y); its width."""
    [pattern] = Gs1_128(data).build()
    run_start, width = None, len(pattern) * MODULE
    for i, module in enumerate(pattern + "0"):
        if module == "1" and run_start is None:
            run_start = i
        elif module != "1" and run_start is not None:
            canvas.rect(x + run_start * MODULE, y, (i - run_start) * MODULE, BAR_HEIGHT, stroke=0, fill=1)
            run_start = None
    return width


def _terms(terms: WholesaleTerms | None) -> list[str]:
    if terms is None:
        return []
    lines = [f"PO {terms.customer_po_number}", f"Buyer account {terms.buyer_account}"]
    if terms.mark_for is not None:
        mark = terms.mark_for
        lines.append(f"Mark for {mark.location_identifier}" + (f" {mark.name}" if mark.name else ""))
    if terms.routing_instructions:
        lines.append(f"Routing: {terms.routing_instructions}")
    return lines


def carton_labels(request: ShippingRequest, cartons: list[Carton]) -> bytes:
    """One 4 x 6 in label per carton: ship to, PO and mark-for, carton n of N, the SSCC."""
    buffer = io.BytesIO()
    canvas = _canvas(buffer, f"Carton labels {request.id}", LABEL_SIZE, request.created_at)
    width, height = LABEL_SIZE
    for carton in cartons:
        y = height - 0.4 * inch
        canvas.setFont("Helvetica-Bold", 9)
        canvas.drawString(0.25 * inch, y, f"SHIP FROM location {request.location_id}")
        y -= 0.25 * inch
        canvas.drawString(0.25 * inch, y, "SHIP TO")
        canvas.setFont("Helvetica", 9)
        for line in _address_lines(request.shipping_address):
            y -= 0.16 * inch
            canvas.drawString(0.35 * inch, y, line)
        y -= 0.3 * inch
        canvas.setFont("Helvetica-Bold", 10)
        for line in _terms(request.wholesale)[:3]:
            canvas.drawString(0.25 * inch, y, line)
            y -= 0.2 * inch
        canvas.drawString(0.25 * inch, y, f"Carton {carton.number} of {len(cartons)}")
        y -= 0.2 * inch
        canvas.setFont("Helvetica", 9)
        for _, sku, units in carton.contents[:4]:
            canvas.drawString(0.35 * inch, y, f"{sku} x {units}")
            y -= 0.16 * inch
        canvas.setFont("Helvetica-Bold", 9)
        canvas.drawString(0.25 * inch, 2.05 * inch, "SSCC")
        draw_gs1_128(canvas, "00" + carton.sscc, 0.25 * inch, 0.7 * inch)
        canvas.setFont("Helvetica", 11)
        canvas.drawCentredString(width / 2, 0.4 * inch, sscc_text(carton.sscc))
        canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def _table(canvas: Canvas, rows: Iterable[tuple[str, ...]], columns: tuple[float, ...], y: float) -> float:
    for row in rows:
        for x, cell in zip(columns, row, strict=True):
            canvas.drawString(x, y, cell)
        y -= 0.22 * inch
        if y < inch:
            canvas.showPage()
            canvas.setFont("Helvetica", 10)
            y = LETTER[1] - inch
    return y


def packing_slip(request: ShippingRequest, cartons: list[Carton]) -> bytes:
    """The packing slip: the order and PO, ship to, each line with its units and case pack,
    then each carton with its SSCC and contents, and the carton count."""
    buffer = io.BytesIO()
    canvas = _canvas(buffer, f"Packing slip {request.id}", LETTER, request.created_at)
    y = LETTER[1] - inch
    canvas.setFont("Helvetica-Bold", 16)
    canvas.drawString(inch, y, "PACKING SLIP")
    canvas.setFont("Helvetica", 10)
    header = [
        f"Order {request.external_order_id} ({request.channel_id})",
        f"Shipping request {request.id}",
        f"Ship from location {request.location_id}",
        *_terms(request.wholesale),
        f"Cartons: {len(cartons)}",
    ]
    for line in header:
        y -= 0.22 * inch
        canvas.drawString(inch, y, line)
    y -= 0.35 * inch
    canvas.drawString(inch, y, "Ship to: " + ", ".join(_address_lines(request.shipping_address)))
    y -= 0.45 * inch
    canvas.setFont("Helvetica-Bold", 10)
    columns = (inch, 2 * inch, 4.5 * inch, 5.7 * inch)
    y = _table(canvas, [("Line", "SKU", "Units", "Case pack")], columns, y)
    canvas.setFont("Helvetica", 10)
    rows = [(line.line_id, line.sku, str(line.quantity), str(line.case_pack or "-")) for line in request.line_items]
    y = _table(canvas, rows, columns, y) - 0.25 * inch
    canvas.setFont("Helvetica-Bold", 10)
    carton_columns = (*columns[:3], 6.9 * inch)
    y = _table(canvas, [("Carton", "SSCC", "Contents", "")], carton_columns, y)
    canvas.setFont("Helvetica", 10)
    carton_rows = [
        (str(c.number), c.sscc, ", ".join(f"{sku} x {units}" for _, sku, units in c.contents), "") for c in cartons
    ]
    _table(canvas, carton_rows, carton_columns, y)
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def _money(amount: Decimal, currency: str | None) -> str:
    return f"{amount:,.2f} {currency or ''}".strip()


def invoice(order: Order, shipment: Shipment, number: str, issued_at: datetime) -> bytes:
    """The invoice of one shipment for a portal buyer: bill to, PO and payment terms with the
    due date (and the early-payment discount), each shipped line at its unit price, the total."""
    terms = order.wholesale
    buffer = io.BytesIO()
    canvas = _canvas(buffer, f"Invoice {number}", LETTER, issued_at)
    y = LETTER[1] - inch
    canvas.setFont("Helvetica-Bold", 16)
    canvas.drawString(inch, y, f"INVOICE {number}")
    canvas.setFont("Helvetica", 10)
    header = [f"Issued {issued_at:%Y-%m-%d}", f"Order {order.external_id}", *_terms(terms)]
    payment = terms.payment_terms if terms is not None else None
    if payment is not None:
        header.append(f"Terms {payment.code}" + (f" ({payment.description})" if payment.description else ""))
        if payment.net_days is not None:
            header.append(f"Due {issued_at + timedelta(days=payment.net_days):%Y-%m-%d}")
        if payment.discount_percent and payment.discount_days is not None:
            header.append(
                f"{payment.discount_percent}% discount if paid by "
                f"{issued_at + timedelta(days=payment.discount_days):%Y-%m-%d}"
            )
    header.append("Bill to: " + ", ".join(_address_lines(order.billing_address or order.shipping_address)))
    header.append(f"Shipped {', '.join(shipment.tracking_numbers) or shipment.id}")
    for line in header:
        y -= 0.22 * inch
        canvas.drawString(inch, y, line)
    y -= 0.45 * inch
    columns = (inch, 3.2 * inch, 4.2 * inch, 5.6 * inch)
    canvas.setFont("Helvetica-Bold", 10)
    y = _table(canvas, [("SKU", "Units", "Unit price", "Amount")], columns, y)
    canvas.setFont("Helvetica", 10)
    prices = {line.id: line.unit_price for line in order.line_items}
    by_sku = {line.sku: line.unit_price for line in order.line_items}
    total, rows = Decimal(0), []
    for item in shipment.line_items:
        price = prices.get(item.line_id or "") or by_sku.get(item.sku) or Decimal(0)
        amount = price * item.quantity
        total += amount
        rows.append((item.sku, str(item.quantity), _money(price, None), _money(amount, None)))
    y = _table(canvas, rows, columns, y) - 0.2 * inch
    canvas.setFont("Helvetica-Bold", 11)
    canvas.drawString(columns[2], y, f"Total {_money(total, order.currency)}")
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()
