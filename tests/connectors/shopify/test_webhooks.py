"""Shopify webhooks: the HMAC over the raw body is checked before anything else, each topic
becomes the event the gateway acts on, and a body the gateway cannot route is refused with the
reason."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from connectors.base import InboundKind, PayloadError, SignatureError
from connectors.shopify import ShopifyConnector
from connectors.shopify.webhooks import parse_webhook
from tests.connectors.shopify.conftest import WEBHOOK_SECRET, make_channel, payload, raw_payload, shopify_headers


def test_valid_hmac_is_accepted_and_orders_create_starts_an_order() -> None:
    body = raw_payload("order.json")
    event = parse_webhook(WEBHOOK_SECRET, shopify_headers(body, "orders/create"), body)
    assert event.kind is InboundKind.ORDER_CREATED
    assert event.external_order_id == "450789469"
    assert event.event_id == "98880550-7158-44d4-b7cd-2c97c8a091b5"
    assert event.payload == payload("order.json")
    # The state's time: the order's updated_at (-05:00), not when the delivery was triggered.
    assert event.occurred_at == datetime(2026, 11, 23, 14, 30, 16, tzinfo=UTC)
    assert event.detail is None


def test_headers_are_read_whatever_their_case() -> None:
    body = raw_payload("order.json")
    lower = {k.lower(): v for k, v in shopify_headers(body, "orders/updated").items()}
    assert parse_webhook(WEBHOOK_SECRET, lower, body).kind is InboundKind.ORDER_UPDATED


def test_wrong_secret_is_refused_as_a_signature_error() -> None:
    body = raw_payload("order.json")
    with pytest.raises(SignatureError, match="does not match the body") as caught:
        parse_webhook(WEBHOOK_SECRET, shopify_headers(body, "orders/create", secret="someone-else"), body)
    assert caught.value.status_code == 401


def test_missing_hmac_is_refused_as_a_signature_error() -> None:
    body = raw_payload("order.json")
    headers = shopify_headers(body, "orders/create")
    del headers["X-Shopify-Hmac-Sha256"]
    with pytest.raises(SignatureError, match="missing X-Shopify-Hmac-Sha256") as caught:
        parse_webhook(WEBHOOK_SECRET, headers, body)
    assert caught.value.status_code == 401


def test_a_body_changed_after_signing_is_refused() -> None:
    body = raw_payload("order.json")
    headers = shopify_headers(body, "orders/create")
    with pytest.raises(SignatureError):
        parse_webhook(WEBHOOK_SECRET, headers, body.replace(b'"paid"', b'"pending"'))


@pytest.mark.parametrize(
    ("topic", "kind"),
    [
        ("orders/create", InboundKind.ORDER_CREATED),
        ("orders/updated", InboundKind.ORDER_UPDATED),
        ("orders/cancelled", InboundKind.ORDER_CANCELLED),
        ("orders/paid", InboundKind.IGNORED),
        ("orders/fulfilled", InboundKind.IGNORED),
        ("orders/partially_fulfilled", InboundKind.IGNORED),
        ("products/update", InboundKind.IGNORED),
    ],
)
def test_each_topic_becomes_its_event(topic: str, kind: InboundKind) -> None:
    body = raw_payload("order.json")
    event = parse_webhook(WEBHOOK_SECRET, shopify_headers(body, topic), body)
    assert event.kind is kind
    assert event.event_id == "98880550-7158-44d4-b7cd-2c97c8a091b5"
    if kind is not InboundKind.IGNORED:
        assert event.external_order_id == "450789469"


def test_orders_cancelled_carries_the_reason() -> None:
    raw = payload("order.json") | {"cancelled_at": "2026-11-23T10:00:00-05:00", "cancel_reason": "customer"}
    body = json.dumps(raw).encode()
    event = parse_webhook(WEBHOOK_SECRET, shopify_headers(body, "orders/cancelled"), body)
    assert event.kind is InboundKind.ORDER_CANCELLED
    assert event.detail == "cancelled in Shopify (reason: customer)"


def test_orders_updated_for_a_cancelled_order_is_a_cancel() -> None:
    raw = payload("order.json") | {"cancelled_at": "2026-11-23T10:00:00-05:00", "cancel_reason": "fraud"}
    body = json.dumps(raw).encode()
    event = parse_webhook(WEBHOOK_SECRET, shopify_headers(body, "orders/updated"), body)
    assert event.kind is InboundKind.ORDER_CANCELLED
    assert event.external_order_id == "450789469"
    assert event.detail == "cancelled in Shopify (reason: fraud)"


def test_orders_edited_is_ignored_because_orders_updated_follows_it() -> None:
    body = raw_payload("order_edit.json")
    event = parse_webhook(WEBHOOK_SECRET, shopify_headers(body, "orders/edited"), body)
    assert event.kind is InboundKind.IGNORED
    assert event.external_order_id == "450789469"
    assert event.occurred_at == datetime(2026, 11, 23, 16, 2, 40, tzinfo=UTC)
    assert event.detail is not None and "orders/updated" in event.detail


def test_orders_edited_without_an_order_id_is_a_payload_error() -> None:
    body = json.dumps({"order_edit": {"id": 1}}).encode()
    with pytest.raises(PayloadError, match=r"order_edit.order_id is missing"):
        parse_webhook(WEBHOOK_SECRET, shopify_headers(body, "orders/edited"), body)


def test_event_id_falls_back_to_the_webhook_id() -> None:
    body = raw_payload("order.json")
    headers = shopify_headers(body, "orders/create")
    del headers["X-Shopify-Event-Id"]
    assert parse_webhook(WEBHOOK_SECRET, headers, body).event_id == "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043"
    del headers["X-Shopify-Webhook-Id"]
    assert parse_webhook(WEBHOOK_SECRET, headers, body).event_id is None


def test_bad_json_is_a_payload_error_with_the_reason() -> None:
    body = b'{"id": 450789469, "line_items": ['
    with pytest.raises(PayloadError, match="body is not valid JSON") as caught:
        parse_webhook(WEBHOOK_SECRET, shopify_headers(body, "orders/create"), body)
    assert caught.value.status_code == 400


def test_a_json_array_is_a_payload_error() -> None:
    body = b"[1, 2]"
    with pytest.raises(PayloadError, match="must be a JSON object, not an array"):
        parse_webhook(WEBHOOK_SECRET, shopify_headers(body, "orders/create"), body)


@pytest.mark.parametrize("order_id", [None, "", "gid://shopify/Order/1", 0])
def test_order_without_an_id_is_a_payload_error(order_id: object) -> None:
    body = json.dumps(payload("order.json") | {"id": order_id}).encode()
    with pytest.raises(PayloadError, match="order id is missing or not a Shopify id"):
        parse_webhook(WEBHOOK_SECRET, shopify_headers(body, "orders/updated"), body)


def test_missing_topic_is_a_payload_error() -> None:
    body = raw_payload("order.json")
    headers = shopify_headers(body, "orders/create")
    del headers["X-Shopify-Topic"]
    with pytest.raises(PayloadError, match="missing X-Shopify-Topic"):
        parse_webhook(WEBHOOK_SECRET, headers, body)


def test_a_delivery_for_another_shop_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    connector = ShopifyConnector(make_channel(monkeypatch, base_url="https://orderloop-apparel.myshopify.com"))
    body = raw_payload("order.json")
    assert connector.parse_webhook(shopify_headers(body, "orders/create"), body).kind is InboundKind.ORDER_CREATED
    other = shopify_headers(body, "orders/create", **{"X-Shopify-Shop-Domain": "another-shop.myshopify.com"})
    with pytest.raises(PayloadError, match=r"this channel is the shop 'orderloop-apparel\.myshopify\.com'"):
        connector.parse_webhook(other, body)


def test_the_connector_verifies_with_its_webhook_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    connector = ShopifyConnector(make_channel(monkeypatch))
    body = raw_payload("order.json")
    assert connector.parse_webhook(shopify_headers(body, "orders/create"), body).external_order_id == "450789469"
    monkeypatch.setenv("ORDERLOOP_SHOPIFY_WEBHOOK_SECRET", "rotated-secret")
    with pytest.raises(SignatureError):
        connector.parse_webhook(shopify_headers(body, "orders/create"), body)
