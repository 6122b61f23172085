"""Portal orders map to wholesale orders: every wholesale field of the fixture (shaped like the
portal's order) lands in `WholesaleTerms`, the export validates against the onX order schema
and carries the terms as onX's custom fields, and a payload that cannot be a wholesale order is
refused with the reason."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from connectors.b2b.mapping import (
    AccountShare,
    account_quantities,
    account_shares,
    acknowledgement_body,
    fulfillment_body,
    map_order,
)
from connectors.base import MappingError
from orderloop.model import LineDecision, Order, OrderType, Shipment, ShipmentLine
from orderloop.wholesale import case_pack_violations
from tests.connectors.b2b.conftest import RECEIVED_AT, TENANT, payload, portal_order

SCHEMA = Path(__file__).resolve().parents[2] / "onx" / "schemas" / "order.json"


def mapped(raw: dict[str, Any]) -> Order:
    return map_order(raw, order_id="order/b2b/B2B-10001", tenant_id=TENANT, channel_id="b2b", received_at=RECEIVED_AT)


def test_a_portal_order_maps_to_a_wholesale_order_with_its_terms() -> None:
    order = mapped(payload())

    assert order.order_type is OrderType.WHOLESALE
    terms = order.wholesale
    assert terms is not None
    assert (terms.customer_po_number, terms.buyer_account) == ("4500012345", "acme-retail")
    assert terms.payment_terms is not None
    assert (terms.payment_terms.code, terms.payment_terms.net_days) == ("NET30", 30)
    assert (terms.payment_terms.discount_percent, terms.payment_terms.discount_days) == (Decimal(2), 10)
    assert terms.ship_after_date == datetime(2026, 12, 7, tzinfo=UTC)
    assert terms.ship_cancel_by_date == datetime(2026, 12, 21, tzinfo=UTC)
    assert terms.ship_complete is True
    assert terms.mark_for is not None and terms.mark_for.location_identifier == "0457"
    assert terms.mark_for.address is not None and terms.mark_for.address.city == "Columbus"
    assert terms.routing_instructions == "Call DC receiving 24h ahead; pallets max 60in"
    assert order.shipping_carrier == "UPS Freight"
    assert terms.partner_refs == {"accountId": "acme-retail", "accountName": "Acme Retail Inc."}
    assert [(line.sku, line.quantity, line.case_pack) for line in order.line_items] == [
        ("TSHIRT-BLK-M", 24, 6),
        ("MUG-11OZ", 36, 12),
    ]
    assert case_pack_violations(order) == []


def test_the_webhook_envelope_maps_as_the_order_it_carries() -> None:
    envelope = {"type": "order.created", "timestamp": "2026-11-30T14:05:01Z", "data": payload()}

    assert mapped(envelope) == mapped(payload())


def test_the_export_validates_against_onx_and_carries_the_terms_as_custom_fields() -> None:
    onx = mapped(payload()).to_onx()

    schema = json.loads(SCHEMA.read_text())
    jsonschema.Draft7Validator(schema, format_checker=jsonschema.FormatChecker()).validate(onx)
    fields = {f["name"]: f["value"] for f in onx["customFields"]}
    assert fields["customerPONumber"] == "4500012345"
    assert fields["paymentTerms"] == "NET30"
    assert fields["markforLocationIdentifier"] == "0457"
    assert fields["shipCancelByDate"].startswith("2026-12-21")


def test_a_line_off_its_case_pack_maps_and_is_named_by_the_check() -> None:
    raw = payload()
    raw["lineItems"][1]["quantity"] = 30

    order = mapped(raw)

    assert case_pack_violations(order) == ["line 2 (MUG-11OZ) orders 30, not a multiple of its case pack of 12"]


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"customerPONumber": None}, "customerPONumber is missing"),
        ({"account": None}, "account.id is missing"),
        ({"shipAfterDate": "next tuesday"}, "shipAfterDate must be an ISO 8601 date-time"),
        ({"shipCancelByDate": "2026-12-01T00:00:00Z"}, "is not after shipAfterDate"),
        ({"shipComplete": "yes"}, "shipComplete must be a boolean"),
        ({"markforAddress": {"name": "no number"}}, "markforAddress.locationIdentifier is missing"),
        ({"paymentTerms": {"netDays": 30}}, "paymentTerms.code"),
    ],
)
def test_a_payload_that_is_no_wholesale_order_is_refused_with_the_reason(change: dict[str, Any], reason: str) -> None:
    with pytest.raises(MappingError, match=reason):
        mapped(portal_order("B2B-10001", **change))


def test_a_case_pack_that_is_not_a_positive_integer_is_refused() -> None:
    raw = payload()
    raw["lineItems"][0]["casePack"] = 0

    with pytest.raises(MappingError, match="line 1: casePack must be a positive integer"):
        mapped(raw)


def test_fulfillment_and_acknowledgement_quote_the_po_number() -> None:
    order = mapped(payload())
    shipment = Shipment(
        id="S1",
        shipping_request_id="order/b2b/B2B-10001/sr1",
        line_items=[ShipmentLine(sku="TSHIRT-BLK-M", quantity=24, line_id="1")],
        tracking_numbers=["1Z999"],
        shipping_carrier="UPS",
    )
    decisions = [
        LineDecision(line_id="1", sku="TSHIRT-BLK-M", ordered=24, accepted=24, status="accepted"),
        LineDecision(line_id="2", sku="MUG-11OZ", ordered=36, accepted=24, status="changed", reason="24 of 36"),
    ]

    assert fulfillment_body(order, shipment)["customerPONumber"] == "4500012345"
    assert acknowledgement_body(order, decisions) == {
        "customerPONumber": "4500012345",
        "lineItems": [
            {"lineId": "1", "sku": "TSHIRT-BLK-M", "ordered": 24, "accepted": 24, "status": "accepted"},
            {
                "lineId": "2",
                "sku": "MUG-11OZ",
                "ordered": 36,
                "accepted": 24,
                "status": "changed",
                "reason": "24 of 36",
            },
        ],
    }


def test_each_account_sees_its_share_of_the_stock_less_its_buffer() -> None:
    shares = account_shares({"accounts": {"acme-retail": {"buffer": 2, "share": 50}, "corner-shop": None}})

    assert account_quantities({"TEE": 25, "MUG": 3}, shares["acme-retail"]) == {"MUG": 0, "TEE": 10}
    assert account_quantities({"TEE": 25, "MUG": 3}, shares["corner-shop"]) == {"MUG": 3, "TEE": 25}
    assert shares["corner-shop"] == AccountShare()


def test_a_bad_account_setting_names_the_account() -> None:
    with pytest.raises(MappingError, match=r"settings\.accounts\.acme"):
        account_shares({"accounts": {"acme": {"share": 150}}})
