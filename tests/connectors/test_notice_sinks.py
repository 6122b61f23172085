"""The email sink against a real SMTP server on loopback (aiosmtpd) that requires STARTTLS and
AUTH, as a brand's relay does: the message arrives encrypted and logged in, with the order and
its link; a wrong password or a server without STARTTLS is a `DeliveryError` (the sender
retries it), never a silent success."""

from __future__ import annotations

import shutil
import ssl
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from connectors.notice_sinks.email import EmailNoticeSink
from connectors.notice_sinks.errors import DeliveryError
from connectors.notice_sinks.model import Notice, NoticeBatch
from orderloop.config import EmailSink
from orderloop.loopback_stack import free_port

pytestmark = pytest.mark.asyncio

USER_VAR, PASSWORD_VAR = "ORDERLOOP_TEST_SMTP_USER", "ORDERLOOP_TEST_SMTP_PASSWORD"


class Relay:
    """Accepts mail only from `relay-user` / `s3cret`, after STARTTLS."""

    def __init__(self) -> None:
        self.messages: list[tuple[EmailMessage, bool]] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        assert isinstance(envelope.content, bytes)
        message = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append((message, session.ssl is not None))
        return "250 OK"

    def __call__(self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (b"relay-user", b"s3cret")
        return AuthResult(success=ok, handled=False)


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make the relay's certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert)),
            *("-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


@pytest.fixture
def relay(certificate: tuple[Path, Path]) -> Iterator[tuple[Relay, int]]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificate)
    handler, port = Relay(), free_port()
    controller = Controller(
        handler,
        hostname="127.0.0.1",
        port=port,
        tls_context=context,
        require_starttls=True,
        auth_required=True,
        authenticator=handler,
    )
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


def batch() -> NoticeBatch:
    notice = Notice(
        event_id="order/shop/1001#0.0.exception.2",
        workflow_id="order/shop/1001",
        channel_id="shop",
        external_id="1001",
        level="exception",
        kind="invalid_address",
        message="shipping address lacks city",
        at=datetime.now(UTC),
        audience="support",
        link="http://ui.test/namespaces/default/workflows/order%2Fshop%2F1001",
    )
    return NoticeBatch(sink="mail", notices=[notice])


def sink(port: int, certificate: Path, **fields: Any) -> EmailNoticeSink:
    config = EmailSink.model_validate(
        {
            "type": "email",
            "host": "127.0.0.1",
            "port": port,
            "sender": "orderloop@brand.test",
            "to": ["support@brand.test"],
            "starttls": True,
            "username": USER_VAR,
            "password": PASSWORD_VAR,
            "ca_file": str(certificate),
            **fields,
        }
    )
    return EmailNoticeSink("mail", config)


async def test_the_email_arrives_over_starttls_and_logged_in(
    relay: tuple[Relay, int], certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(USER_VAR, "relay-user")
    monkeypatch.setenv(PASSWORD_VAR, "s3cret")
    handler, port = relay
    await sink(port, certificate[0]).deliver(batch())
    ((message, encrypted),) = handler.messages
    assert encrypted
    assert message["Subject"] == "[Orderloop] exception: invalid_address on order/shop/1001"
    assert message["To"] == "support@brand.test"
    body = str(message.get_content())
    assert "order/shop/1001 (shop order 1001): shipping address lacks city" in body
    assert "http://ui.test/namespaces/default/workflows/order%2Fshop%2F1001" in body


async def test_a_wrong_password_is_a_delivery_error(
    relay: tuple[Relay, int], certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(USER_VAR, "relay-user")
    monkeypatch.setenv(PASSWORD_VAR, "guess")
    handler, port = relay
    with pytest.raises(DeliveryError, match="SMTPAuthenticationError"):
        await sink(port, certificate[0]).deliver(batch())
    assert handler.messages == []


async def test_a_relay_whose_certificate_is_not_trusted_is_a_delivery_error(
    relay: tuple[Relay, int], certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(USER_VAR, "relay-user")
    monkeypatch.setenv(PASSWORD_VAR, "s3cret")
    handler, port = relay
    with pytest.raises(DeliveryError):
        await sink(port, certificate[0], ca_file=None).deliver(batch())
    assert handler.messages == []
