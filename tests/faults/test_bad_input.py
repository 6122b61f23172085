"""Bad input against the gateway: generated requests over the OpenAPI spec (schemathesis) never
get a 500, and each hand-made bad request gets its clear error: oversized body 413, wrong
content type 415, invalid UTF-8 400, missing or wrong signature 401, unknown channel 404."""

from __future__ import annotations

import json
import os
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings

from connectors.signing import orderloop_webhook_headers
from orderloop.loopback_stack import TOKEN
from orderloop.stack import Stack

pytestmark = pytest.mark.integration


def test_generated_requests_never_get_a_server_error(stack: Stack) -> None:
    """Property-based requests for every operation of the spec (valid and invalid shapes),
    with the operator's token; any 5xx fails with the request that caused it."""
    schema = schemathesis.openapi.from_url(f"{stack.gateway_url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]
    assert len(operations) >= 10
    calls = 0
    for operation in operations:

        @given(case=operation.as_strategy())
        # No shrinking: the first failing request is reported as it was (shrinking against a
        # live server takes minutes).
        @settings(
            max_examples=25,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            phases=[Phase.explicit, Phase.generate],
        )
        def no_server_error(case: Any) -> None:
            nonlocal calls
            calls += 1
            response = case.call(base_url=stack.gateway_url, headers={"Authorization": f"Bearer {TOKEN}"})
            where = f"{case.method} {case.formatted_path} {case.query}"
            assert response.status_code < 500, f"{where}: {response.status_code} {response.text[:300]}"

        no_server_error()
    assert calls >= 5 * len(operations)


def signed(body: bytes, event: str = "order.created") -> dict[str, str]:
    secret = os.environ["ORDERLOOP_STOREFRONT_WEBHOOK_SECRET"]
    return orderloop_webhook_headers(secret, event, body) | {"Content-Type": "application/json"}


async def test_each_bad_webhook_gets_its_clear_error(stack: Stack) -> None:
    url = f"{stack.gateway_url}/webhooks/storefront"
    order = json.dumps({"externalId": "bad-1", "lineItems": [{"sku": "A", "quantity": 1}]}).encode()
    async with httpx.AsyncClient(timeout=10) as http:
        cases = {
            "oversized": await http.post(url, content=b'{"pad": "' + b"x" * 2_000_000 + b'"}', headers=signed(b"{}")),
            "not json": await http.post(url, content=order, headers=signed(order) | {"Content-Type": "text/plain"}),
            "invalid utf-8": await http.post(url, content=b"\xff\xfe{", headers=signed(b"\xff\xfe{")),
            "unsigned": await http.post(url, content=order, headers={"Content-Type": "application/json"}),
            "wrong signature": await http.post(url, content=order, headers=signed(b"something else")),
            "unknown channel": await http.post(
                f"{stack.gateway_url}/webhooks/no-such-channel", content=order, headers=signed(order)
            ),
            "unknown event": await http.post(url, content=order, headers=signed(order, "order.teleported")),
        }
    expected = {
        "oversized": 413,
        "not json": 415,
        "invalid utf-8": 400,
        "unsigned": 401,
        "wrong signature": 401,
        "unknown channel": 404,
        "unknown event": 400,
    }
    assert {name: r.status_code for name, r in cases.items()} == expected
    for name, response in cases.items():
        body = response.json()
        assert body["error"], name
        assert name == "invalid utf-8" or body.get("hint"), f"{name}: no hint in {body}"
