"""WMS payloads <-> the canonical model: Orderloop's shipping request in onX-like JSON out, onX
fulfillments (shipments) and stock levels in.

Each request line carries Orderloop's line id as `lineItems[].id`; the WMS echoes it in its
fulfillments, so a shipment maps back to order lines even when two lines share a SKU.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from connectors.base import MappingError, PayloadError, ShippingRequirements, StockRow
from connectors.json_values import text, utc_time
from connectors.signing import json_type
from orderloop.contracts import FulfillmentStatus, FulfillmentUpdate
from orderloop.model import Shipment, ShipmentLine, ShippingRequest

TRACKING_URL_FIELD = "trackingUrl"


def request_body(request: ShippingRequest, requirements: ShippingRequirements | None = None) -> dict[str, Any]:
    """The body of `POST /shipping-requests`: our request id is the WMS's `externalId`; the
    selling channel's requirements, when it has any, as `requirements{carriers, shippingMethod,
    packagingNotes}` for the packers; a wholesale request's PO number, mark-for and routing
    instructions, and its documents (`documents[]{kind, filename, contentType, content: base64
    PDF, ssccs}`: packing slip and GS1-128 carton labels)."""
    body: dict[str, Any] = {
        "externalId": request.id,
        "orderId": request.order_id,
        "orderExternalId": request.external_order_id,
        "channelId": request.channel_id,
        "locationId": request.location_id,
        "lineItems": [{"id": line.line_id, "sku": line.sku, "quantity": line.quantity} for line in request.line_items],
        "shippingAddress": request.shipping_address.to_onx(),
        "createdAt": request.created_at.isoformat(),
    }
    if request.shipping_code:
        body["shippingCode"] = request.shipping_code
    if requirements is not None:
        wanted = {
            "carriers": list(requirements.carriers) or None,
            "shippingMethod": requirements.method,
            "packagingNotes": requirements.packaging_notes,
        }
        body["requirements"] = {key: value for key, value in wanted.items() if value is not None}
    if request.wholesale is not None:
        terms = request.wholesale
        body["customerPONumber"] = terms.customer_po_number
        if terms.mark_for is not None:
            body["markforAddress"] = {"locationIdentifier": terms.mark_for.location_identifier}
        if terms.routing_instructions:
            body["routingInstructions"] = terms.routing_instructions
    if request.documents:
        # A wholesale request's packing slip and carton labels, for the packers to print.
        body["documents"] = [
            {
                "kind": doc.kind,
                "filename": doc.filename,
                "contentType": doc.content_type,
                "content": base64.b64encode(doc.content).decode(),
                "ssccs": doc.ssccs,
            }
            for doc in request.documents
        ]
    return body


def shipment_from_fulfillment(data: Any, fulfillment_channel_id: str | None = None) -> Shipment:
    """An onX fulfillment as the WMS reports it -> `Shipment` (`orderId` is our request id)."""
    if not isinstance(data, Mapping):
        raise MappingError(f"a fulfillment must be a JSON object, not {json_type(data)}")
    shipment_id = text(data.get("id"))
    if shipment_id is None:
        raise MappingError("fulfillment id is missing")
    request_id = text(data.get("orderId"))
    if request_id is None:
        raise MappingError("fulfillment orderId (Orderloop's shipping request id) is missing")
    numbers = data.get("trackingNumbers")
    if numbers is None:
        numbers = []
    if not isinstance(numbers, list) or not all(isinstance(n, str) for n in numbers):
        raise MappingError("trackingNumbers must be an array of strings")
    try:
        return Shipment(
            id=shipment_id,
            shipping_request_id=request_id,
            fulfillment_channel_id=fulfillment_channel_id,
            location_id=text(data.get("locationId")),
            line_items=_lines(data.get("lineItems")),
            tracking_numbers=numbers,
            shipping_carrier=text(data.get("shippingCarrier")),
            tracking_url=_custom_field(data.get("customFields"), TRACKING_URL_FIELD),
            shipped_at=utc_time(data.get("createdAt")),
        )
    except ValidationError as exc:
        raise MappingError("; ".join(e["msg"] for e in exc.errors()[:3])) from None


def stock_row(item: Any) -> StockRow:
    if not isinstance(item, Mapping) or not text(item.get("sku")):
        raise MappingError(f"a stock level must be an object with a sku, got {item!r}")
    on_hand = item.get("onHand")
    if isinstance(on_hand, bool) or not isinstance(on_hand, int):
        raise MappingError(f"stock level for {item['sku']!r}: onHand must be an integer")
    return StockRow(
        sku=str(item["sku"]),
        on_hand=on_hand,
        available=_int(item.get("available")),
        committed=_int(item.get("committed")),
        inbound=_int(item.get("inbound")) or 0,
        location_ref=text(item.get("locationId")),
    )


def stock_rows(items: Any) -> tuple[StockRow, ...]:
    if not isinstance(items, list) or not items:
        raise MappingError("items must be a non-empty array of stock levels")
    return tuple(stock_row(item) for item in items)


def _lines(value: Any) -> list[ShipmentLine]:
    if not isinstance(value, list) or not value:
        raise MappingError("fulfillment lineItems must be a non-empty array")
    lines = []
    for i, item in enumerate(value):
        if not isinstance(item, Mapping) or not text(item.get("sku")):
            raise MappingError(f"fulfillment lineItems[{i}].sku is missing")
        quantity = item.get("quantity")
        if isinstance(quantity, float) and quantity.is_integer():
            quantity = int(quantity)
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
            raise MappingError(f"fulfillment lineItems[{i}].quantity must be a positive integer, got {quantity!r}")
        lines.append(ShipmentLine(sku=str(item["sku"]), quantity=quantity, line_id=text(item.get("id"))))
    return lines


def _custom_field(value: Any, name: str) -> str | None:
    if not isinstance(value, list):
        return None
    for item in value:
        if isinstance(item, Mapping) and item.get("name") == name:
            return text(item.get("value"))
    return None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def request_update(payload: dict[str, Any], status: FulfillmentStatus, event_id: str | None) -> FulfillmentUpdate:
    """A request event of the WMS as the order's fulfillment update (`PayloadError` without our id)."""
    request_id = payload.get("externalId")
    if not isinstance(request_id, str) or not request_id:
        raise PayloadError("externalId (Orderloop's shipping request id) is missing")
    reason = payload.get("reason")
    return FulfillmentUpdate(
        request_id=request_id,
        status=status,
        reason=str(reason) if reason else None,
        at=utc_time(payload.get("at")),
        event_id=event_id,
    )
