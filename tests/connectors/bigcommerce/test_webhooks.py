"""BigCommerce webhook verification (Standard Webhooks keyed by the client secret, checked
against the `standardwebhooks` library BigCommerce's docs use) and parsing of its thin bodies."""

from __future__ import annotations

import base64
import json
import time
from datetime import UTC, datetime

import pytest
from standardwebhooks import Webhook

from connectors.base import InboundKind, PayloadError, SignatureError
from connectors.bigcommerce.webhooks import parse_webhook
from tests.connectors.bigcommerce.conftest import CLIENT_SECRET, STORE_HASH, raw_payload, signed_headers


def parse(body: bytes, headers: dict[str, str] | None = None, store_hash: str | None = STORE_HASH):
    return parse_webhook(CLIENT_SECRET, headers or signed_headers(body), body, store_hash)


def test_our_signature_verifies_with_the_library_bigcommerce_documents() -> None:
    body = raw_payload("order_created.json")
    headers = signed_headers(body)

    # BigCommerce's docs hand base64(client_secret) to standardwebhooks.Webhook.
    verified = Webhook(base64.b64encode(CLIENT_SECRET.encode()).decode()).verify(body, headers)

    assert verified == json.loads(body)


def test_a_signature_made_by_the_library_verifies_here() -> None:
    body = raw_payload("order_created.json")
    library = Webhook(base64.b64encode(CLIENT_SECRET.encode()).decode())
    now = datetime.now(UTC)
    headers = {
        "webhook-id": "msg_library",
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": library.sign("msg_library", now, body.decode()),
    }

    event = parse(body, headers)

    assert event.kind is InboundKind.ORDER_CREATED and event.external_order_id == "247"


def test_created_is_an_order_created_event_keyed_by_the_payload_hash() -> None:
    body = raw_payload("order_created.json")

    event = parse(body)

    assert event.kind is InboundKind.ORDER_CREATED
    assert event.event_id == "a1d72d3e7b16bb2f57efb1a4bb0e5b7c0b54ee3f"
    assert event.occurred_at == datetime.fromtimestamp(1561479335, UTC)
    assert event.payload == json.loads(body)


def test_the_same_hash_under_another_webhook_id_is_the_same_delivery() -> None:
    body = raw_payload("order_created.json")

    first = parse(body, signed_headers(body, msg_id="msg_one"))
    second = parse(body, signed_headers(body, msg_id="msg_two"))

    assert first.event_id == second.event_id


def test_a_body_without_hash_is_keyed_by_webhook_id() -> None:
    document = json.loads(raw_payload("order_created.json"))
    del document["hash"]
    body = json.dumps(document).encode()

    assert parse(body, signed_headers(body, msg_id="msg_only")).event_id == "msg_only"


def test_status_update_is_an_edit_and_to_cancelled_a_cancel() -> None:
    body = raw_payload("order_status_updated.json")
    assert parse(body).kind is InboundKind.ORDER_UPDATED

    document = json.loads(body)
    document["data"]["status"]["new_status_id"] = 5
    cancelled = json.dumps(document).encode()
    event = parse(cancelled)
    assert event.kind is InboundKind.ORDER_CANCELLED and event.detail == "cancelled in BigCommerce (status 5)"


@pytest.mark.parametrize("scope", ["store/order/archived", "store/order/message/created", "store/shipment/created"])
def test_other_scopes_are_ignored(scope: str) -> None:
    document = json.loads(raw_payload("order_created.json"))
    document["scope"] = scope
    body = json.dumps(document).encode()

    event = parse(body)

    assert event.kind is InboundKind.IGNORED and event.detail == f"scope {scope} needs no action"


def test_a_wrong_secret_a_changed_body_a_missing_header_and_an_old_timestamp_are_refused() -> None:
    body = raw_payload("order_created.json")
    good = signed_headers(body)
    refused = [
        signed_headers(body, secret="another-apps-secret"),
        {k: v for k, v in good.items() if k != "webhook-signature"},
        signed_headers(body, timestamp=int(time.time()) - 3600),
        {**good, "webhook-signature": "v1,not-base64-at-all"},
    ]
    for headers in refused:
        with pytest.raises(SignatureError) as raised:
            parse(body, headers)
        assert raised.value.status_code == 401
    with pytest.raises(SignatureError):
        parse(body.replace(b"247", b"248"), good)


def test_a_delivery_for_another_store_is_refused() -> None:
    body = raw_payload("order_created.json")

    with pytest.raises(PayloadError, match="producer is 'stores/abc123'; this channel is the store 'stores/other1'"):
        parse(body, store_hash="other1")


def test_a_body_without_scope_or_order_id_is_a_payload_error() -> None:
    for document, reason in (
        ({"data": {"id": 1}}, "no scope"),
        ({"scope": "store/order/created", "data": {}}, "data.id"),
    ):
        body = json.dumps(document).encode()
        with pytest.raises(PayloadError, match=reason) as raised:
            parse(body, store_hash=None)
        assert raised.value.status_code == 400
