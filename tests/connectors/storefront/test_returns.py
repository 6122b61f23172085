"""The storefront's returns role against its sandbox: a customer's return request arrives as a
signed `return.requested` (an onX return the connector maps), its shipping back as
`return.in_transit` with the label, and Orderloop's "return received" is recorded once per key."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from connectors.base import InboundKind, MappingError
from connectors.storefront import StorefrontConnector
from orderloop.returns_model import ReceivedUnits, ReturnCondition, ReturnOutcome, ReturnProgressKind, ReturnReceipt
from tests.connectors.storefront.conftest import Storefront, WebhookReceiver

AT = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
REQUEST = {
    "externalId": "R-9",
    "orderId": "SF-1001",
    "outcome": "exchange",
    "returnLineItems": [
        {"id": "r1", "orderLineItemId": "1", "sku": "TSHIRT-BLK-M", "quantityReturned": 2, "returnReason": "size"}
    ],
    "exchangeLineItems": [{"sku": "TSHIRT-BLK-L", "quantity": 2}],
}


async def test_a_return_request_is_delivered_mapped_and_told_it_was_received_once(
    storefront: Storefront, receiver: WebhookReceiver
) -> None:
    asked = await storefront.http.post("/_sandbox/returns", json=REQUEST)
    assert asked.status_code == 202, asked.text
    await storefront.http.post("/_sandbox/returns/R-9/ship", json={"carrier": "USPS", "trackingNumber": "9400"})
    await storefront.webhooks_sent()
    assert receiver.topics() == ["return.requested", "return.in_transit"]
    connector = storefront.connector
    requested, shipped = (connector.parse_webhook(d.headers, d.body) for d in receiver.received)
    assert requested.kind is InboundKind.RETURN_REQUESTED
    assert (requested.external_return_id, requested.external_order_id) == ("R-9", "SF-1001")
    assert shipped.kind is InboundKind.RETURN_PROGRESS and shipped.return_progress is not None
    assert shipped.return_progress.return_id == "return/storefront/R-9"
    assert shipped.return_progress.kind is ReturnProgressKind.IN_TRANSIT
    assert shipped.return_progress.label is not None and shipped.return_progress.label.tracking_number == "9400"

    request = connector.map_return(
        requested.payload,
        return_id="return/storefront/R-9",
        tenant_id="t",
        order_id="order/storefront/SF-1001",
        received_at=AT,
    )
    assert request.outcome is ReturnOutcome.EXCHANGE and request.is_exchange
    assert request.quantities() == {"TSHIRT-BLK-M": 2}
    receipt = ReturnReceipt(
        return_id=request.id,
        lines=[
            ReceivedUnits(sku="TSHIRT-BLK-M", quantity=1, condition=ReturnCondition.SELLABLE),
            ReceivedUnits(sku="TSHIRT-BLK-M", quantity=1, condition=ReturnCondition.DAMAGED),
        ],
        received_at=AT,
    )
    first = await connector.push_return_received(request, receipt)
    again = await connector.push_return_received(request, receipt)
    assert first is not None and again == first
    [stored] = (await storefront.http.get("/_sandbox/returns")).json()
    assert stored["status"] == "received" and len(stored["receivedNotices"]) == 1
    conditions = [i["inspection"]["conditionCategory"] for i in stored["receivedNotices"][0]["body"]["returnLineItems"]]
    assert conditions == ["sellable", "damaged"]


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"orderId": None}, "orderId (the channel's order id) is missing"),
        ({"returnLineItems": []}, "returnLineItems must be a non-empty array"),
        ({"outcome": "voucher"}, "outcome 'voucher' is not one of refund, exchange, store_credit"),
        (
            {"returnLineItems": [{"orderLineItemId": "1", "sku": "A", "quantityReturned": 0}]},
            "returnLineItems[0].quantityReturned must be a positive integer, got 0",
        ),
    ],
)
def test_a_return_the_mapping_cannot_read_says_why(
    storefront: Storefront, change: dict[str, object], reason: str
) -> None:
    connector: StorefrontConnector = storefront.connector
    with pytest.raises(MappingError) as error:
        connector.map_return(
            {**REQUEST, **change}, return_id="return/storefront/R-9", tenant_id="t", order_id="o", received_at=AT
        )
    assert str(error.value) == reason
