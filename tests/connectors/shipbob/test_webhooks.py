"""ShipBob webhooks: Standard Webhooks signatures, topics, event ids, and deliveries in any order."""

from __future__ import annotations

import base64
import json
import time
from datetime import UTC, datetime
from typing import Any

import pytest

from connectors.base import InboundKind, PayloadError, SignatureError
from connectors.shipbob import ShipBobConnector
from connectors.signing import standard_webhook_signature
from orderloop.config import ChannelConfig
from orderloop.contracts import FulfillmentStatus
from tests.connectors.shipbob.conftest import WEBHOOK_SECRET, fixture, fixture_bytes

OTHER_SECRET = "whsec_" + base64.b64encode(b"somebody-else-entirely").decode()


def signed(
    body: bytes,
    topic: str | None = "order.shipped",
    *,
    secret: str = WEBHOOK_SECRET,
    msg_id: str = "msg_2xJ9pQ7Lr0aZ",
    timestamp: int | None = None,
) -> dict[str, str]:
    ts = int(time.time()) if timestamp is None else timestamp
    headers = {
        "content-type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(ts),
        "webhook-signature": standard_webhook_signature(secret, msg_id, ts, body),
    }
    if topic is not None:
        headers["x-webhook-topic"] = topic
    return headers


@pytest.fixture
def connector(channel: ChannelConfig) -> ShipBobConnector:
    return ShipBobConnector(channel)


def test_valid_order_shipped_is_a_shipment_keyed_by_webhook_id(connector: ShipBobConnector) -> None:
    body = fixture_bytes("order_shipped.json")
    event = connector.parse_webhook(signed(body, msg_id="msg_31eW7bWRi16lL0Ajjik68kfyeUh"), body)
    assert event.kind is InboundKind.SHIPMENT
    assert event.event_id == "msg_31eW7bWRi16lL0Ajjik68kfyeUh"
    assert event.shipment is not None
    assert event.shipment.shipping_request_id == "order/storefront/1001/sr1"
    assert event.shipment.id == "shipbob-200000123"
    assert event.shipment.fulfillment_channel_id == "shipbob"
    assert event.occurred_at == event.shipment.shipped_at
    assert event.payload["order_id"] == 100000045


def test_rotated_secrets_any_matching_signature_is_accepted(connector: ShipBobConnector) -> None:
    body = fixture_bytes("order_shipped.json")
    headers = signed(body)
    old = signed(body, secret=OTHER_SECRET, timestamp=int(headers["webhook-timestamp"]))["webhook-signature"]
    headers["webhook-signature"] = f"{old} {headers['webhook-signature']}"
    assert connector.parse_webhook(headers, body).kind is InboundKind.SHIPMENT


@pytest.mark.parametrize(
    ("tamper", "reason"),
    [
        (lambda h, b: (h | {"webhook-signature": "v1,bm90IHRoZSByaWdodCBzaWduYXR1cmU="}, b), "does not match"),
        (lambda h, b: (h, b.replace(b"9400111202555842761023", b"9400111202555842760000")), "does not match"),
        (lambda h, b: (h | {"webhook-id": "msg_other"}, b), "does not match"),
        (lambda h, b: ({k: v for k, v in h.items() if k != "webhook-signature"}, b), "missing"),
        (lambda h, b: ({k: v for k, v in h.items() if k != "webhook-id"}, b), "missing"),
        (lambda h, b: (h | {"webhook-timestamp": "yesterday"}, b), "not an integer"),
    ],
)
def test_wrong_or_missing_signature_is_refused(connector: ShipBobConnector, tamper: Any, reason: str) -> None:
    body = fixture_bytes("order_shipped.json")
    headers, sent = tamper(signed(body), body)
    with pytest.raises(SignatureError, match=reason):
        connector.parse_webhook(headers, sent)


def test_signature_with_another_secret_is_refused(connector: ShipBobConnector) -> None:
    body = fixture_bytes("order_shipped.json")
    with pytest.raises(SignatureError, match="does not match"):
        connector.parse_webhook(signed(body, secret=OTHER_SECRET), body)


def test_expired_or_future_timestamp_is_refused_even_when_signed(connector: ShipBobConnector) -> None:
    body = fixture_bytes("order_shipped.json")
    for skew in (-3600, 3600):
        with pytest.raises(SignatureError, match="tolerance"):
            connector.parse_webhook(signed(body, timestamp=int(time.time()) + skew), body)


def test_misconfigured_secret_is_a_signature_error_that_says_so(
    channel: ChannelConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ORDERLOOP_TEST_SHIPBOB_WEBHOOK_SECRET", "whsec_not*base64!")
    body = fixture_bytes("order_shipped.json")
    with pytest.raises(SignatureError, match="whsec_"):
        ShipBobConnector(channel).parse_webhook(signed(body), body)


def test_shipment_cancelled_topic(connector: ShipBobConnector) -> None:
    body = fixture_bytes("shipment_cancelled.json")
    event = connector.parse_webhook(signed(body, "order.shipment.cancelled", msg_id="msg_c1"), body)
    assert event.kind is InboundKind.SHIPMENT_CANCELLED
    assert event.event_id == "msg_c1"
    assert event.shipment is None
    assert event.shipping_request_id == "order/storefront/1002/sr1"
    assert "shipbob-200000124" in (event.detail or "")


@pytest.mark.parametrize(
    ("fixture_name", "topic", "status", "reason"),
    [
        ("shipment_on_hold.json", "order.shipment.on_hold", "on_hold", "The address could not be validated"),
        ("shipment_exception.json", "order.shipment.exception", "exception", "Not enough inventory"),
    ],
)
def test_a_hold_or_an_exception_at_shipbob_is_a_fulfillment_update_with_its_reason(
    connector: ShipBobConnector, fixture_name: str, topic: str, status: str, reason: str
) -> None:
    body = fixture_bytes(fixture_name)
    event = connector.parse_webhook(signed(body, topic, msg_id="msg_h1"), body)
    assert event.kind is InboundKind.FULFILLMENT_UPDATE and event.event_id == "msg_h1"
    assert event.fulfillment is not None
    assert event.fulfillment.request_id == fixture(fixture_name)["reference_id"]
    assert event.fulfillment.status == status and event.fulfillment.holds
    assert reason in (event.fulfillment.reason or "")


def test_a_delivered_shipment_is_a_fulfillment_update_with_its_delivery_date(connector: ShipBobConnector) -> None:
    body = fixture_bytes("shipment_delivered.json")
    event = connector.parse_webhook(signed(body, "order.shipment.delivered"), body)
    assert event.kind is InboundKind.FULFILLMENT_UPDATE and event.fulfillment is not None
    assert event.fulfillment.status is FulfillmentStatus.DELIVERED
    assert event.fulfillment.request_id == "order/storefront/1001/sr1"
    assert event.fulfillment.at == datetime(2026, 3, 5, 18, 0, tzinfo=UTC)


@pytest.mark.parametrize("topic", ["order.shipment.tracking.updated", "order.delivered", "return.created"])
def test_other_topics_are_ignored_but_verified(connector: ShipBobConnector, topic: str) -> None:
    body = fixture_bytes("order_shipped.json")
    event = connector.parse_webhook(signed(body, topic, msg_id="msg_other_topic"), body)
    assert event.kind is InboundKind.IGNORED
    assert event.event_id == "msg_other_topic"
    with pytest.raises(SignatureError):
        connector.parse_webhook(signed(body, topic, secret=OTHER_SECRET), body)


def test_topic_may_come_from_the_body_when_the_header_is_absent(connector: ShipBobConnector) -> None:
    body = json.dumps(fixture("order_shipped.json") | {"topic": "order.shipped"}).encode()
    assert connector.parse_webhook(signed(body, topic=None), body).kind is InboundKind.SHIPMENT


def test_missing_topic_bad_json_and_unusable_shipment_are_payload_errors(connector: ShipBobConnector) -> None:
    body = fixture_bytes("order_shipped.json")
    with pytest.raises(PayloadError, match="x-webhook-topic"):
        connector.parse_webhook(signed(body, topic=None), body)
    garbage = b"{not json"
    with pytest.raises(PayloadError, match="not valid JSON"):
        connector.parse_webhook(signed(garbage), garbage)
    array = b"[1, 2]"
    with pytest.raises(PayloadError, match="JSON object"):
        connector.parse_webhook(signed(array), array)
    empty = json.dumps(fixture("order_shipped.json") | {"products": []}).encode()
    with pytest.raises(PayloadError, match=r"order\.shipped: .*products"):
        connector.parse_webhook(signed(empty), empty)


def test_late_shipped_delivery_with_a_newer_snapshot_is_still_the_same_shipment(connector: ShipBobConnector) -> None:
    """ShipBob retries for a day and does not keep order: an `order.shipped` that arrives after the
    shipment moved on (Completed, even delivered) maps to the same shipment with the same lines."""
    first = fixture_bytes("order_shipped.json")
    late = json.dumps(
        fixture("order_shipped.json") | {"status": "Completed", "delivery_date": "2026-03-05T18:00:00Z"}
    ).encode()
    on_time = connector.parse_webhook(signed(first, msg_id="msg_a"), first)
    delayed = connector.parse_webhook(signed(late, msg_id="msg_b"), late)
    assert delayed.kind is InboundKind.SHIPMENT
    assert delayed.shipment == on_time.shipment


def test_enveloped_body_is_read_from_its_data(connector: ShipBobConnector) -> None:
    body = json.dumps({"topic": "order.shipped", "data": fixture("order_shipped.json")}).encode()
    event = connector.parse_webhook(signed(body), body)
    assert event.shipment is not None and event.shipment.id == "shipbob-200000123"
