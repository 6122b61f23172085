"""The sandbox kit's webhook controls on their own: held webhooks wait for a release and arrive in
the order asked for, a redelivery is the same webhook again, headers made at send time are made
afresh for every attempt, and a wrong id or order is answered with the reason. The recorder keeps
every request the sandbox answered, body and status included."""

from __future__ import annotations

import itertools
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import HTTPException, Request

from connectors.sandbox_kit import (
    Recorder,
    Webhook,
    WebhookHeaders,
    WebhookSender,
    create_sandbox_app,
    install_error_handler,
    install_webhook_routes,
)
from connectors.signing import ORDERLOOP_DELIVERY_HEADER, orderloop_webhook_headers, verify_orderloop_signature
from tests.connectors.webhook_receiver import WebhookReceiver, running_receiver

SECRET = "test-kit-webhook-secret"


@dataclass(frozen=True)
class Kit:
    """A bare sandbox app with the webhook controls, its sender, and the receiver it delivers to."""

    sender: WebhookSender
    http: httpx.AsyncClient
    receiver: WebhookReceiver

    def emit(self, event: str, n: int, **options: Any) -> Webhook:
        """A webhook signed once, in Orderloop's scheme, under its delivery id."""
        body = json.dumps({"n": n}).encode()
        delivery_id = f"dlv_{event}_{n}"
        headers = orderloop_webhook_headers(SECRET, event, body, delivery_id=delivery_id)
        return self.sender.emit(self.receiver.url, event, body, headers, webhook_id=delivery_id, **options)

    async def sent(self) -> list[int]:
        """Wait for every delivery; the `n` of each webhook received, in arrival order."""
        await self.sender.drain()
        return [json.loads(w.body)["n"] for w in self.receiver.received]

    async def control(self, method: str, path: str, **kwargs: Any) -> Any:
        response = await self.http.request(method, f"/_sandbox/webhooks{path}", **kwargs)
        assert response.is_success, response.text
        return response.json()


@pytest.fixture
async def kit() -> AsyncIterator[Kit]:
    async for receiver in running_receiver("/webhooks/kit"):
        recorder = Recorder()
        sender = WebhookSender(recorder)
        app = create_sandbox_app("kit sandbox", recorder)
        install_error_handler(app)
        install_webhook_routes(app, sender)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://kit.sandbox") as http:
            yield Kit(sender, http, receiver)
        await sender.aclose()


@pytest.mark.parametrize(("order", "arrival"), [("fifo", [1, 2, 3, 4, 5]), ("reverse", [5, 4, 3, 2, 1])])
async def test_held_webhooks_wait_for_the_release_and_arrive_in_its_order(
    kit: Kit, order: str, arrival: list[int]
) -> None:
    assert (await kit.control("POST", "/hold"))["holding"] is True
    for n in range(1, 6):
        kit.emit("order.created", n)
    assert await kit.sent() == []
    held = await kit.control("GET", "/held")
    assert [w["webhook_id"] for w in held] == [f"dlv_order.created_{n}" for n in range(1, 6)]
    assert {w["state"] for w in held} == {"held"}

    released = await kit.control("POST", "/release", params={"order": order})

    assert [json.loads(w["body"])["n"] for w in released["released"]] == arrival
    assert (released["order"], released["holding"], released["held"]) == (order, False, 0)
    assert await kit.sent() == arrival
    assert {w["state"] for w in await kit.control("GET", "")} == {"delivered"}
    # The hold ended with the release.
    kit.emit("order.created", 6)
    assert await kit.sent() == [*arrival, 6]


async def test_a_hold_by_topic_queues_only_those_topics(kit: Kit) -> None:
    await kit.control("POST", "/hold", params={"topic": ["shipment.created"]})
    kit.emit("shipment.created", 1)
    kit.emit("inventory.updated", 2)
    kit.emit("shipment.created", 3)

    assert await kit.sent() == [2]
    assert [w["topic"] for w in await kit.control("GET", "/held")] == ["shipment.created"] * 2
    await kit.control("POST", "/release")
    assert await kit.sent() == [2, 1, 3]


async def test_a_redelivery_sends_the_same_ids_body_and_signature(kit: Kit) -> None:
    kit.emit("order.created", 1)
    kit.emit("order.created", 2)
    await kit.sent()

    again = await kit.control("POST", "/dlv_order.created_1/redeliver")

    assert await kit.sent() == [1, 2, 1]
    first, retry = kit.receiver.received[0], kit.receiver.received[2]
    assert retry.body == first.body and retry.headers == first.headers
    assert retry.headers[ORDERLOOP_DELIVERY_HEADER] == again["webhook_id"] == "dlv_order.created_1"
    verify_orderloop_signature(SECRET, retry.headers, retry.body)
    logged = {w["webhook_id"]: w for w in await kit.control("GET", "", params={"topic": "order.created"})}
    assert (logged["dlv_order.created_1"]["sends"], logged["dlv_order.created_2"]["sends"]) == (2, 1)


async def test_header_factories_make_fresh_headers_for_every_send(kit: Kit) -> None:
    made = itertools.count(1)

    def signed_now() -> dict[str, str]:
        return {"x-orderloop-event": "shipment.created", "x-signed": str(next(made))}

    await kit.control("POST", "/hold")
    kit.sender.emit(kit.receiver.url, "shipment.created", b'{"n": 1}', signed_now, webhook_id="msg_1")
    [held] = await kit.control("GET", "/held")
    assert held["headers"] is None and next(made) == 1  # nothing signed while held

    await kit.control("POST", "/release")
    await kit.sent()
    await kit.control("POST", "/msg_1/redeliver")
    await kit.sent()

    assert [w.headers["x-signed"] for w in kit.receiver.received] == ["2", "3"]
    assert (await kit.control("GET", ""))[0]["headers"]["x-signed"] == "3"


async def test_a_retried_attempt_is_signed_again() -> None:
    answers = iter([503, 200])
    signed: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        signed.append(request.headers["x-signed"])
        return httpx.Response(next(answers))

    made = itertools.count(1)
    sender = WebhookSender(Recorder(), first_backoff=0.01, transport=httpx.MockTransport(answer))
    webhook = sender.emit("http://orderloop.test/webhooks", "t", b"{}", lambda: {"x-signed": str(next(made))})
    await sender.drain()
    await sender.aclose()

    assert signed == ["1", "2"]
    assert (webhook.deliveries[0].attempts, webhook.state.value) == (2, "delivered")


async def test_duplicate_sends_every_new_webhook_twice_until_turned_off(kit: Kit) -> None:
    assert (await kit.control("POST", "/duplicate"))["duplicate_all"] is True
    kit.emit("order.created", 1)
    assert await kit.sent() == [1, 1]
    assert len({w.headers[ORDERLOOP_DELIVERY_HEADER] for w in kit.receiver.received}) == 1

    assert (await kit.control("DELETE", "/duplicate"))["duplicate_all"] is False
    kit.emit("order.created", 2)
    kit.emit("order.created", 3, duplicate=True)
    assert await kit.sent() == [1, 1, 2, 3, 3]


async def test_a_webhook_not_delivered_is_logged_and_can_be_sent_later(kit: Kit) -> None:
    kit.emit("order.created", 1, deliver=False)
    assert await kit.sent() == []
    [lost] = await kit.control("GET", "", params={"state": "not_delivered"})
    assert (lost["webhook_id"], lost["topic"], lost["sends"]) == ("dlv_order.created_1", "order.created", 0)

    await kit.control("POST", f"/{lost['webhook_id']}/redeliver")

    assert await kit.sent() == [1]
    assert await kit.control("GET", "", params={"state": "not_delivered"}) == []


async def test_unknown_ids_and_bad_choices_are_answered_with_the_reason(kit: Kit) -> None:
    await kit.control("POST", "/hold")
    kit.emit("order.created", 1)

    unknown = await kit.http.post("/_sandbox/webhooks/dlv_nope/redeliver")
    sideways = await kit.http.post("/_sandbox/webhooks/release", params={"order": "sideways"})
    bad_state = await kit.http.get("/_sandbox/webhooks", params={"state": "lost"})

    assert unknown.status_code == 404
    assert unknown.json() == {"error": "no webhook 'dlv_nope'", "hint": "GET /_sandbox/webhooks lists the webhook ids"}
    assert sideways.status_code == 422
    assert sideways.json()["error"] == "order must be fifo or reverse, not 'sideways'"
    assert bad_state.status_code == 422
    assert bad_state.json()["error"] == "state must be held, not_delivered, sending, delivered or failed, not 'lost'"
    # A refused release leaves the hold and its queue as they were.
    assert [w["webhook_id"] for w in await kit.control("GET", "/held")] == ["dlv_order.created_1"]
    assert await kit.sent() == []


async def test_every_send_is_recorded_with_its_webhook_id(kit: Kit) -> None:
    headers: WebhookHeaders = {"x-orderloop-event": "order.created"}
    kit.sender.emit(kit.receiver.url, "order.created", b'{"n": 1}', headers, webhook_id="w1", duplicate=True)
    await kit.sent()

    deliveries = (await kit.http.get("/_sandbox/deliveries")).json()

    assert [(d["webhook_id"], d["delivered"], d["gave_up"]) for d in deliveries] == [("w1", True, False)] * 2


async def test_the_recorder_keeps_requests_refused_unread_and_skips_its_own_controls() -> None:
    recorder = Recorder()
    app = create_sandbox_app("kit sandbox", recorder)

    @app.post("/orders")
    async def refuse() -> None:
        raise HTTPException(401, "no token")  # answered without reading the body

    @app.put("/orders/{order_id}")
    async def echo(order_id: str, request: Request) -> dict[str, Any]:
        return {"id": order_id, "body": await request.json()}

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://kit.sandbox") as http:
        refused = await http.post("/orders?page=2", json={"sku": "A"}, headers={"X-Trace": "t1"})
        echoed = await http.put("/orders/7", content=b'{"qty": 3}')
        listed = await http.get("/_sandbox/requests")

    assert refused.status_code == 401
    assert echoed.json() == {"id": "7", "body": {"qty": 3}}  # the app still reads the body
    first, second = recorder.requests
    assert (first.method, first.path, first.query, first.body, first.status) == (
        "POST",
        "/orders",
        "page=2",
        {"sku": "A"},
        401,
    )
    assert first.headers["x-trace"] == "t1"
    assert (second.method, second.path, second.body, second.status) == ("PUT", "/orders/7", {"qty": 3}, 200)
    assert [r["path"] for r in listed.json()] == ["/orders", "/orders/7"]  # its own GET is not recorded
