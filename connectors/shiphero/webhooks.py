"""ShipHero webhooks: `X-ShipHero-HMAC-SHA256` is the base64 HMAC-SHA256 of the raw body with the
secret `webhook_create` returned; `X-Shiphero-Message-ID` names the delivery (the same on
ShipHero's retries, so the gateway drops repeats); the type is the body's `webhook_type`.

Shipment Update (one per package) becomes SHIPMENT, Order Canceled SHIPMENT_CANCELLED (its
`partner_order_id` is our request id), Inventory Update INVENTORY with absolute on-hand levels;
Return Update (fired on every change of a return) becomes RETURN_RECEIVED once its status is one
the channel counts as received (`return_received_statuses`), and RETURN_PROGRESS (in transit)
while still open with `picked_up` true: its body carries neither our return id (`partner_id`) nor
each line's condition, so `ShipHeroConnector.confirm_event` reads the return back and builds the
receipt or the progress; any other update of a return is IGNORED with its status. Every
other type is IGNORED. ShipHero expects `200 {"code": "200", "Status": "Success"}` within
10 s and retries 5 times, then gives up: shipment polling finds what webhooks missed."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from connectors.base import InboundEvent, InboundKind, MappingError, PayloadError
from connectors.json_values import text
from connectors.shiphero.mapping import ShipHeroSettings, shipment_from_webhook, stock_from_inventory_update
from connectors.signing import base64_hmac_sha256, json_object, verify_base64_hmac

SIGNATURE_HEADER = "X-ShipHero-HMAC-SHA256"
MESSAGE_ID_HEADER = "X-Shiphero-Message-ID"
# The answer ShipHero expects from a webhook endpoint.
ACKNOWLEDGEMENT = {"code": "200", "Status": "Success"}


class WebhookType(StrEnum):
    """`webhook_type` values (the ones Orderloop acts on first)."""

    SHIPMENT_UPDATE = "Shipment Update"
    ORDER_CANCELED = "Order Canceled"
    INVENTORY_UPDATE = "Inventory Update"
    INVENTORY_CHANGE = "Inventory Change"
    ORDER_ALLOCATED = "Order Allocated"
    ORDER_PACKED_OUT = "Order Packed Out"
    RETURN_UPDATE = "Return Update"


def signature(secret: str, body: bytes) -> str:
    return base64_hmac_sha256(secret, body)


def parse_webhook(
    secret: str, headers: Mapping[str, str], body: bytes, settings: ShipHeroSettings, channel_id: str
) -> InboundEvent:
    """Verify first (`SignatureError`), then read the type and its content (`PayloadError`)."""
    verify_base64_hmac(secret, headers.get(SIGNATURE_HEADER), body, SIGNATURE_HEADER)
    payload = json_object(body)
    event_id = (headers.get(MESSAGE_ID_HEADER) or "").strip() or None
    kind_name = text(payload.get("webhook_type"))
    if kind_name is None:
        raise PayloadError("webhook_type is missing")
    if kind_name == WebhookType.SHIPMENT_UPDATE:
        return _shipment(payload, event_id, settings, channel_id)
    if kind_name == WebhookType.ORDER_CANCELED:
        return _cancelled(payload, event_id)
    if kind_name == WebhookType.RETURN_UPDATE:
        return _return_update(payload, event_id, settings)
    if kind_name == WebhookType.INVENTORY_UPDATE:
        try:
            stock = tuple(stock_from_inventory_update(payload.get("inventory"), settings))
        except MappingError as exc:
            raise PayloadError(f"{kind_name}: {exc}") from None
        return InboundEvent(kind=InboundKind.INVENTORY, event_id=event_id, payload=payload, stock=stock)
    return InboundEvent(kind=InboundKind.IGNORED, event_id=event_id, payload=payload, detail=f"type {kind_name}")


def _shipment(payload: dict[str, Any], event_id: str | None, settings: ShipHeroSettings, channel: str) -> InboundEvent:
    fulfillment = payload.get("fulfillment")
    try:
        shipment = shipment_from_webhook(fulfillment, settings, channel)
    except MappingError as exc:
        raise PayloadError(f"{WebhookType.SHIPMENT_UPDATE}: {exc}") from None
    assert isinstance(fulfillment, Mapping)
    return InboundEvent(
        kind=InboundKind.SHIPMENT,
        event_id=event_id,
        payload=payload,
        shipment=shipment,
        occurred_at=shipment.shipped_at,
        detail=f"package {fulfillment.get('package_number')} of {fulfillment.get('total_packages')}",
    )


def _cancelled(payload: dict[str, Any], event_id: str | None) -> InboundEvent:
    request_id = text(payload.get("partner_order_id"))
    if request_id is None:
        raise PayloadError(f"{WebhookType.ORDER_CANCELED}: partner_order_id (our shipping request id) is missing")
    return InboundEvent(
        kind=InboundKind.SHIPMENT_CANCELLED,
        event_id=event_id,
        payload=payload,
        shipping_request_id=request_id,
        detail=f"order {payload.get('order_number') or payload.get('order_uuid')} canceled at ShipHero",
    )


def return_uuid(payload: Mapping[str, Any]) -> str | None:
    """The ShipHero return a Return Update names (its GraphQL id, else its legacy id)."""
    return text(payload.get("return_uuid")) or text(payload.get("return_id"))


def _return_update(payload: dict[str, Any], event_id: str | None, settings: ShipHeroSettings) -> InboundEvent:
    found = return_uuid(payload)
    if found is None:
        raise PayloadError(f"{WebhookType.RETURN_UPDATE}: return_uuid is missing")
    status = payload.get("status")
    detail = f"ShipHero return {payload.get('return_id')} of order {payload.get('order_number')} is {status}"
    if not settings.return_received(status):
        if payload.get("picked_up") is True:
            # The carrier has the parcel: in transit, our return id read back by `confirm_event`.
            return InboundEvent(kind=InboundKind.RETURN_PROGRESS, event_id=event_id, payload=payload, detail=detail)
        return InboundEvent(kind=InboundKind.IGNORED, event_id=event_id, payload=payload, detail=detail)
    # The receipt is built by `confirm_event`, from the return read back (partner_id, conditions).
    return InboundEvent(kind=InboundKind.RETURN_RECEIVED, event_id=event_id, payload=payload, detail=detail)
