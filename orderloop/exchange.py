"""An exchange's replacement order: an onX order document built from the returned order (its
customer and shipping address) and the exchange lines, started through the order intake like any
order of the channel, under an id derived from the return (`exchange-<return id>`), so a retried
start starts one order.

The document carries `orderloopExchangeFor` (the return workflow id): the ingest step maps such a
payload itself instead of asking the channel's connector, whose format it is not in. The order
names its return in its custom fields, and the return view names the order: linked both ways."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from orderloop.contracts.returns import exchange_order_external_id
from orderloop.model import CustomField, Order, OrderLine
from orderloop.returns_model import ReturnRequest

EXCHANGE_MARKER = "orderloopExchangeFor"
EXCHANGE_TAG = "exchange"


def exchange_payload(original: Order, request: ReturnRequest, return_workflow_id: str, now: datetime) -> dict[str, Any]:
    external_id = exchange_order_external_id(request.external_id)
    order = Order(
        id=f"exchange/{return_workflow_id}",
        external_id=external_id,
        tenant_id=original.tenant_id,
        created_at=now,
        updated_at=now,
        channel_id=original.channel_id,
        name=f"Exchange for {request.return_number or request.external_id}",
        currency=original.currency,
        customer=original.customer,
        line_items=[
            OrderLine(id=str(i), sku=line.sku, quantity=line.quantity, unit_price=line.unit_price, name=line.name)
            for i, line in enumerate(request.exchange_line_items, 1)
        ],
        shipping_address=original.shipping_address,
        billing_address=original.billing_address,
        shipping_code=original.shipping_code,
        tags=[EXCHANGE_TAG],
        custom_fields=[
            CustomField(name="exchangeForReturn", value=return_workflow_id),
            CustomField(name="exchangeForOrder", value=original.id),
        ],
    )
    payload = order.model_dump(mode="json", exclude_none=True, exclude={"id"})
    payload[EXCHANGE_MARKER] = return_workflow_id
    return payload


def is_exchange_payload(raw: Mapping[str, Any]) -> bool:
    return isinstance(raw, Mapping) and isinstance(raw.get(EXCHANGE_MARKER), str)


def map_exchange_order(raw: Mapping[str, Any], *, order_id: str, channel_id: str) -> Order:
    """The replacement order from its own document (pydantic's ValidationError if it is not one)."""
    fields = {k: v for k, v in raw.items() if k != EXCHANGE_MARKER}
    return Order.model_validate({**fields, "id": order_id, "channelId": channel_id})
