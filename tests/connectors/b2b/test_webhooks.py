"""Portal webhooks: Standard Webhooks signatures over the raw body with the delivery id and the
timestamp, refused when wrong, missing or outside the replay window; the delivery id is the
dedup key (the same on a redelivery); the sandbox delivers duplicates and out of order on demand."""

from __future__ import annotations

import json
import time

import pytest
from standardwebhooks.webhooks import Webhook as StandardWebhook

from connectors.b2b.webhooks import TOLERANCE_SECONDS, parse_webhook
from connectors.base import InboundKind, PayloadError, SignatureError
from connectors.signing import standard_webhook_signature
from tests.connectors.b2b.conftest import WEBHOOK_SECRET, Portal, payload, portal_order
from tests.connectors.webhook_receiver import WebhookReceiver


def signed(body: bytes, *, webhook_id: str = "msg_1", at: int | None = None) -> dict[str, str]:
    ts = int(time.time()) if at is None else at
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(ts),
        "webhook-signature": standard_webhook_signature(WEBHOOK_SECRET, webhook_id, ts, body),
    }


def envelope(kind: str = "order.created", **data: object) -> bytes:
    return json.dumps({"type": kind, "timestamp": "2026-11-30T14:05:01Z", "data": {**payload(), **data}}).encode()


def test_a_signed_order_created_parses_with_its_delivery_id() -> None:
    body = envelope()

    event = parse_webhook(WEBHOOK_SECRET, signed(body, webhook_id="msg_abc"), body)

    assert (event.kind, event.event_id, event.external_order_id) == (InboundKind.ORDER_CREATED, "msg_abc", "B2B-10001")
    assert event.payload == json.loads(body)


def test_a_cancel_carries_the_buyers_reason() -> None:
    body = envelope("order.cancelled", cancelReason="store closing")

    event = parse_webhook(WEBHOOK_SECRET, signed(body), body)

    assert (event.kind, event.detail) == (InboundKind.ORDER_CANCELLED, "store closing")


def test_a_body_changed_after_signing_is_refused() -> None:
    body = envelope()
    headers = signed(body)

    with pytest.raises(SignatureError, match="does not match"):
        parse_webhook(WEBHOOK_SECRET, headers, body.replace(b"4500012345", b"4500099999"))


@pytest.mark.parametrize("skew", [TOLERANCE_SECONDS + 1, -(TOLERANCE_SECONDS + 1)])
def test_a_delivery_outside_the_replay_window_is_refused(skew: int) -> None:
    body = envelope()
    now = time.time()

    with pytest.raises(SignatureError, match="tolerance window"):
        parse_webhook(WEBHOOK_SECRET, signed(body, at=int(now) - skew), body, now=now)


def test_a_delivery_without_signature_headers_is_refused() -> None:
    with pytest.raises(SignatureError, match="missing webhook-id"):
        parse_webhook(WEBHOOK_SECRET, {}, envelope())


def test_an_envelope_without_an_order_id_is_a_payload_error() -> None:
    body = json.dumps({"type": "order.created", "data": {"lineItems": []}}).encode()

    with pytest.raises(PayloadError, match="externalId"):
        parse_webhook(WEBHOOK_SECRET, signed(body), body)


def test_another_event_type_is_ignored() -> None:
    body = json.dumps({"type": "account.updated", "data": {"id": "acme"}}).encode()

    event = parse_webhook(WEBHOOK_SECRET, signed(body), body)

    assert event.kind is InboundKind.IGNORED and event.detail == "event account.updated"


async def test_the_sandbox_signs_each_attempt_and_duplicates_keep_the_delivery_id(
    portal: Portal, receiver: WebhookReceiver
) -> None:
    placed = await portal.http.post("/_sandbox/orders", params={"duplicate": "true"}, json=portal_order("B2B-1"))
    await portal.webhooks_sent()

    first, again = (portal.connector.parse_webhook(d.headers, d.body) for d in receiver.received)

    assert placed.status_code == 202
    assert first.event_id == again.event_id == placed.json()["deliveryIds"][0]
    assert first.external_order_id == again.external_order_id == "B2B-1"


async def test_the_sandbox_delivers_out_of_order_on_demand(portal: Portal, receiver: WebhookReceiver) -> None:
    await portal.http.post("/_sandbox/webhooks/hold")
    await portal.http.post("/_sandbox/orders", json=portal_order("B2B-2"))
    await portal.http.post("/_sandbox/orders/B2B-2/edit", json={"routingInstructions": "dock 9"})
    await portal.http.post("/_sandbox/webhooks/release", params={"order": "reverse"})
    await portal.webhooks_sent()

    kinds = [portal.connector.parse_webhook(d.headers, d.body).kind for d in receiver.received]

    assert kinds == [InboundKind.ORDER_UPDATED, InboundKind.ORDER_CREATED]


async def test_a_webhook_signed_with_another_secret_is_refused(portal: Portal, receiver: WebhookReceiver) -> None:
    await portal.http.post("/_sandbox/orders", params={"bad_signature": "true"}, json=portal_order("B2B-3"))
    await portal.webhooks_sent()

    [delivery] = receiver.received
    with pytest.raises(SignatureError):
        portal.connector.parse_webhook(delivery.headers, delivery.body)


async def test_an_order_for_an_unknown_account_is_refused_by_the_portal(portal: Portal) -> None:
    response = await portal.http.post("/_sandbox/orders", json=portal_order("B2B-4", account={"id": "nobody"}))

    assert response.status_code == 404 and "no account 'nobody'" in response.text


async def test_the_sandboxs_deliveries_verify_with_the_standard_webhooks_library(
    portal: Portal, receiver: WebhookReceiver
) -> None:
    """The spec's own verifier (standardwebhooks) accepts what the portal sandbox sends, so a
    receiver written from the spec, not from our code, takes the portal's webhooks."""
    await portal.http.post("/_sandbox/orders", json=portal_order("B2B-5"))
    await portal.webhooks_sent()

    [delivery] = receiver.received
    verified = StandardWebhook(WEBHOOK_SECRET).verify(delivery.body, dict(delivery.headers))

    assert verified["type"] == "order.created" and verified["data"]["externalId"] == "B2B-5"
