"""Amazon SP-API payloads <-> the canonical model: an order of the Orders API v2026-01-01 (as
`getOrder` and `searchOrders` answer it with `includedData=BUYER,RECIPIENT,FULFILLMENT,PROCEEDS`)
to `Order`, a `Shipment` to the body of `confirmShipment` (Orders API v0: the 2026 model has no
shipment confirmation), an available quantity to a Listings Items `merge` patch of
`fulfillment_availability`.

The order's version lives in `map_order` and the readers of `OrderView` alone: a move to another
Orders API version changes `order_view` and nothing else.

Which orders ship: merchant-fulfilled (`fulfilledBy: MERCHANT`) orders whose fulfillment status is
`UNSHIPPED` or `PARTIALLY_SHIPPED`. A `PENDING` order (payment not authorised: Amazon shows no
address and no prices yet) and a `PENDING_AVAILABILITY` pre-order are not started at all by the
poll or the notification (see `shippable_status`), only recorded as held (`hold_of`); if one
reaches `map_order` anyway it is refused with the reason. An item whose
`cancellation.cancellationRequest.requester` is `BUYER` is a
buyer-requested cancel (v0's `IsBuyerRequestedCancel`): the order is reported cancelled before it
ships (see `buyer_cancel_reason`).

`fulfillment.shipByWindow.latestDateTime` (v0's `LatestShipDate`) is the order's `ship_by_date`:
the ship-by clock uses Amazon's date, which its late-shipment rate counts against, not the
channel's default SLA.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from connectors.base import ChannelHold, MappingError
from connectors.json_values import integer, money, text, utc_time
from connectors.signing import json_type
from orderloop.model import Address, Customer, CustomField, Order, OrderLine, Shipment


class FulfillmentStatus(StrEnum):
    """`fulfillment.fulfillmentStatus` of an order (Orders API v2026-01-01)."""

    PENDING_AVAILABILITY = "PENDING_AVAILABILITY"
    PENDING = "PENDING"
    UNSHIPPED = "UNSHIPPED"
    PARTIALLY_SHIPPED = "PARTIALLY_SHIPPED"
    SHIPPED = "SHIPPED"
    CANCELLED = "CANCELLED"
    UNFULFILLABLE = "UNFULFILLABLE"


class FulfilledBy(StrEnum):
    MERCHANT = "MERCHANT"
    AMAZON = "AMAZON"


class IncludedData(StrEnum):
    """The datasets of `includedData` the connector asks for (the mapping reads these)."""

    BUYER = "BUYER"
    RECIPIENT = "RECIPIENT"
    FULFILLMENT = "FULFILLMENT"
    PROCEEDS = "PROCEEDS"
    CANCELLATION = "CANCELLATION"


INCLUDED_DATA = tuple(IncludedData)
# Statuses Orderloop ships from; the poll asks for these and CANCELLED only.
SHIPPABLE = frozenset({FulfillmentStatus.UNSHIPPED, FulfillmentStatus.PARTIALLY_SHIPPED})
NOT_YET = frozenset({FulfillmentStatus.PENDING, FulfillmentStatus.PENDING_AVAILABILITY})
BUYER = "BUYER"

# Amazon's `CarrierCode` values for the carriers 3PLs report most (the list in Amazon's
# carrier-code table is long; another carrier goes as "Other" with its name in `carrierName`).
CARRIER_CODES: dict[str, str] = {
    "ups": "UPS",
    "usps": "USPS",
    "fedex": "FedEx",
    "dhl": "DHL",
    "dhl ecommerce": "DHL eCommerce",
    "ontrac": "OnTrac",
    "lasership": "LaserShip",
    "amazon shipping": "Amazon Shipping",
    "canada post": "Canada Post",
    "royal mail": "Royal Mail",
    "dpd": "DPD",
    "gls": "GLS",
}
OTHER_CARRIER = "Other"


@dataclass(frozen=True)
class OrderView:
    """What Orderloop reads of an order, whatever the Orders API version."""

    order_id: str
    status: FulfillmentStatus | None
    fulfilled_by: str | None
    created_at: datetime | None
    updated_at: datetime | None


def order_view(raw: Mapping[str, Any]) -> OrderView:
    """The v2026-01-01 order's id, status and times; `MappingError` when it has no id."""
    order_id = text(raw.get("orderId"))
    if order_id is None:
        raise MappingError("orderId is missing")
    fulfillment = _object(raw.get("fulfillment"))
    status = text(fulfillment.get("fulfillmentStatus"))
    return OrderView(
        order_id=order_id,
        status=FulfillmentStatus(status) if status is not None and status in FulfillmentStatus.__members__ else None,
        fulfilled_by=text(fulfillment.get("fulfilledBy")),
        created_at=utc_time(raw.get("createdTime")),
        updated_at=utc_time(raw.get("lastUpdatedTime")),
    )


def buyer_cancel_reason(raw: Mapping[str, Any]) -> str | None:
    """The buyer's reason when an item of the order carries a buyer-requested cancel, else None."""
    for item in _objects(raw.get("orderItems")):
        request = _object(_object(item.get("cancellation")).get("cancellationRequest"))
        if text(request.get("requester")) == BUYER:
            return text(request.get("cancelReason")) or "no reason given"
    return None


def is_cancelled(raw: Mapping[str, Any]) -> bool:
    """Cancelled at Amazon, or asked to be by the buyer (Orderloop stops it either way)."""
    return order_view(raw).status is FulfillmentStatus.CANCELLED or buyer_cancel_reason(raw) is not None


def shippable_status(raw: Mapping[str, Any]) -> str | None:
    """None when the order is one Orderloop ships now; else why not (for the log and the
    notification's IGNORED detail)."""
    view = order_view(raw)
    if view.fulfilled_by is not None and view.fulfilled_by != FulfilledBy.MERCHANT:
        return f"fulfilled by {view.fulfilled_by}, not by the merchant"
    if view.status in NOT_YET:
        return f"{view.status}: not started until Amazon marks it UNSHIPPED (payment authorised)"
    if view.status not in SHIPPABLE:
        return f"fulfillment status {view.status or 'missing'}: nothing to ship"
    return None


def hold_of(raw: Mapping[str, Any]) -> ChannelHold | None:
    """Amazon's hold of a merchant order it does not release yet (`PENDING`: payment not
    authorised; `PENDING_AVAILABILITY`: a pre-order), with the reason; None for any other."""
    view = order_view(raw)
    if view.status not in NOT_YET or (view.fulfilled_by is not None and view.fulfilled_by != FulfilledBy.MERCHANT):
        return None
    refused = shippable_status(raw)
    return ChannelHold(reason=refused or f"{view.status}", status=str(view.status))


# --- inbound: order -> Order -----------------------------------------------------------------


def map_order(
    raw: Mapping[str, Any], *, order_id: str, tenant_id: str, channel_id: str, received_at: datetime
) -> Order:
    """A v2026-01-01 order -> `Order`; `MappingError` with the reason when it cannot ship."""
    if not isinstance(raw, Mapping):
        raise MappingError(f"the order must be a JSON object, not {json_type(raw)}")
    view = order_view(raw)
    refused = shippable_status(raw)
    if refused is not None:
        raise MappingError(f"order {view.order_id}: {refused}")
    fulfillment = _object(raw.get("fulfillment"))
    lines = [_line(item, n) for n, item in enumerate(_objects(raw.get("orderItems")))]
    lines = [line for line in lines if line is not None]
    if not lines:
        raise MappingError(f"order {view.order_id}: no item with a seller SKU and a quantity to ship")
    buyer = _object(raw.get("buyer"))
    email = text(buyer.get("buyerEmail"))
    grand_total = _object(_object(raw.get("proceeds")).get("grandTotal"))
    sales = _object(raw.get("salesChannel"))
    level = text(fulfillment.get("fulfillmentServiceLevel"))
    return Order(
        id=order_id,
        external_id=view.order_id,
        tenant_id=tenant_id,
        channel_id=channel_id,
        created_at=view.created_at or received_at,
        updated_at=view.updated_at or received_at,
        name=_seller_order_id(raw) or view.order_id,
        status=(view.status or "").lower() or None,
        currency=text(grand_total.get("currencyCode")) or _item_currency(raw),
        # Amazon collects the payment; an UNSHIPPED order's payment is authorised.
        payment_status="paid",
        line_items=lines,
        shipping_address=_address(_object(_object(raw.get("recipient")).get("deliveryAddress")), email),
        customer=_customer(buyer),
        shipping_class=level,
        shipping_code=level.lower() if level else None,
        total_price=money(grand_total.get("amount"), "proceeds.grandTotal.amount"),
        order_source=text(sales.get("marketplaceName")) or "Amazon",
        gift_note=_gift_message(raw),
        custom_fields=_custom_fields(raw, sales),
        ship_by_date=utc_time(_object(fulfillment.get("shipByWindow")).get("latestDateTime")),
    )


def _line(item: Mapping[str, Any], n: int) -> OrderLine | None:
    product = _object(item.get("product"))
    item_id = text(item.get("orderItemId"))
    where = f"orderItems[{n}]"
    if item_id is None:
        raise MappingError(f"{where}.orderItemId is missing")
    sku = text(product.get("sellerSku"))
    if sku is None:
        raise MappingError(f"{where} (orderItemId {item_id}) has no product.sellerSku")
    ordered = integer(item.get("quantityOrdered"))
    if ordered is None or ordered < 0:
        raise MappingError(f"{where}.quantityOrdered must be a whole number, got {item.get('quantityOrdered')!r}")
    # What is left to ship (an order partly shipped before Orderloop saw it ships the rest).
    unfulfilled = integer(_object(item.get("fulfillment")).get("quantityUnfulfilled"))
    quantity = ordered if unfulfilled is None else min(ordered, unfulfilled)
    if quantity <= 0:
        return None  # cancelled at Amazon, or shipped already: nothing to ship
    unit = _object(_object(product.get("price")).get("unitPrice"))
    unit_price = money(unit.get("amount"), f"{where}.product.price.unitPrice.amount")
    return OrderLine(
        id=item_id,
        external_id=item_id,
        sku=sku,
        quantity=quantity,
        unit_price=unit_price,
        total_price=unit_price * quantity if unit_price is not None else None,
        name=text(product.get("title")),
        custom_fields=[CustomField(name="asin", value=asin)] if (asin := text(product.get("asin"))) else [],
    )


def _address(raw: Mapping[str, Any], email: str | None) -> Address | None:
    if not raw:
        return None
    first, _, last = (text(raw.get("name")) or "").partition(" ")
    line2 = " ".join(p for p in (text(raw.get("addressLine2")), text(raw.get("addressLine3"))) if p) or None
    return Address(
        first_name=first or None,
        last_name=last.strip() or None,
        company=text(raw.get("companyName")),
        address1=text(raw.get("addressLine1")),
        address2=line2,
        city=text(raw.get("city")) or text(raw.get("municipality")),
        state_or_province=text(raw.get("stateOrRegion")),
        zip_code_or_postal_code=text(raw.get("postalCode")),
        country=text(raw.get("countryCode")),
        phone=text(raw.get("phone")),
        email=email,
    )


def _customer(buyer: Mapping[str, Any]) -> Customer | None:
    email = text(buyer.get("buyerEmail"))
    name = text(buyer.get("buyerName"))
    if email is None and name is None:
        return None
    first, _, last = (name or "").partition(" ")
    return Customer(email=email, first_name=first or None, last_name=last.strip() or None)


def _seller_order_id(raw: Mapping[str, Any]) -> str | None:
    for alias in _objects(raw.get("orderAliases")):
        if text(alias.get("aliasType")) == "SELLER_ORDER_ID":
            return text(alias.get("aliasId"))
    return None


def _item_currency(raw: Mapping[str, Any]) -> str | None:
    for item in _objects(raw.get("orderItems")):
        unit = _object(_object(_object(item.get("product")).get("price")).get("unitPrice"))
        if code := text(unit.get("currencyCode")):
            return code
    return None


def _gift_message(raw: Mapping[str, Any]) -> str | None:
    for item in _objects(raw.get("orderItems")):
        packing = _object(_object(item.get("fulfillment")).get("packing"))
        if message := text(_object(packing.get("giftOption")).get("giftMessage")):
            return message
    return None


def _custom_fields(raw: Mapping[str, Any], sales: Mapping[str, Any]) -> list[CustomField]:
    fields = []
    if marketplace := text(sales.get("marketplaceId")):
        fields.append(CustomField(name="marketplaceId", value=marketplace))
    programs = [p for p in raw.get("programs") or [] if isinstance(p, str)]
    if programs:
        fields.append(CustomField(name="programs", value=",".join(programs)))
    return fields


# --- outbound: a shipment -> confirmShipment ---------------------------------------------------


def package_reference_id(shipment_id: str) -> str:
    """Amazon's `packageReferenceId` for a shipment: a positive number (the only kind Amazon
    takes) derived from our shipment id, so a retried confirmation names the same package and
    two parcels of one order never share one (15 hex digits of SHA-256: 60 bits)."""
    return str(int(hashlib.sha256(shipment_id.encode()).hexdigest()[:15], 16) + 1)


def carrier_fields(carrier: str | None) -> dict[str, str]:
    """`carrierCode` (and `carrierName` when the code is "Other") for our carrier's name."""
    name = (carrier or "").strip()
    if not name:
        raise MappingError("the shipment names no carrier: Amazon requires carrierCode")
    code = CARRIER_CODES.get(name.lower())
    return {"carrierCode": code} if code else {"carrierCode": OTHER_CARRIER, "carrierName": name}


def confirm_shipment_body(order: Order, shipment: Shipment, marketplace_id: str, now: datetime) -> dict[str, Any]:
    """The `ConfirmShipmentRequest` for one parcel: its items by `orderItemId` (our line id is
    Amazon's order item id), the tracking number and the carrier; `MappingError` when Amazon
    would refuse it (no tracking number, no carrier, a line the order does not have)."""
    if not shipment.tracking_numbers:
        raise MappingError(f"shipment {shipment.id} has no tracking number: Amazon requires trackingNumber")
    by_sku = {line.sku: line.id for line in order.line_items}
    items: dict[str, int] = {}
    for line in shipment.line_items:
        item_id = line.line_id or by_sku.get(line.sku)
        if item_id is None or item_id not in {ln.id for ln in order.line_items}:
            raise MappingError(f"shipment {shipment.id}: {line.sku} is on no item of Amazon order {order.external_id}")
        items[item_id] = items.get(item_id, 0) + line.quantity
    shipped_at = (shipment.shipped_at or now).astimezone(UTC)
    return {
        "marketplaceId": marketplace_id,
        "packageDetail": {
            "packageReferenceId": package_reference_id(shipment.id),
            **carrier_fields(shipment.shipping_carrier),
            "trackingNumber": shipment.tracking_numbers[0],
            "shipDate": shipped_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "orderItems": [{"orderItemId": item_id, "quantity": quantity} for item_id, quantity in items.items()],
        },
    }


# --- outbound: availability -> Listings Items patch -------------------------------------------


def availability_patch(quantity: int, product_type: str, channel_code: str) -> dict[str, Any]:
    """`merge` of `fulfillment_availability` for the merchant's channel: only `quantity` changes,
    so the restock date and handling time set in Seller Central are kept."""
    return {
        "productType": product_type,
        "patches": [
            {
                "op": "merge",
                "path": "/attributes/fulfillment_availability",
                "value": [{"fulfillment_channel_code": channel_code, "quantity": max(0, quantity)}],
            }
        ],
    }


def _object(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _objects(value: Any) -> list[Mapping[str, Any]]:
    return [v for v in value if isinstance(v, Mapping)] if isinstance(value, list) else []
