"""What Orderloop exports for orders and fulfillments validates against the onX schemas."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from orderloop.model import (
    Address,
    Customer,
    MarkFor,
    Order,
    OrderLine,
    OrderType,
    PaymentTerms,
    Shipment,
    ShipmentLine,
    WholesaleTerms,
)

SCHEMAS = Path(__file__).resolve().parent / "schemas"


def schema(name: str) -> dict[str, Any]:
    return json.loads((SCHEMAS / f"{name}.json").read_text())


def validate(document: dict[str, Any], name: str) -> None:
    jsonschema.Draft7Validator(schema(name), format_checker=jsonschema.FormatChecker()).validate(document)


def full_order() -> Order:
    at = datetime(2026, 11, 23, 9, 30, 15, 120000, tzinfo=UTC)
    address = Address(
        first_name="Ada",
        last_name="Lovelace",
        address1="1 Main St",
        address2="Apt 4B",
        city="Springfield",
        state_or_province="IL",
        zip_code_or_postal_code="62701",
        country="US",
        email="ada@example.com",
        phone="+1-555-123-4567",
    )
    return Order(
        id="order/storefront/1001",
        external_id="1001",
        tenant_id="demo-brand",
        created_at=at,
        updated_at=at,
        channel_id="storefront",
        order_type=OrderType.WHOLESALE,
        name="#1001",
        currency="USD",
        customer=Customer(external_id="c-9", email="ada@example.com", first_name="Ada", last_name="Lovelace"),
        line_items=[
            OrderLine(id="1", sku="TSHIRT-BLK-M", quantity=2, unit_price=Decimal("19.50"), name="T-shirt"),
            OrderLine(id="2", external_id="li-2", sku="MUG-11OZ", quantity=1, unit_price=Decimal("9")),
        ],
        shipping_address=address,
        billing_address=address,
        shipping_code="express",
        total_price=Decimal("48.00"),
        tags=["vip"],
    )


def test_exported_order_validates_against_onx_order_schema() -> None:
    document = full_order().to_onx()
    validate(document, "order")
    assert document["externalId"] == "1001"
    assert document["lineItems"][0] == {
        "id": "1",
        "sku": "TSHIRT-BLK-M",
        "quantity": 2,
        "unitPrice": 19.5,
        "name": "T-shirt",
        "customFields": [],
    }
    assert "orderType" not in document and "channelId" not in document
    assert document["orderSource"] == "storefront"


def test_minimal_order_validates() -> None:
    at = datetime(2026, 1, 1, tzinfo=UTC)
    order = Order(
        id="o1",
        external_id="1",
        tenant_id="t",
        created_at=at,
        updated_at=at,
        channel_id="c",
        line_items=[OrderLine(id="1", sku="A", quantity=1)],
    )
    validate(order.to_onx(), "order")


def test_exported_fulfillment_validates_against_onx_fulfillment_schema() -> None:
    shipment = Shipment(
        id="order/storefront/1001/sr1/ship1",
        shipping_request_id="order/storefront/1001/sr1",
        location_id="east",
        line_items=[ShipmentLine(sku="TSHIRT-BLK-M", quantity=2, line_id="1")],
        tracking_numbers=["1Z999AA10123456784"],
        shipping_carrier="UPS",
        tracking_url="https://www.ups.com/track?tracknum=1Z999AA10123456784",
        shipped_at=datetime(2026, 11, 23, 12, 0, tzinfo=UTC),
    )
    document = shipment.to_onx_fulfillment("demo-brand", "1001")
    validate(document, "fulfillment")
    assert document["trackingNumbers"] == ["1Z999AA10123456784"]
    assert document["customFields"] == [{"name": "trackingUrl", "value": shipment.tracking_url}]


def test_the_conformance_check_rejects_a_non_onx_document() -> None:
    document = full_order().to_onx()
    document["channelId"] = "storefront"
    with pytest.raises(jsonschema.ValidationError):
        validate(document, "order")


def test_onx_order_json_round_trips_into_the_model() -> None:
    document = full_order().to_onx()
    again = Order.model_validate({**document, "channelId": "storefront", "orderType": "wholesale"})
    assert again.line_items[0].unit_price == Decimal("19.5")
    assert again.shipping_address is not None and again.shipping_address.zip_code_or_postal_code == "62701"


def test_a_wholesale_order_exports_its_terms_and_ship_window_as_onx() -> None:
    at = datetime(2026, 12, 1, tzinfo=UTC)
    order = full_order().model_copy(
        update={
            "wholesale": WholesaleTerms(
                customer_po_number="PO-4471",
                buyer_account="acme-retail",
                payment_terms=PaymentTerms(code="NET30", net_days=30, discount_percent=Decimal("2"), discount_days=10),
                ship_after_date=at,
                ship_cancel_by_date=datetime(2026, 12, 15, tzinfo=UTC),
                mark_for=MarkFor(location_identifier="DC-0042", name="Acme DC 42"),
            )
        }
    )
    document = order.to_onx()
    validate(document, "order")
    fields = {f["name"]: f["value"] for f in document["customFields"]}
    assert fields == {
        "customerPONumber": "PO-4471",
        "buyerAccount": "acme-retail",
        "paymentTerms": "NET30",
        "shipAfterDate": at.isoformat(),
        "shipCancelByDate": "2026-12-15T00:00:00+00:00",
        "markforLocationIdentifier": "DC-0042",
    }
    assert "wholesale" not in document and "paymentTerms" not in document


def test_a_case_pack_is_positive_and_stays_out_of_the_onx_export() -> None:
    line = OrderLine(id="1", sku="MUG-11OZ", quantity=12, case_pack=6)
    assert "casePack" not in line.to_onx()
    with pytest.raises(ValueError):
        OrderLine(id="1", sku="MUG-11OZ", quantity=12, case_pack=0)
