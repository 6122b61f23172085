"""An order through the real stack keeps its customer out of Temporal: the history the server
holds (read by a client without the codec) has no street, email or phone anywhere, neither do
the order's search attributes; the gateway's codec server, and the `temporal` CLI pointed at
it, give them back to an operator with the token."""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from typing import Any

import httpx
import pytest
from google.protobuf import json_format
from temporalio.api.common.v1 import Payloads
from temporalio.client import Client

from orderloop.contracts import order_workflow_id
from orderloop.devserver import temporal_binary
from orderloop.loopback_stack import TOKEN
from orderloop.payload_codec import ENCODING, is_encrypted, payloads_in
from orderloop.stack import Stack
from tests.integration.stack import Api, base_url
from tests.integration.test_order_loop import completed, new_id, order_body

pytestmark = pytest.mark.integration


def secrets_of_a_customer() -> dict[str, str]:
    mark = uuid.uuid4().hex[:8]
    return {
        "address1": f"{mark} Analytical Engine Lane",
        "email": f"ada.{mark}@example.com",
        "phone": f"+1 555 {mark}",
    }


async def place(stack: Stack, external_id: str, customer: dict[str, str]) -> None:
    body = order_body(external_id)
    body["shippingAddress"].update(customer)
    async with httpx.AsyncClient(timeout=10) as http:
        placed = await http.post(f"{base_url(stack, 'storefront')}/_sandbox/orders", json=body)
    assert placed.status_code in (200, 201, 202), placed.text


async def test_the_history_holds_no_customer_data_and_the_codec_server_reads_it(stack: Stack, api: Api) -> None:
    external_id, customer = new_id(), secrets_of_a_customer()
    await place(stack, external_id, customer)
    view = await api.wait_order("storefront", external_id, completed)
    assert view["workflowId"] == order_workflow_id("storefront", external_id)

    raw = await Client.connect(stack.address)  # Temporal's default converter: no codec, no keys
    handle = raw.get_workflow_handle(view["workflowId"])
    history = await handle.fetch_history()
    everything = b"".join(event.SerializeToString() for event in history.events)
    for value in customer.values():
        assert value.encode() not in everything, f"{value!r} is readable in the history"
    payloads = [p for event in history.events for p in payloads_in(event)]
    started = history.events[0].workflow_execution_started_event_attributes
    assert all(is_encrypted(p) for p in started.input.payloads)
    assert sum(is_encrypted(p) for p in payloads) > 10  # inputs, activity results, signals, the result

    # The order's search attributes stay plain (Temporal does not encrypt them): none holds them.
    described = await handle.describe()
    attributes = json.dumps({pair.key.name: pair.value for pair in described.typed_search_attributes}, default=str)
    assert "storefront" in attributes and "completed" in attributes
    for value in [*customer.values(), "Lovelace", "10118"]:
        assert value not in attributes

    # Through the codec server, an operator with the token reads them.
    body = json_format.MessageToDict(Payloads(payloads=payloads))
    headers = {"Authorization": f"Bearer {TOKEN}", "X-Namespace": "default"}
    decoded = await api.http.post("/codec/decode", json=body, headers=headers)
    assert decoded.status_code == 200, decoded.text
    plain = b"".join(base64.b64decode(p.get("data", "")) for p in decoded.json()["payloads"])
    for value in customer.values():
        assert value.encode() in plain
    refused = await api.http.post("/codec/decode", json=body, headers={"Authorization": "Bearer nope"})
    assert refused.status_code == 401


async def temporal_show(stack: Stack, workflow_id: str, *codec: str) -> str:
    proc = await asyncio.create_subprocess_exec(
        temporal_binary(),
        "workflow",
        "show",
        "--workflow-id",
        workflow_id,
        "--address",
        stack.address,
        "--output",
        "json",
        *codec,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()
    return readable(json.loads(out))


def readable(shown: Any) -> str:
    """The CLI's JSON with every base64 payload `data` decoded beside it (bytes are base64 in it)."""
    texts: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "data" and isinstance(value, str):
                    texts.append(base64.b64decode(value).decode(errors="replace"))
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(shown)
    return json.dumps(shown) + "\n".join(texts)


async def test_the_temporal_cli_shows_the_order_through_the_codec_server(stack: Stack, api: Api) -> None:
    external_id, customer = new_id(), secrets_of_a_customer()
    await place(stack, external_id, customer)
    view = await api.wait_order("storefront", external_id, completed)
    without = await temporal_show(stack, view["workflowId"])
    assert base64.b64encode(ENCODING).decode() in without  # metadata values are base64 too
    for value in customer.values():
        assert value not in without
    shown = await temporal_show(
        stack,
        view["workflowId"],
        "--codec-endpoint",
        f"{stack.gateway_url}/codec",
        "--codec-auth",
        f"Bearer {TOKEN}",
    )
    for value in customer.values():
        assert value in shown
