"""onX return documents <-> the canonical return, shared by the connectors whose APIs speak onX
(the storefront's return requests and "return received" notices, the WMS's expected returns and
receipts): `returnLineItems` with `orderLineItemId`, `sku`, `quantityReturned`, `returnReason`,
and, once inspected, `inspection.conditionCategory` (one of `ReturnCondition`)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from connectors.base import MappingError, validated_by
from connectors.json_values import text, utc_time
from connectors.signing import json_type
from orderloop.model import Address
from orderloop.returns_model import (
    ExchangeLine,
    ExpectedReturn,
    ReceivedUnits,
    ReturnCondition,
    ReturnLabel,
    ReturnLine,
    ReturnOutcome,
    ReturnReceipt,
    ReturnRequest,
    onx_time,
)


def return_order_id(raw: Mapping[str, Any]) -> str | None:
    """The channel's order id an onX return names (`orderId`)."""
    value = raw.get("orderId") if isinstance(raw, Mapping) else None
    return text(value) if isinstance(value, str | int) else None


def return_external_id(raw: Mapping[str, Any]) -> str | None:
    value = raw.get("externalId") if isinstance(raw, Mapping) else None
    return text(value) if isinstance(value, str | int) else None


def map_return(
    raw: Mapping[str, Any], *, return_id: str, tenant_id: str, channel_id: str, order_id: str, received_at: datetime
) -> ReturnRequest:
    """An onX return as a selling channel sends it -> `ReturnRequest`; `MappingError` says why not."""
    if not isinstance(raw, Mapping):
        raise MappingError(f"the return must be a JSON object, not {json_type(raw)}")
    external_id = return_external_id(raw)
    if external_id is None:
        raise MappingError("externalId (the channel's return id) is missing")
    external_order = return_order_id(raw)
    if external_order is None:
        raise MappingError("orderId (the channel's order id) is missing")
    outcome = raw.get("outcome", ReturnOutcome.REFUND)
    if outcome not in set(ReturnOutcome):
        raise MappingError(f"outcome {outcome!r} is not one of {', '.join(ReturnOutcome)}")
    return validated_by(
        lambda: ReturnRequest(
            id=return_id,
            external_id=external_id,
            channel_id=channel_id,
            tenant_id=tenant_id,
            order_id=order_id,
            external_order_id=external_order,
            created_at=utc_time(raw.get("createdAt")) or received_at,
            updated_at=utc_time(raw.get("updatedAt")) or received_at,
            requested_at=utc_time(raw.get("requestedAt")),
            outcome=ReturnOutcome(outcome),
            return_number=text(raw.get("returnNumber")),
            return_line_items=_lines(raw.get("returnLineItems")),
            exchange_line_items=[ExchangeLine.model_validate(line) for line in _list(raw, "exchangeLineItems")],
            labels=[ReturnLabel.model_validate(label) for label in _list(raw, "labels")],
            return_shipping_address=_address(raw.get("returnShippingAddress")),
            customer_note=text(raw.get("customerNote")),
            tags=[str(tag) for tag in _list(raw, "tags")],
        ),
    )


def _list(raw: Mapping[str, Any], key: str) -> list[Any]:
    value = raw.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise MappingError(f"{key} must be an array, not {json_type(value)}")
    return value


def _address(value: Any) -> Address | None:
    return Address.model_validate(value) if isinstance(value, Mapping) else None


def _lines(value: Any) -> list[ReturnLine]:
    if not isinstance(value, list) or not value:
        raise MappingError("returnLineItems must be a non-empty array")
    lines = []
    for i, item in enumerate(value):
        if not isinstance(item, Mapping):
            raise MappingError(f"returnLineItems[{i}] must be an object")
        for key in ("orderLineItemId", "sku"):
            if text(item.get(key)) is None:
                raise MappingError(f"returnLineItems[{i}].{key} is missing")
        quantity = _count(item.get("quantityReturned"), f"returnLineItems[{i}].quantityReturned")
        lines.append(
            ReturnLine(
                id=text(item.get("id")) or str(i + 1),
                order_line_item_id=str(text(item.get("orderLineItemId"))),
                sku=str(text(item.get("sku"))),
                quantity_returned=quantity,
                return_reason=text(item.get("returnReason")) or "unspecified",
                name=text(item.get("name")),
                unit_price=item.get("unitPrice"),
            )
        )
    return lines


def _count(value: Any, where: str) -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise MappingError(f"{where} must be a positive integer, got {value!r}")
    return value


# --- the warehouse side ------------------------------------------------------------------------


def expected_return_body(expected: ExpectedReturn) -> dict[str, Any]:
    """What a warehouse is told to expect, as an onX return: our return id is its `externalId`."""
    body: dict[str, Any] = {
        "externalId": expected.return_id,
        "orderId": expected.order_id,
        "orderExternalId": expected.external_order_id,
        "channelId": expected.channel_id,
        "locationId": expected.location_id,
        "returnLineItems": [line.to_onx() for line in expected.lines],
        "createdAt": onx_time(expected.created_at),
    }
    if expected.from_address is not None:
        body["returnShippingAddress"] = expected.from_address.to_onx()
    return body


def receipt_from_onx(raw: Any, event_id: str | None) -> ReturnReceipt:
    """A warehouse's receipt (an onX return whose lines carry their inspection) -> `ReturnReceipt`."""
    if not isinstance(raw, Mapping):
        raise MappingError(f"a return receipt must be a JSON object, not {json_type(raw)}")
    return_id = return_external_id(raw)
    if return_id is None:
        raise MappingError("externalId (Orderloop's return id) is missing")
    items = raw.get("returnLineItems")
    if not isinstance(items, list) or not items:
        raise MappingError("returnLineItems must be a non-empty array")
    units = []
    for i, item in enumerate(items):
        if not isinstance(item, Mapping) or text(item.get("sku")) is None:
            raise MappingError(f"returnLineItems[{i}].sku is missing")
        inspection = item.get("inspection")
        condition = inspection.get("conditionCategory") if isinstance(inspection, Mapping) else None
        if condition not in set(ReturnCondition):
            raise MappingError(
                f"returnLineItems[{i}].inspection.conditionCategory {condition!r} is not one of "
                f"{', '.join(ReturnCondition)}"
            )
        units.append(
            ReceivedUnits(
                sku=str(text(item.get("sku"))),
                quantity=_count(item.get("quantityReturned"), f"returnLineItems[{i}].quantityReturned"),
                condition=ReturnCondition(condition),
                line_id=text(item.get("id")),
                note=text(inspection.get("note")) if isinstance(inspection, Mapping) else None,
            )
        )
    return ReturnReceipt(
        return_id=return_id,
        lines=units,
        location_id=text(raw.get("locationId")),
        received_at=utc_time(raw.get("receivedAt")),
        event_id=event_id,
    )


def received_notice_body(request: ReturnRequest, receipt: ReturnReceipt) -> dict[str, Any]:
    """What a selling channel is told once the return was received: each unit's condition."""
    return {
        "returnId": request.external_id,
        "orderId": request.external_order_id,
        "status": "received",
        "receivedAt": onx_time(receipt.received_at or request.updated_at),
        "returnLineItems": [
            {"sku": u.sku, "quantityReturned": u.quantity, "inspection": {"conditionCategory": u.condition}}
            for u in receipt.lines
        ],
    }
