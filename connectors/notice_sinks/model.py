"""What a sink delivers: one notice (an exception, escalation, warning or resolution of one
order) as the notify activity queues it, and a batch of them (the notices of one kind and level
that reached one sink within its batch window: one message, however many orders)."""

from __future__ import annotations

import hashlib
from datetime import datetime
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

from orderloop.activity_models import Notification


class Notice(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, validate_by_name=True, serialize_by_alias=True)

    event_id: str
    workflow_id: str
    channel_id: str
    external_id: str
    level: str
    kind: str
    message: str
    at: datetime
    audience: str
    playbook: str | None = None
    resolved_by: str | None = None
    # The order in the Temporal Web UI.
    link: str

    @classmethod
    def of(cls, note: Notification, audience: str, ui_url: str, namespace: str) -> Notice:
        assert note.event_id is not None
        return cls(
            event_id=note.event_id,
            workflow_id=note.workflow_id,
            channel_id=note.channel_id,
            external_id=note.external_id,
            level=note.level,
            kind=note.channel_kind or note.kind,
            message=note.message,
            at=note.at,
            audience=audience,
            playbook=note.playbook,
            resolved_by=note.resolved_by,
            link=workflow_link(ui_url, namespace, note.workflow_id),
        )


def workflow_link(ui_url: str, namespace: str, workflow_id: str) -> str:
    return f"{ui_url.rstrip('/')}/namespaces/{quote(namespace, safe='')}/workflows/{quote(workflow_id, safe='')}"


class NoticeBatch(BaseModel):
    """The notices one message carries to one sink (all of one kind and level)."""

    sink: str
    notices: list[Notice]

    @property
    def event_id(self) -> str:
        """One id per batch, the same on every retry of it: a receiver drops a repeat."""
        if len(self.notices) == 1:
            return self.notices[0].event_id
        joined = "\n".join(sorted(n.event_id for n in self.notices))
        return "batch-" + hashlib.sha256(joined.encode()).hexdigest()[:32]

    @property
    def kind(self) -> str:
        return self.notices[0].kind

    @property
    def level(self) -> str:
        return self.notices[0].level

    def title(self) -> str:
        count = len(self.notices)
        orders = f"{count} orders" if count > 1 else self.notices[0].workflow_id
        return f"[Orderloop] {self.level}: {self.kind} on {orders}"

    def lines(self) -> list[str]:
        """One line per order: its id, what happened and its link."""
        return [
            f"{n.workflow_id} ({n.channel_id} order {n.external_id}): {n.message}"
            + (f" (resolved by {n.resolved_by})" if n.resolved_by else "")
            + f" {n.link}"
            for n in self.notices
        ]
