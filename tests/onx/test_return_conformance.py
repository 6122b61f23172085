"""What Orderloop exports for returns validates against the onX return schemas."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import jsonschema
import pytest

from orderloop.returns_model import (
    ExchangeLine,
    ReturnLabel,
    ReturnLine,
    ReturnOutcome,
    ReturnRequest,
)
from tests.onx.test_conformance import validate

AT = datetime(2026, 11, 30, 14, 5, 9, 250000, tzinfo=UTC)


def a_return(**changes: object) -> ReturnRequest:
    fields: dict[str, object] = {
        "id": "return/storefront/R-1",
        "external_id": "R-1",
        "channel_id": "storefront",
        "tenant_id": "demo-brand",
        "order_id": "order/storefront/1001",
        "external_order_id": "1001",
        "created_at": AT,
        "updated_at": AT,
        "return_number": "RET-1",
        "return_line_items": [
            ReturnLine(
                id="r1",
                order_line_item_id="1",
                sku="TSHIRT-BLK-M",
                quantity_returned=2,
                return_reason="size_issue",
                unit_price=Decimal("19.50"),
            )
        ],
    }
    fields.update(changes)
    return ReturnRequest.model_validate(fields)


def test_exported_return_validates_against_onx_return_schema() -> None:
    document = a_return().to_onx()
    validate(document, "return")
    assert document["orderId"] == "order/storefront/1001"
    assert document["outcome"] == "refund"
    assert document["totalQuantity"] == 2
    assert document["createdAt"] == "2026-11-30T14:05:09.250000Z"
    assert "channelId" not in document and "externalOrderId" not in document


def test_an_exchange_with_a_label_validates() -> None:
    document = a_return(
        outcome=ReturnOutcome.EXCHANGE,
        exchange_line_items=[ExchangeLine(sku="TSHIRT-BLK-L", quantity=2)],
        labels=[ReturnLabel(carrier="UPS", tracking_number="1Z999", url="https://labels.example/1Z999", created_at=AT)],
    ).to_onx()
    validate(document, "return")
    assert document["exchangeLineItems"] == [{"sku": "TSHIRT-BLK-L", "quantity": 2}]
    assert document["labels"][0]["createdAt"].endswith("Z")


def test_each_exported_line_validates_against_onx_return_item_schema() -> None:
    for line in a_return().to_onx()["returnLineItems"]:
        validate(line, "return-item")


def test_the_schema_refuses_a_return_without_lines() -> None:
    document = a_return().to_onx()
    document["returnLineItems"][0].pop("sku")
    with pytest.raises(jsonschema.ValidationError, match="'sku' is a required property"):
        validate(document, "return")
