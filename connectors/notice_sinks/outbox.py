"""A playbook's notice as the ledger's notice outbox keeps it: one row per sink, for the notice
sender to deliver (a failing sink never holds an order back). Written by the notify activity,
and by the gateway for a case a channel raised on an order Orderloop does not run."""

from __future__ import annotations

import structlog

from connectors.notice_sinks.model import Notice
from orderloop.activity_models import Notification
from orderloop.config import NotificationConfig
from orderloop.ledger import QueuedNotice

log = structlog.get_logger("orderloop.notices")


def queued_notices(note: Notification, notifications: NotificationConfig) -> list[QueuedNotice]:
    """The outbox rows of `note`, one per target sink the configuration still has."""
    queued = []
    for target in note.targets:
        if target.sink not in notifications.sinks:
            # The file changed since the order was ingested: nothing to deliver it to.
            log.warning("notice.unknown_sink", sink=target.sink, workflow_id=note.workflow_id)
            continue
        notice = Notice.of(note, target.audience, notifications.ui_url, notifications.namespace)
        queued.append(
            QueuedNotice(
                event_id=notice.event_id,
                sink=target.sink,
                audience=target.audience,
                workflow_id=note.workflow_id,
                channel_id=note.channel_id,
                kind=notice.kind,
                level=note.level,
                body=notice.model_dump_json(),
            )
        )
    return queued
