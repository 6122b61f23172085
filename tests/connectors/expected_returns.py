"""What a fulfillment connector without a returns role answers (`connectors.base`'s defaults):
`supports_returns` False, `create_return` refused with `ReturnsNotSupported`, and the return
workflow's activity told the role is missing rather than failing, so the return waits for an
operator's receipt."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from activities.returns import ReturnCalls
from connectors.base import FulfillmentConnector, ReturnsNotSupported
from orderloop.returns_model import ExpectedReturn, ReturnLine


def expected_return(fulfillment_channel_id: str, location_id: str) -> ExpectedReturn:
    return ExpectedReturn(
        return_id="return/storefront/R-1001",
        order_id="order/storefront/1001",
        external_order_id="1001",
        channel_id="storefront",
        fulfillment_channel_id=fulfillment_channel_id,
        location_id=location_id,
        lines=[ReturnLine(id="r1", order_line_item_id="L1", sku="TSHIRT-BLK-M", quantity_returned=1)],
        created_at=datetime(2026, 12, 1, tzinfo=UTC),
    )


async def assert_returns_not_carried(connector: FulfillmentConnector, location_id: str) -> None:
    expected = expected_return(connector.channel.id, location_id)
    assert connector.supports_returns is False
    with pytest.raises(ReturnsNotSupported, match=f"channel {connector.channel.id!r} does not support returns"):
        await connector.create_return(expected)
    assert await connector.fetch_return_receipt(expected.return_id, None) is None
    answer = await ReturnCalls({connector.channel.id: connector}).create_expected_return(expected)
    assert answer.supported is False and answer.vendor_id is None
