"""The wholesale documents open as PDFs and hold what the warehouse and the buyer need: the
packing slip the PO number, every line and the carton count; one label per carton whose
GS1-128 symbol encodes AI (00) and an SSCC with a valid check digit (decoded back from the
drawn bars); the invoice the PO, the terms' due date, the shipped lines and the total."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime
from decimal import Decimal

from barcode.codex import Gs1_128
from pypdf import PdfReader

from orderloop.documents.cartons import plan_cartons
from orderloop.documents.pdf import invoice, sscc_text
from orderloop.documents.shipping import shipping_documents
from orderloop.documents.sscc import gs1_check_digit, is_valid_sscc
from orderloop.model import (
    Address,
    MarkFor,
    Order,
    OrderLine,
    OrderType,
    PaymentTerms,
    RequestLine,
    Shipment,
    ShipmentLine,
    ShippingRequest,
    WholesaleTerms,
)

PREFIX = "0614141"  # GS1's own example company prefix
AT = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)
TERMS = WholesaleTerms(
    customer_po_number="4500012345",
    buyer_account="acme-retail",
    payment_terms=PaymentTerms(
        code="NET30", net_days=30, discount_percent=Decimal(2), discount_days=10, description="2/10 net 30"
    ),
    mark_for=MarkFor(location_identifier="0457", name="Acme Store 457"),
)
ADDRESS = Address(company="Acme DC East", address1="1 Distribution Way", city="Columbus", country="US")


def request() -> ShippingRequest:
    return ShippingRequest(
        id="order/b2b/B2B-10001/sr1",
        idempotency_key="k",
        order_id="order/b2b/B2B-10001",
        channel_id="b2b",
        external_order_id="B2B-10001",
        fulfillment_channel_id="wms",
        location_id="east",
        line_items=[
            RequestLine(line_id="1", sku="TSHIRT-BLK-M", quantity=24, case_pack=6),
            RequestLine(line_id="2", sku="MUG-11OZ", quantity=36, case_pack=12),
            RequestLine(line_id="3", sku="POSTER", quantity=5),
        ],
        shipping_address=ADDRESS,
        created_at=AT,
        wholesale=TERMS,
    )


def text_of(pdf: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages]


def test_cartons_are_one_per_case_and_one_for_the_loose_units() -> None:
    cartons = plan_cartons(request(), PREFIX)

    assert [c.contents for c in cartons] == [
        *[(("1", "TSHIRT-BLK-M", 6),)] * 4,
        *[(("2", "MUG-11OZ", 12),)] * 3,
        (("3", "POSTER", 5),),
    ]
    assert len({c.sscc for c in cartons}) == 8
    assert plan_cartons(request(), PREFIX) == cartons, "a re-sent request keeps its SSCCs"


def test_the_packing_slip_opens_and_holds_the_po_the_lines_and_the_carton_count() -> None:
    slip, _ = shipping_documents(request(), PREFIX)

    assert slip.kind == "packing_slip" and slip.content.startswith(b"%PDF-")
    text = "\n".join(text_of(slip.content))
    assert "PO 4500012345" in text
    assert "Cartons: 8" in text
    assert "Mark for 0457 Acme Store 457" in text
    for sku, units in (("TSHIRT-BLK-M", "24"), ("MUG-11OZ", "36"), ("POSTER", "5")):
        assert re.search(rf"{sku}\s*{units}", text), f"{sku} x {units} not on the slip"
    assert all(code in text for code in slip.ssccs)


def test_each_carton_label_carries_a_valid_sscc_as_gs1_128() -> None:
    _, labels = shipping_documents(request(), PREFIX)

    pages = text_of(labels.content)
    assert len(pages) == len(labels.ssccs) == 8
    for n, (page, code) in enumerate(zip(pages, labels.ssccs, strict=True), start=1):
        assert is_valid_sscc(code)
        assert gs1_check_digit(code[:17]) == int(code[17])
        assert code.startswith("0" + PREFIX)
        assert sscc_text(code) in page
        assert f"Carton {n} of 8" in page and "PO 4500012345" in page


def test_the_label_symbol_encodes_fnc1_ai_00_and_the_sscc() -> None:
    """Decode the bar pattern python-barcode gives for the label back to Code 128 symbols: start
    C, FNC1 (GS1-128), then the digit pairs of 00 + SSCC, the mod-103 check, stop."""
    code = plan_cartons(request(), PREFIX)[0].sscc
    [pattern] = Gs1_128("00" + code).build()
    symbols = _code128_symbols(pattern)

    assert symbols[0] == 105 and symbols[1] == 102  # START C, FNC1
    pairs = symbols[2:-2]
    assert "".join(f"{v:02d}" for v in pairs) == "00" + code
    weighted = symbols[0] + sum(i * v for i, v in enumerate(symbols[1:-2], start=1))
    assert weighted % 103 == symbols[-2]


def test_the_invoice_holds_the_po_the_due_date_the_lines_and_the_total() -> None:
    order = Order(
        id="order/b2b/B2B-10001",
        external_id="B2B-10001",
        tenant_id="brand",
        created_at=AT,
        updated_at=AT,
        channel_id="b2b",
        order_type=OrderType.WHOLESALE,
        currency="USD",
        line_items=[
            OrderLine(id="1", sku="TSHIRT-BLK-M", quantity=24, unit_price=Decimal("9.75")),
            OrderLine(id="2", sku="MUG-11OZ", quantity=36, unit_price=Decimal("4.20")),
        ],
        billing_address=ADDRESS,
        wholesale=TERMS,
    )
    shipment = Shipment(
        id="S1",
        shipping_request_id="order/b2b/B2B-10001/sr1",
        line_items=[ShipmentLine(sku="TSHIRT-BLK-M", quantity=24, line_id="1")],
        tracking_numbers=["1Z0001"],
    )

    text = "\n".join(text_of(invoice(order, shipment, "INV-B2B-10001-1", AT)))

    assert "INVOICE INV-B2B-10001-1" in text and "PO 4500012345" in text
    assert "Due 2027-01-06" in text and "2% discount if paid by 2026-12-17" in text
    assert re.search(r"TSHIRT-BLK-M\s*24\s*9\.75\s*234\.00", text)
    assert "MUG-11OZ" not in text, "only what this shipment shipped is invoiced"
    assert "Total 234.00 USD" in text


def test_an_order_without_wholesale_terms_gets_no_documents() -> None:
    assert shipping_documents(request().model_copy(update={"wholesale": None}), PREFIX) == []


def _code128_symbols(pattern: str) -> list[int]:
    """The Code 128 symbol values of a bar pattern (python-barcode's tables: ISO/IEC 15417
    table 1), the stop symbol (106) and its termination bar last."""
    from barcode.charsets import code128

    table = {bars: value for value, bars in enumerate(code128.CODES)}
    stop = code128.STOP + "11"
    assert pattern.endswith(stop)
    body = pattern[: -len(stop)]
    assert len(body) % 11 == 0
    return [table[body[i : i + 11]] for i in range(0, len(body), 11)] + [106]
