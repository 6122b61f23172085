"""Storefront webhooks: a delivery signed with the channel's secret becomes the right event; a
forged or damaged one is refused before anything reads it, and a body the storefront would never
send is refused with the reason."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest

from connectors.base import InboundKind, PayloadError, SignatureError
from connectors.signing import ORDERLOOP_EVENT_HEADER, ORDERLOOP_SIGNATURE_HEADER, orderloop_webhook_headers
from connectors.storefront import StorefrontConnector
from orderloop.config import ChannelConfig
from tests.connectors.storefront.conftest import WEBHOOK_SECRET, payload, raw_payload


def signed(event: str, body: bytes, secret: str = WEBHOOK_SECRET, delivery_id: str = "dlv_7f3a") -> dict[str, str]:
    return orderloop_webhook_headers(secret, event, body, delivery_id=delivery_id)


@pytest.fixture
async def connector(channel: ChannelConfig) -> AsyncIterator[StorefrontConnector]:
    connector = StorefrontConnector(channel)
    yield connector
    await connector.aclose()


@pytest.mark.parametrize(
    ("event", "fixture", "kind", "updated_at", "detail"),
    [
        ("order.created", "order.json", InboundKind.ORDER_CREATED, datetime(2026, 11, 23, 9, 31, 2, tzinfo=UTC), None),
        ("order.updated", "order.json", InboundKind.ORDER_UPDATED, datetime(2026, 11, 23, 9, 31, 2, tzinfo=UTC), None),
        (
            "order.cancelled",
            "order_cancelled.json",
            InboundKind.ORDER_CANCELLED,
            datetime(2026, 11, 23, 10, 2, 44, tzinfo=UTC),
            "customer changed their mind",
        ),
    ],
)
def test_correctly_signed_delivery_becomes_its_event(
    connector: StorefrontConnector,
    event: str,
    fixture: str,
    kind: InboundKind,
    updated_at: datetime,
    detail: str | None,
) -> None:
    body = raw_payload(fixture)

    parsed = connector.parse_webhook(signed(event, body, delivery_id="dlv_7f3a"), body)

    assert parsed.kind is kind
    assert parsed.external_order_id == "SF-1001"
    assert parsed.event_id == "dlv_7f3a"
    assert parsed.payload == payload(fixture)
    assert parsed.occurred_at == updated_at
    assert parsed.detail == detail
    assert parsed.shipment is None and parsed.stock == ()


def test_headers_are_matched_whatever_their_case(connector: StorefrontConnector) -> None:
    body = raw_payload("order.json")
    # As they arrive over HTTP/2 and as Starlette hands them to the gateway: lower-case.
    headers = httpx.Headers({name.lower(): value for name, value in signed("order.created", body).items()})

    parsed = connector.parse_webhook(headers, body)

    assert parsed.kind is InboundKind.ORDER_CREATED


def test_numeric_external_id_identifies_the_order_as_text(connector: StorefrontConnector) -> None:
    body = b'{"externalId": 1001, "lineItems": []}'

    parsed = connector.parse_webhook(signed("order.created", body), body)

    assert parsed.external_order_id == "1001"


def test_delivery_signed_with_another_secret_is_refused(connector: StorefrontConnector) -> None:
    body = raw_payload("order.json")

    with pytest.raises(SignatureError, match="does not match the body"):
        connector.parse_webhook(signed("order.created", body, secret="someone-elses-secret"), body)


def test_body_changed_after_signing_is_refused(connector: StorefrontConnector) -> None:
    body = raw_payload("order.json")
    headers = signed("order.created", body)
    tampered = body.replace(b'"quantity": 2', b'"quantity": 20')
    assert tampered != body

    with pytest.raises(SignatureError, match="does not match the body"):
        connector.parse_webhook(headers, tampered)


def test_delivery_without_signature_header_is_refused(connector: StorefrontConnector) -> None:
    body = raw_payload("order.json")
    headers = signed("order.created", body)
    del headers[ORDERLOOP_SIGNATURE_HEADER]

    with pytest.raises(SignatureError, match=f"missing {ORDERLOOP_SIGNATURE_HEADER}"):
        connector.parse_webhook(headers, body)


def test_signature_is_checked_before_the_body_is_read(connector: StorefrontConnector) -> None:
    body = b"not json"

    with pytest.raises(SignatureError):
        connector.parse_webhook(signed("order.paid", body, secret="someone-elses-secret"), body)


def test_unknown_event_is_refused_naming_the_events_the_storefront_sends(connector: StorefrontConnector) -> None:
    body = raw_payload("order.json")

    with pytest.raises(PayloadError) as error:
        connector.parse_webhook(signed("order.paid", body), body)

    assert "unknown event 'order.paid'" in str(error.value)
    assert "order.cancelled, order.created, order.updated" in str(error.value)


def test_delivery_without_event_header_is_refused(connector: StorefrontConnector) -> None:
    body = raw_payload("order.json")
    headers = signed("order.created", body)
    del headers[ORDERLOOP_EVENT_HEADER]

    with pytest.raises(PayloadError, match=f"missing {ORDERLOOP_EVENT_HEADER}"):
        connector.parse_webhook(headers, body)


def test_invalid_json_is_refused_with_the_parser_reason(connector: StorefrontConnector) -> None:
    body = b'{"externalId": "SF-1001", "lineItems": ['

    with pytest.raises(PayloadError, match="body is not valid JSON"):
        connector.parse_webhook(signed("order.created", body), body)


@pytest.mark.parametrize(
    ("body", "shown"), [(b'[{"externalId": "SF-1001"}]', "an array"), (b'"SF-1001"', "a string"), (b"null", "null")]
)
def test_body_that_is_not_a_json_object_is_refused(connector: StorefrontConnector, body: bytes, shown: str) -> None:
    with pytest.raises(PayloadError, match=f"body must be a JSON object, not {shown}"):
        connector.parse_webhook(signed("order.created", body), body)


def test_order_without_external_id_cannot_be_routed(connector: StorefrontConnector) -> None:
    body = b'{"name": "#1001", "lineItems": [{"sku": "MUG-11OZ", "quantity": 1}]}'

    with pytest.raises(PayloadError, match="externalId is missing"):
        connector.parse_webhook(signed("order.created", body), body)


def test_unmappable_order_is_still_accepted_for_the_workflow_to_hold(connector: StorefrontConnector) -> None:
    # Routing needs only the order id: an order without lines reaches `invalid_order` with its payload.
    body = b'{"externalId": "SF-1002", "lineItems": []}'

    parsed = connector.parse_webhook(signed("order.created", body), body)

    assert (parsed.kind, parsed.external_order_id, parsed.payload) == (
        InboundKind.ORDER_CREATED,
        "SF-1002",
        {"externalId": "SF-1002", "lineItems": []},
    )
