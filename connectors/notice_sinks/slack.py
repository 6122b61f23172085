"""The Slack sink: a message to an incoming webhook, in its format (`text` for notifications
and clients without blocks, `blocks` with a header, one section per order and its link)."""

from __future__ import annotations

import json
from typing import Any

import httpx

from connectors.notice_sinks.model import NoticeBatch
from connectors.notice_sinks.webhook import post
from orderloop.config import SlackSink

# Slack renders at most 50 blocks per message; the rest are counted in the last one.
_MAX_ORDER_BLOCKS = 45


def slack_message(batch: NoticeBatch) -> dict[str, Any]:
    blocks: list[dict[str, Any]] = [{"type": "header", "text": {"type": "plain_text", "text": batch.title()[:150]}}]
    for notice in batch.notices[:_MAX_ORDER_BLOCKS]:
        by = f"\nresolved by {notice.resolved_by}" if notice.resolved_by else ""
        text = f"*<{notice.link}|{notice.workflow_id}>* ({notice.channel_id})\n{notice.message}{by}"
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}})
    hidden = len(batch.notices) - _MAX_ORDER_BLOCKS
    if hidden > 0:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": f"and {hidden} more orders"}]})
    return {"text": batch.title(), "blocks": blocks}


class SlackNoticeSink:
    def __init__(self, name: str, config: SlackSink, http: httpx.AsyncClient) -> None:
        self.name = name
        self.config = config
        self.http = http

    async def deliver(self, batch: NoticeBatch) -> None:
        body = json.dumps(slack_message(batch)).encode()
        await post(self.http, self.config.url, body, {"Content-Type": "application/json"})
