"""The email sink: one message per batch over SMTP with aiosmtplib (the asyncio SMTP client),
STARTTLS or implicit TLS and login as the sink is configured."""

from __future__ import annotations

from email.message import EmailMessage

import aiosmtplib

from connectors.notice_sinks.errors import DeliveryError
from connectors.notice_sinks.model import NoticeBatch
from orderloop.config import EmailSink, env_secret


def email_message(config: EmailSink, batch: NoticeBatch) -> EmailMessage:
    message = EmailMessage()
    message["From"] = config.sender
    message["To"] = ", ".join(config.to)
    message["Subject"] = batch.title()
    message["Message-ID"] = f"<{batch.event_id.replace('/', '.').replace('#', '.')}@orderloop>"
    message.set_content("\n".join(batch.lines()) + "\n")
    return message


class EmailNoticeSink:
    def __init__(self, name: str, config: EmailSink) -> None:
        self.name = name
        self.config = config

    async def deliver(self, batch: NoticeBatch) -> None:
        config = self.config
        field = f"notifications.sinks.{self.name}"
        username = env_secret(config.username, f"{field}.username") if config.username else None
        password = env_secret(config.password, f"{field}.password") if config.password else None
        try:
            await aiosmtplib.send(
                email_message(config, batch),
                hostname=config.host,
                port=config.port,
                start_tls=config.starttls,
                use_tls=config.use_tls,
                username=username,
                password=password,
                cert_bundle=config.ca_file,
                timeout=30,
            )
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise DeliveryError(f"{config.host}:{config.port}: {type(exc).__name__}: {exc}") from exc
