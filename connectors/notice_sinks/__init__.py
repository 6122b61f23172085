"""Where exception notices go: one module per kind of sink (`webhook`, `slack`, `email`), the
notice and batch they deliver (`model`), and the sender that drains the ledger's notice outbox
per sink in batch windows, with retries and dead letters (`sender`). Not a connector package
(no SPEC): the playbooks in orderloop.yaml name these sinks."""

from __future__ import annotations

from typing import Protocol

import httpx

from connectors.notice_sinks.email import EmailNoticeSink
from connectors.notice_sinks.model import NoticeBatch
from connectors.notice_sinks.slack import SlackNoticeSink
from connectors.notice_sinks.webhook import WebhookNoticeSink
from orderloop.config import EmailSink, SinkConfig, SlackSink


class NoticeSink(Protocol):
    name: str

    async def deliver(self, batch: NoticeBatch) -> None:
        """Deliver the batch as one message; raise `DeliveryError` when it did not arrive."""


def build_sink(name: str, config: SinkConfig, http: httpx.AsyncClient) -> NoticeSink:
    if isinstance(config, EmailSink):
        return EmailNoticeSink(name, config)
    if isinstance(config, SlackSink):
        return SlackNoticeSink(name, config, http)
    return WebhookNoticeSink(name, config, http)
