"""Walmart purchase orders <-> the canonical model: a purchase order (`GET /v3/orders/{id}`, an
element of a list, or the `payload.order` of an ORDER_UPDATES notification) to `Order`, a
`Shipment` to the body of `POST /v3/orders/{id}/shipping`, a cancel to `/cancel`'s body, an
available quantity to `PUT /v3/inventory`'s.

A purchase order is one order; its lines are keyed by `lineNumber` (Walmart's line id is the
order line's id and `external_id`). A purchase order has no status of its own: each line carries
`orderLineStatuses` (Created, Acknowledged, Shipped, Cancelled, with quantities). A line's quantity is
what is not Cancelled (shipped units stay on it); a line with nothing left is left out, and a purchase
order with no line left is refused (`MappingError`). So is one Walmart fulfils itself (a WFS ship
node) and one whose ship method (`shippingInfo.methodCode`) the channel's `ship_methods` does
not serve: Orderloop cannot ship it with a carrier Walmart accepts for it. `estimatedShipDate`
is the order's `ship_by_date`, the deadline the SLA clock uses (Walmart auto-cancels a line not
shipped with valid tracking by that date plus 4 calendar days).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from connectors.base import MappingError, validated_order
from connectors.json_values import integer, money, text
from connectors.signing import json_type
from orderloop.model import Address, CustomField, Order, OrderLine, Shipment

# Walmart's carriers (`carrierName.carrier`), as the Orders API reference lists them.
WALMART_CARRIERS = (
    "UPS", "USPS", "FedEx", "Airborne", "OnTrac", "DHL Ecommerce - US", "LS", "UDS", "UPSMI", "FDX", "PILOT",
    "ESTES", "SAIA", "FDS Express", "Seko Worldwide", "HIT Delivery", "FEDEXSP", "RL Carriers",
    "Metropolitan Warehouse & Delivery", "China Post", "YunExpress", "Yellow Freight Sys",
    "AIT Worldwide Logistics", "Chukou1", "Sendle", "Landmark Global", "Sunyou", "Yanwen", "4PX", "GLS",
    "OSM Worldwide", "FIRST MILE", "AM Trucking", "CEVA", "India Post", "SF Express", "CNE", "TForce Freight",
    "AxleHire", "LSO", "Royal Mail", "ABF Freight System", "WanB", "Roadrunner Freight", "Meyer Distribution",
    "AAA Cooper", "Canada Post", "Southeastern Freight Lines", "Japan Post", "Correos de Mexico", "XPO Logistics",
)  # fmt: skip
_CARRIERS_BY_NAME = {name.lower(): name for name in WALMART_CARRIERS}
UNIT = "EACH"


class LineStatus(StrEnum):
    CREATED = "Created"
    ACKNOWLEDGED = "Acknowledged"
    SHIPPED = "Shipped"
    DELIVERED = "Delivered"
    CANCELLED = "Cancelled"


class CancelReason(StrEnum):
    """`cancellationReason` of a seller's cancel (Orders API reference)."""

    CUSTOMER_REQUESTED = "CUSTOMER_REQUESTED_SELLER_TO_CANCEL"
    SELLER_CANCEL_OUT_OF_STOCK = "SELLER_CANCEL_OUT_OF_STOCK"
    SELLER_CANCEL_FRAUD_STOP_SHIPMENT = "SELLER_CANCEL_FRAUD_STOP_SHIPMENT"
    SELLER_CANCEL_PRICING_ERROR = "SELLER_CANCEL_PRICING_ERROR"


# --- reading a purchase order ------------------------------------------------------------------


def purchase_order_of(raw: Mapping[str, Any]) -> Mapping[str, Any]:
    """The purchase order in a body: itself, `{"order": ...}`, or a notification's `payload.order`
    (`payload` itself for the legacy flat events)."""
    payload = raw.get("payload")
    if isinstance(raw.get("source"), Mapping) and isinstance(payload, Mapping):
        order = payload.get("order")
        return order if isinstance(order, Mapping) else payload
    order = raw.get("order")
    return order if isinstance(order, Mapping) and "purchaseOrderId" not in raw else raw


def obj(value: Any) -> Mapping[str, Any]:
    """A JSON object as it is, anything else as an empty one (Walmart sends null for absent parts)."""
    return value if isinstance(value, Mapping) else {}


def external_order_id(raw: Mapping[str, Any]) -> str | None:
    return text(purchase_order_of(raw).get("purchaseOrderId"))


def epoch_ms(value: Any) -> datetime | None:
    """Walmart's times are epoch milliseconds (numbers, or digit strings); ISO text also read."""
    ms = integer(value)
    if ms is not None:
        return datetime.fromtimestamp(ms / 1000, UTC)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


def _list(value: Any, key: str) -> list[Any]:
    """Walmart's wrapped arrays: `{"orderLine": [...]}` (also a bare array, or one object)."""
    inner = value.get(key) if isinstance(value, Mapping) else value
    if inner is None:
        return []
    return list(inner) if isinstance(inner, list) else [inner]


def order_lines(po: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [line for line in _list(po.get("orderLines"), "orderLine") if isinstance(line, Mapping)]


def line_statuses(line: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [s for s in _list(line.get("orderLineStatuses"), "orderLineStatus") if isinstance(s, Mapping)]


def _amount(quantity: Any) -> int:
    return integer(quantity.get("amount")) or 0 if isinstance(quantity, Mapping) else 0


def quantity_in(line: Mapping[str, Any], *statuses: LineStatus) -> int:
    return sum(_amount(s.get("statusQuantity")) for s in line_statuses(line) if s.get("status") in statuses)


def ordered(line: Mapping[str, Any]) -> int:
    return _amount(line.get("orderLineQuantity"))


def open_quantity(line: Mapping[str, Any]) -> int:
    """Units of the line still to ship: neither shipped (or delivered) nor cancelled."""
    done = quantity_in(line, LineStatus.SHIPPED, LineStatus.DELIVERED, LineStatus.CANCELLED)
    return max(0, ordered(line) - done)


def all_cancelled(po: Mapping[str, Any]) -> bool:
    lines = order_lines(po)
    return bool(lines) and all(quantity_in(ln, LineStatus.CANCELLED) >= ordered(ln) for ln in lines)


def fulfilled_by_walmart(po: Mapping[str, Any]) -> bool:
    """A WFS purchase order: Walmart's own fulfillment ships it, not the seller."""
    return text(obj(po.get("shipNode")).get("type")) == "WFSFulfilled"


def needs_acknowledgement(po: Mapping[str, Any]) -> bool:
    """Some line is still `Created`: Walmart wants the purchase order acknowledged before it ships."""
    return any(quantity_in(ln, LineStatus.CREATED) for ln in order_lines(po))


def updated_at(po: Mapping[str, Any]) -> datetime | None:
    """The newest line status date (Walmart keeps no order-level modification time)."""
    times = [t for ln in order_lines(po) if (t := epoch_ms(ln.get("statusDate"))) is not None]
    return max(times) if times else epoch_ms(po.get("orderDate"))


# --- purchase order -> Order ----------------------------------------------------------------------


def map_order(
    raw: Mapping[str, Any],
    *,
    order_id: str,
    tenant_id: str,
    channel_id: str,
    received_at: datetime,
    ship_methods: Mapping[str, Iterable[str]],
) -> Order:
    """A purchase order -> `Order`; `MappingError` says why it cannot ship (module docstring). A
    missing or incomplete address maps: the workflow raises `invalid_address` for it."""
    if not isinstance(raw, Mapping):
        raise MappingError(f"the purchase order must be a JSON object, not {json_type(raw)}")
    po = purchase_order_of(raw)
    external_id = text(po.get("purchaseOrderId"))
    if external_id is None:
        raise MappingError("purchaseOrderId is missing: the purchase order cannot be identified")
    if fulfilled_by_walmart(po):
        raise MappingError(f"purchase order {external_id} is fulfilled by Walmart (WFS): Orderloop does not ship it")
    shipping = obj(po.get("shippingInfo"))
    method = text(shipping.get("methodCode"))
    _check_method(external_id, method, ship_methods)
    lines, currency, subtotal, tax = _lines(po, external_id)
    shipping_price = _charges_total(po, "SHIPPING")
    created = epoch_ms(po.get("orderDate")) or received_at
    custom = [CustomField(name="customerOrderId", value=v) for v in [text(po.get("customerOrderId"))] if v]
    if text(po.get("orderType")):
        custom.append(CustomField(name="walmartOrderType", value=str(text(po.get("orderType")))))
    fields: dict[str, Any] = {
        "id": order_id,
        "external_id": external_id,
        "tenant_id": tenant_id,
        "channel_id": channel_id,
        "created_at": created,
        "updated_at": updated_at(po) or created,
        "name": text(po.get("customerOrderId")),
        "currency": currency,
        "line_items": lines,
        "shipping_address": _address(shipping, text(po.get("customerEmailId"))),
        "shipping_code": method,
        "shipping_class": method,
        "shipping_price": shipping_price,
        "sub_total_price": subtotal,
        "order_tax": tax,
        "total_price": (subtotal + (shipping_price or 0) + (tax or 0)) if subtotal is not None else None,
        "custom_fields": custom,
        "order_source": "walmart",
        "ship_by_date": epoch_ms(shipping.get("estimatedShipDate")),
    }
    return validated_order(fields)


def _check_method(external_id: str, method: str | None, ship_methods: Mapping[str, Iterable[str]]) -> None:
    served = {name.lower(): list(carriers) for name, carriers in ship_methods.items()}
    if method is None:
        raise MappingError(f"purchase order {external_id} has no shippingInfo.methodCode: its ship method is unknown")
    carriers = served.get(method.lower())
    if not carriers:
        known = ", ".join(sorted(ship_methods)) or "none"
        raise MappingError(
            f"purchase order {external_id}: ship method {method!r} maps to no Walmart carrier this channel ships "
            f"with (settings.ship_methods serves {known})"
        )


def _lines(
    po: Mapping[str, Any], external_id: str
) -> tuple[list[OrderLine], str | None, Decimal | None, Decimal | None]:
    lines: list[OrderLine] = []
    skipped: list[str] = []
    currency: str | None = None
    subtotal: Decimal | None = None
    tax: Decimal | None = None
    raw_lines = order_lines(po)
    if not raw_lines:
        raise MappingError(f"purchase order {external_id} has no orderLines.orderLine")
    for index, line in enumerate(raw_lines):
        where = f"orderLines.orderLine[{index}]"
        number = text(line.get("lineNumber"))
        if number is None:
            raise MappingError(f"{where}: lineNumber is missing")
        item = obj(line.get("item"))
        sku = text(item.get("sku"))
        # Shipped units stay on the order (a re-read after a partial shipment changes nothing).
        quantity = max(0, ordered(line) - quantity_in(line, LineStatus.CANCELLED))
        if quantity == 0:
            skipped.append(f"line {number} is cancelled")
            continue
        if sku is None:
            raise MappingError(f"line {number} has no item.sku")
        product = _charge(line, "PRODUCT", f"line {number}")
        if product is not None:
            amount, line_tax, line_currency = product
            currency = currency or line_currency
            per_unit = (amount / ordered(line)).quantize(Decimal("0.01")) if ordered(line) else amount
            subtotal = (subtotal or Decimal(0)) + per_unit * quantity
            if line_tax is not None:
                tax = (tax or Decimal(0)) + line_tax
        else:
            per_unit = None
        lines.append(
            OrderLine(
                id=number,
                external_id=number,
                sku=sku,
                quantity=quantity,
                unit_price=per_unit,
                total_price=per_unit * quantity if per_unit is not None else None,
                name=text(item.get("productName")),
            )
        )
    if not lines:
        raise MappingError(f"purchase order {external_id} has no line left to ship: {'; '.join(skipped)}")
    return lines, currency, subtotal, tax


def _charges(line: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [c for c in _list(line.get("charges"), "charge") if isinstance(c, Mapping)]


def _charge(line: Mapping[str, Any], kind: str, where: str) -> tuple[Decimal, Decimal | None, str | None] | None:
    for charge in _charges(line):
        if charge.get("chargeType") != kind:
            continue
        amount = obj(charge.get("chargeAmount"))
        value = money(amount.get("amount"), f"{where}: chargeAmount.amount")
        if value is None:
            return None
        tax = obj(charge.get("tax"))
        tax_amount = obj(tax.get("taxAmount"))
        return value, money(tax_amount.get("amount"), f"{where}: tax.taxAmount.amount"), text(amount.get("currency"))
    return None


def _charges_total(po: Mapping[str, Any], kind: str) -> Decimal | None:
    total: Decimal | None = None
    for index, line in enumerate(order_lines(po)):
        found = _charge(line, kind, f"orderLines.orderLine[{index}]")
        if found is not None:
            total = (total or Decimal(0)) + found[0]
    return total


_COUNTRIES = {"USA": "US", "US": "US", "CAN": "CA", "MEX": "MX"}


def _address(shipping: Mapping[str, Any], email: str | None) -> Address | None:
    postal = shipping.get("postalAddress")
    if not isinstance(postal, Mapping):
        return None
    name = text(postal.get("name")) or ""
    first, _, last = name.partition(" ")
    country = text(postal.get("country"))
    return Address(
        address1=text(postal.get("address1")),
        address2=text(postal.get("address2")),
        city=text(postal.get("city")),
        state_or_province=text(postal.get("state")),
        zip_code_or_postal_code=text(postal.get("postalCode")),
        country=_COUNTRIES.get(country.upper(), country) if country else None,
        first_name=first or None,
        last_name=last.strip() or None,
        phone=text(shipping.get("phone")),
        email=email,
    )


# --- Shipment -> POST /shipping -----------------------------------------------------------------


def walmart_carrier(carrier: str | None, aliases: Mapping[str, str]) -> str | None:
    """Walmart's name for a carrier as a 3PL reports it: the channel's alias, else Walmart's own
    name matched without regard to case; None when Walmart lists no such carrier."""
    if not carrier:
        return None
    alias = {k.lower(): v for k, v in aliases.items()}.get(carrier.strip().lower())
    if alias is not None:
        return _CARRIERS_BY_NAME.get(alias.lower(), alias)
    return _CARRIERS_BY_NAME.get(carrier.strip().lower())


def recorded_lines(po: Mapping[str, Any], tracking_number: str) -> dict[str, int]:
    """Line number -> units Walmart already shows Shipped under this tracking number."""
    found: dict[str, int] = {}
    for line in order_lines(po):
        number = text(line.get("lineNumber"))
        for status in line_statuses(line):
            info = obj(status.get("trackingInfo"))
            if status.get("status") in (LineStatus.SHIPPED, LineStatus.DELIVERED) and (
                text(info.get("trackingNumber")) == tracking_number
            ):
                found[str(number)] = found.get(str(number), 0) + _amount(status.get("statusQuantity"))
    return found


@dataclass(frozen=True)
class ShipLine:
    line_number: str
    quantity: int


def lines_to_ship(po: Mapping[str, Any], shipment: Shipment, tracking_number: str) -> list[ShipLine]:
    """The shipment's units per line that Walmart does not show shipped under its tracking number
    yet (a retried push finds them recorded: nothing is sent twice). A shipment line names its
    line (`line_id`, our line id = `lineNumber`) or, as a 3PL reporting by SKU does, only its SKU:
    then it takes the lines of that SKU in order. `MappingError` for a SKU or line the purchase
    order does not have, or more units than it has open."""
    by_number = {str(text(ln.get("lineNumber"))): ln for ln in order_lines(po)}
    recorded = recorded_lines(po, tracking_number)
    planned: dict[str, int] = {}
    for item in shipment.line_items:
        if item.line_id is not None and item.line_id in by_number:
            candidates = [item.line_id]
        else:
            candidates = [n for n, ln in by_number.items() if text(obj(ln.get("item")).get("sku")) == item.sku]
        if not candidates:
            raise MappingError(f"shipment line {item.sku} (line {item.line_id}) is no line of the purchase order")
        need = item.quantity
        for number in candidates:
            taken = min(need, recorded.get(number, 0))
            recorded[number] = recorded.get(number, 0) - taken
            need -= taken
        for number in candidates:
            taken = min(need, open_quantity(by_number[number]) - planned.get(number, 0))
            if taken > 0:
                planned[number] = planned.get(number, 0) + taken
                need -= taken
        if need > 0:
            raise MappingError(f"{item.sku}: {need} more units to ship than are open at Walmart (lines {candidates})")
    return [ShipLine(number, quantity) for number, quantity in planned.items()]


def shipping_body(
    plan: Iterable[ShipLine],
    shipment: Shipment,
    *,
    tracking_number: str,
    carrier: str | None,
    other_carrier: str | None,
    method_code: str | None,
) -> dict[str, Any]:
    """`POST /v3/orders/{id}/shipping`'s body: each line's units `Shipped` with the tracking."""
    shipped_at = shipment.shipped_at or datetime.now(UTC)
    carrier_name = {"carrier": carrier} if carrier else {"otherCarrier": other_carrier}
    tracking: dict[str, Any] = {
        "shipDateTime": int(shipped_at.timestamp() * 1000),
        "carrierName": carrier_name,
        "methodCode": method_code or "Standard",
        "trackingNumber": tracking_number,
    }
    if shipment.tracking_url:
        tracking["trackingURL"] = shipment.tracking_url
    return {
        "orderShipment": {
            "orderLines": {
                "orderLine": [
                    {
                        "lineNumber": line.line_number,
                        "orderLineStatuses": {
                            "orderLineStatus": [
                                {
                                    "status": LineStatus.SHIPPED.value,
                                    "statusQuantity": {"unitOfMeasurement": UNIT, "amount": str(line.quantity)},
                                    "trackingInfo": tracking,
                                }
                            ]
                        },
                    }
                    for line in plan
                ]
            }
        }
    }


def cancel_body(lines: Mapping[str, int], reason: CancelReason) -> dict[str, Any]:
    """`POST /v3/orders/{id}/cancel`'s body: line number -> units to cancel, with the reason."""
    return {
        "orderCancellation": {
            "orderLines": {
                "orderLine": [
                    {
                        "lineNumber": number,
                        "orderLineStatuses": {
                            "orderLineStatus": [
                                {
                                    "status": LineStatus.CANCELLED.value,
                                    "cancellationReason": reason.value,
                                    "statusQuantity": {"unitOfMeasurement": UNIT, "amount": str(quantity)},
                                }
                            ]
                        },
                    }
                    for number, quantity in lines.items()
                ]
            }
        }
    }


def inventory_body(sku: str, available: int) -> dict[str, Any]:
    return {"sku": sku, "quantity": {"unit": UNIT, "amount": max(0, available)}}
