"""Exception playbooks' notices through the real stack: an exception's email arrives at a
loopback SMTP server (aiosmtpd) with the order id and its Temporal UI link, the signed webhook
verifies, Slack gets its text and blocks, a sink answering 500 dead-letters after its retries
while the order goes on (and an operator re-sends it), and a burst of 50 out-of-stock orders
gives one batched notice per sink. The module runs a stack of its own with the sinks and
playbooks below."""

from __future__ import annotations

import asyncio
import json
import os
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import httpx
import pytest
import pytest_asyncio
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from connectors.signing import ORDERLOOP_DELIVERY_HEADER, ORDERLOOP_SIGNATURE_HEADER, orderloop_signature
from orderloop.loopback_stack import free_port, make_stack
from orderloop.stack import Stack
from tests.connectors.webhook_receiver import ReceivedWebhook, WebhookReceiver
from tests.integration.stack import Api, edit_config, named_operator, started
from tests.integration.test_bigcommerce import place as place_bigcommerce
from tests.integration.test_channel_paths import FailingReceiver
from tests.integration.test_order_loop import base_url, order_body

pytestmark = pytest.mark.integration

SECRET_VAR = "ORDERLOOP_TEST_NOTICE_HOOK_SECRET"
SECRET = "notice-hook-secret-for-tests"
UI = "http://ui.test:8233"
# Wide enough that a burst of 50 orders raises its exceptions within it on a loaded machine.
WINDOW_S = 40


@dataclass
class Mailbox:
    """An aiosmtpd handler that keeps every message it accepts."""

    messages: list[EmailMessage] = field(default_factory=list)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        assert isinstance(envelope.content, bytes)
        message = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        return "250 Message accepted for delivery"


def text_of(message: EmailMessage) -> str:
    return str(message.get_content())


@dataclass
class Sinks:
    mail: Mailbox
    smtp_port: int
    hook: WebhookReceiver
    slack: WebhookReceiver
    broken: FailingReceiver


@pytest.fixture(scope="module")
def smtp() -> Iterator[tuple[Mailbox, int]]:
    mailbox, port = Mailbox(), free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield mailbox, port
    finally:
        controller.stop()


@pytest_asyncio.fixture(scope="module")
async def sinks(smtp: tuple[Mailbox, int]) -> AsyncIterator[Sinks]:
    hook, slack = WebhookReceiver(path="/hooks/notices"), WebhookReceiver(path="/services/T000/B000/XXX")
    broken = FailingReceiver(path="/hooks/broken", failures=10**6)
    for receiver in (hook, slack, broken):
        await receiver.start()
    try:
        yield Sinks(smtp[0], smtp[1], hook, slack, broken)
    finally:
        for receiver in (hook, slack, broken):
            await receiver.aclose()


def playbook(name: str, kind: str, *sinks: str) -> dict[str, Any]:
    return {"name": name, "kinds": [kind], "notify": [{"sink": s} for s in sinks], "escalate": []}


@pytest_asyncio.fixture(scope="module")
async def stack(tmp_path_factory: pytest.TempPathFactory, sinks: Sinks) -> AsyncIterator[Stack]:
    os.environ[SECRET_VAR] = SECRET
    built = make_stack(tmp_path_factory.mktemp("notices"))

    def change(data: dict[str, Any]) -> None:
        data["notifications"] = {
            "ui_url": UI,
            "sinks": {
                "mail": {
                    "type": "email",
                    "host": "127.0.0.1",
                    "port": sinks.smtp_port,
                    "sender": "orderloop@brand.test",
                    "to": ["warehouse@brand.test"],
                    "starttls": False,
                },
                "hook": {"type": "webhook", "url": sinks.hook.url, "secret": SECRET_VAR},
                "slack": {"type": "slack", "url": sinks.slack.url},
                "broken": {"type": "webhook", "url": sinks.broken.url, "secret": SECRET_VAR},
            },
            "delivery": {"batch_window": f"{WINDOW_S}s", "attempts": 3, "backoff": "0.3s", "poll_every": "0.2s"},
        }
        data["playbooks"] = [
            playbook("rollout", "unknown_sku", "mail", "hook"),
            playbook("stock", "out_of_stock", "mail", "hook", "slack"),
            playbook("address", "invalid_address", "broken"),
            playbook("disputes", "payment_disputed", "hook"),
        ]
        for channel in data["channels"]:
            if channel["id"] == "storefront":
                channel.update(hold_window="0s", skus=["TSHIRT-BLK-M", "MUG-11OZ", "POSTER-A2"])

    edit_config(built.config_path, change)
    async with started(built) as running:
        yield running


async def place(stack: Stack, body: dict[str, Any]) -> None:
    async with httpx.AsyncClient(timeout=10) as http:
        response = await http.post(f"{base_url(stack, 'storefront')}/_sandbox/orders", json=body)
    assert response.status_code < 300, response.text


async def eventually(found: Callable[[], Any], what: str, timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = found()
        if value:
            return value
        await asyncio.sleep(0.2)
    raise AssertionError(f"never happened: {what}")


def webhook_batches(receiver: WebhookReceiver, kind: str) -> list[tuple[ReceivedWebhook, dict[str, Any]]]:
    out = []
    for delivery in receiver.received:
        body = json.loads(delivery.body)
        if body["kind"] == kind:
            out.append((delivery, body))
    return out


def went_on(view: dict[str, Any]) -> bool:
    return view["status"] in ("completed", "sent_to_fulfillment", "partially_shipped")


def in_exception(kind: str) -> Callable[[dict[str, Any]], bool]:
    return lambda v: any(e["kind"] == kind and not e.get("resolvedAt") for e in v["exceptions"])


async def test_an_exceptions_email_and_signed_webhook_carry_the_order_and_its_link(
    stack: Stack, api: Api, sinks: Sinks
) -> None:
    external_id = f"mail-{uuid.uuid4().hex[:8]}"
    await place(stack, order_body(external_id, sku="TSHIRT-WHT-M"))  # not rolled out: unknown_sku
    view = await api.wait_order("storefront", external_id, in_exception("unknown_sku"))
    workflow_id = view["workflowId"]
    assert view["exceptions"][0]["playbook"] == "rollout"
    assert view["exceptions"][0]["notified"] == ["mail", "hook"]
    link = f"{UI}/namespaces/default/workflows/{workflow_id.replace('/', '%2F')}"

    def mail() -> list[EmailMessage]:
        return [m for m in sinks.mail.messages if workflow_id in text_of(m)]

    (message,) = await eventually(mail, "the email", timeout=WINDOW_S + 30)
    assert message["To"] == "warehouse@brand.test" and message["From"] == "orderloop@brand.test"
    assert message["Subject"] == f"[Orderloop] exception: unknown_sku on {workflow_id}"
    text = text_of(message)
    assert external_id in text and link in text and "not rolled out on channel storefront" in text

    def hooked() -> list[tuple[ReceivedWebhook, dict[str, Any]]]:
        batches = webhook_batches(sinks.hook, "unknown_sku")
        return [b for b in batches if b[1]["notices"][0]["workflowId"] == workflow_id]

    ((delivery, body),) = await eventually(hooked, "the webhook")
    assert delivery.headers[ORDERLOOP_SIGNATURE_HEADER] == orderloop_signature(SECRET, delivery.body)
    assert delivery.headers[ORDERLOOP_SIGNATURE_HEADER] != orderloop_signature("another secret", delivery.body)
    assert delivery.headers[ORDERLOOP_DELIVERY_HEADER] == body["eventId"]
    (notice,) = body["notices"]
    assert (notice["workflowId"], notice["externalId"], notice["link"]) == (workflow_id, external_id, link)
    assert notice["level"] == "exception" and notice["audience"] == "channel_manager"


async def test_a_sink_answering_500_dead_letters_after_its_retries_while_the_order_goes_on(
    stack: Stack, api: Api, sinks: Sinks
) -> None:
    external_id = f"broken-{uuid.uuid4().hex[:8]}"
    body = order_body(external_id)
    address = dict(body["shippingAddress"])
    body["shippingAddress"].pop("city")
    await place(stack, body)
    await api.wait_order("storefront", external_id, in_exception("invalid_address"))
    grace = await named_operator(stack, f"grace-{external_id}")
    response = await api.http.post(
        f"/api/orders/storefront/{external_id}/amend-address", json={"address": address}, headers=grace
    )
    assert response.status_code == 200, response.text
    view = await api.wait_order("storefront", external_id, went_on)
    workflow_id = view["workflowId"]
    assert view["exceptions"][0]["resolvedBy"] == f"operator grace-{external_id}"

    async def dead() -> list[dict[str, Any]]:
        listed = (await api.http.get("/api/notices", params={"status": "dead"})).json()["notices"]
        return [n for n in listed if n["workflowId"] == workflow_id]

    deadline = time.monotonic() + WINDOW_S + 30
    letters: list[dict[str, Any]] = []
    while time.monotonic() < deadline and len(letters) < 2:
        letters = await dead()
        await asyncio.sleep(0.3)
    # The exception's notice and its resolution's, each after its 3 attempts.
    assert sorted(n["level"] for n in letters) == ["exception", "resolved"]
    assert all(n["sink"] == "broken" and n["attempts"] == 3 and "answered 500" in n["lastError"] for n in letters)
    final = (await api.order("storefront", external_id)).json()
    assert "notification failed" not in [e["event"] for e in final["timeline"]]
    assert went_on(final)
    # Re-sent once the sink is fixed, it arrives.
    sinks.broken.failures = 0
    before = len(sinks.broken.received)
    exception_letter = next(n for n in letters if n["level"] == "exception")
    resent = await api.http.post(f"/api/notices/{exception_letter['id']}/resend")
    assert resent.status_code == 200 and resent.json()["status"] == "pending"
    await eventually(lambda: len(sinks.broken.received) > before, "the re-sent notice", timeout=WINDOW_S + 30)
    assert json.loads(sinks.broken.received[-1].body)["notices"][0]["workflowId"] == workflow_id
    assert (await api.http.post("/api/notices/999999999/resend")).status_code == 404


async def test_a_burst_of_50_out_of_stock_orders_gives_one_batched_notice_per_sink(
    stack: Stack, api: Api, sinks: Sinks
) -> None:
    prefix = f"burst-{uuid.uuid4().hex[:6]}"
    ids = [f"{prefix}-{i:02d}" for i in range(50)]
    await asyncio.gather(*(place(stack, order_body(i, sku="POSTER-A2", quantity=10_000)) for i in ids))
    for external_id in ids:
        await api.wait_order("storefront", external_id, in_exception("out_of_stock"), timeout=90)

    def mine(notices: list[dict[str, Any]]) -> bool:
        return any(n["externalId"].startswith(prefix) for n in notices)

    def hook_batches() -> list[dict[str, Any]]:
        return [b for _, b in webhook_batches(sinks.hook, "out_of_stock") if mine(b["notices"])]

    def slack_batches() -> list[dict[str, Any]]:
        return [json.loads(d.body) for d in sinks.slack.received if prefix in d.body.decode()]

    def mails() -> list[EmailMessage]:
        return [m for m in sinks.mail.messages if prefix in text_of(m)]

    await eventually(lambda: hook_batches() and slack_batches() and mails(), "the batches", timeout=WINDOW_S + 60)
    await asyncio.sleep(WINDOW_S + 2)  # a straggler would have made a second batch by now
    (hooked,) = hook_batches()
    assert hooked["count"] == 50 and sorted(n["externalId"] for n in hooked["notices"]) == ids
    (slack,) = slack_batches()
    assert slack["text"] == "[Orderloop] exception: out_of_stock on 50 orders"
    assert slack["blocks"][0]["type"] == "header" and len(slack["blocks"]) == 1 + 45 + 1
    assert slack["blocks"][-1]["elements"][0]["text"] == "and 5 more orders"
    (mail,) = mails()
    assert mail["Subject"] == "[Orderloop] exception: out_of_stock on 50 orders"
    assert all(i in text_of(mail) for i in ids)


async def test_a_dispute_on_an_order_orderloop_never_received_is_reported_to_its_playbooks_sink(
    stack: Stack, sinks: Sinks
) -> None:
    """BigCommerce's order hook for an order disputed before Orderloop saw it: nothing to open it
    on, so the gateway reports it to the `payment_disputed` playbook's sink, never drops it."""
    async with httpx.AsyncClient(base_url=base_url(stack, "bigcommerce"), timeout=10) as http:
        order_id = await place_bigcommerce(http, status_id=13)

    def reported() -> list[dict[str, Any]]:
        batches = webhook_batches(sinks.hook, "payment_disputed")
        return [n for _, body in batches for n in body["notices"] if n["externalId"] == order_id]

    (notice,) = await eventually(reported, "the dispute's notice", timeout=WINDOW_S + 30)
    assert notice["workflowId"] == f"order/bigcommerce/{order_id}" and notice["playbook"] == "disputes"
    assert "never received by Orderloop" in notice["message"] and "disputes the payment" in notice["message"]
