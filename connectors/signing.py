"""Webhook signature schemes shared by several connectors.

- Orderloop's own scheme (generic storefront and WMS): `X-Orderloop-Signature: sha256=<hex>`,
  the hex HMAC-SHA256 of the raw body.
- Standard Webhooks (ShipBob, BigCommerce): `webhook-id`, `webhook-timestamp`,
  `webhook-signature: v1,<base64>` over `{id}.{timestamp}.{body}`, key = base64 of the
  secret after `whsec_`.
- Base64 HMAC-SHA256 of the raw body (Shopify, ShipHero).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from connectors.base import PayloadError, SignatureError

ORDERLOOP_SIGNATURE_HEADER = "X-Orderloop-Signature"
ORDERLOOP_EVENT_HEADER = "X-Orderloop-Event"
ORDERLOOP_DELIVERY_HEADER = "X-Orderloop-Delivery"


def hex_hmac_sha256(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def base64_hmac_sha256(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def orderloop_signature(secret: str, body: bytes) -> str:
    return f"sha256={hex_hmac_sha256(secret, body)}"


def verify_orderloop_signature(secret: str, headers: Mapping[str, str], body: bytes) -> None:
    given = headers.get(ORDERLOOP_SIGNATURE_HEADER)
    if not given:
        raise SignatureError(f"missing {ORDERLOOP_SIGNATURE_HEADER} header")
    if not hmac.compare_digest(given.strip(), orderloop_signature(secret, body)):
        raise SignatureError(f"{ORDERLOOP_SIGNATURE_HEADER} does not match the body")


def orderloop_webhook_headers(secret: str, event: str, body: bytes, delivery_id: str | None = None) -> dict[str, str]:
    """Every header of a delivery signed with Orderloop's scheme (what the sandboxes send)."""
    return {
        "Content-Type": "application/json",
        ORDERLOOP_EVENT_HEADER: event,
        ORDERLOOP_DELIVERY_HEADER: delivery_id or uuid.uuid4().hex,
        ORDERLOOP_SIGNATURE_HEADER: orderloop_signature(secret, body),
    }


def json_type(value: Any) -> str:
    """The JSON name of a decoded value's type, for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "an array" if isinstance(value, list) else "an object"


@dataclass(frozen=True)
class OrderloopDelivery:
    """A verified delivery in Orderloop's scheme: its event name, delivery id and JSON object."""

    event: str
    delivery_id: str | None
    payload: dict[str, Any]


def json_object(body: bytes) -> dict[str, Any]:
    """A webhook body as the JSON object every vendor sends; `PayloadError` with the reason."""
    try:
        payload = json.loads(body)
    except ValueError as exc:
        raise PayloadError(f"body is not valid JSON: {exc}") from None
    if not isinstance(payload, dict):
        raise PayloadError(f"body must be a JSON object, not {json_type(payload)}")
    return payload


def read_orderloop_delivery(
    secret: str, headers: Mapping[str, str], body: bytes, events: Collection[str]
) -> OrderloopDelivery:
    """Verify the signature first (`SignatureError`), then check the event name is one of
    `events` and the body a JSON object (`PayloadError` with the reason)."""
    verify_orderloop_signature(secret, headers, body)
    event = (headers.get(ORDERLOOP_EVENT_HEADER) or "").strip()
    if not event:
        raise PayloadError(f"missing {ORDERLOOP_EVENT_HEADER} header")
    if event not in events:
        raise PayloadError(
            f"unknown event {event!r} in {ORDERLOOP_EVENT_HEADER}; expected one of {', '.join(sorted(events))}"
        )
    payload = json_object(body)
    delivery_id = (headers.get(ORDERLOOP_DELIVERY_HEADER) or "").strip() or None
    return OrderloopDelivery(event=event, delivery_id=delivery_id, payload=payload)


def verify_base64_hmac(secret: str, given: str | None, body: bytes, header: str) -> None:
    if not given:
        raise SignatureError(f"missing {header} header")
    if not hmac.compare_digest(given.strip(), base64_hmac_sha256(secret, body)):
        raise SignatureError(f"{header} does not match the body")


def verify_header_token(expected: str, header: str, headers: Mapping[str, str], *, missing_hint: str) -> None:
    """For a sender that signs nothing (Logiwa's webhooks, Amazon's notification relay): the token
    the brand configured on it, in `header`, compared in constant time. `missing_hint` says
    where to set it."""
    given = headers.get(header)
    if not given:
        raise SignatureError(f"missing {header} header ({missing_hint})")
    if not hmac.compare_digest(given.strip().encode(), expected.encode()):
        raise SignatureError(f"wrong {header}: not this channel's token")


def _standard_key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix("whsec_"))


def standard_webhook_signature(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(_standard_key(secret), signed, hashlib.sha256).digest()
    return f"v1,{base64.b64encode(digest).decode()}"


def verify_standard_webhook(
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    tolerance_seconds: int = 300,
    now: float | None = None,
) -> str:
    """Verify a Standard Webhooks delivery; returns its `webhook-id`."""
    msg_id = headers.get("webhook-id")
    timestamp = headers.get("webhook-timestamp")
    signatures = headers.get("webhook-signature")
    if not msg_id or not timestamp or not signatures:
        raise SignatureError("missing webhook-id, webhook-timestamp or webhook-signature header")
    try:
        ts = int(timestamp)
    except ValueError:
        raise SignatureError("webhook-timestamp is not an integer") from None
    current = time.time() if now is None else now
    if abs(current - ts) > tolerance_seconds:
        raise SignatureError("webhook-timestamp is outside the tolerance window (replayed or clock skew)")
    expected = standard_webhook_signature(secret, msg_id, ts, body).split(",", 1)[1]
    for candidate in signatures.split():
        version, _, value = candidate.partition(",")
        if version == "v1" and hmac.compare_digest(value, expected):
            return msg_id
    raise SignatureError("webhook-signature does not match the body")
