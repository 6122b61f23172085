"""A channel's case on an order Orderloop does not run (closed, or never received): told to the
playbook's sinks for its kind as an exception notice, never dropped. Shared by the gateway (a
webhook's `ORDER_EXCEPTION`) and the order poll (a case found by reading the channel,
`SellingConnector.poll_channel_cases`); the notice's event id is the case's, so a case reported
twice is queued once."""

from __future__ import annotations

from datetime import UTC, datetime

from connectors.notice_sinks.outbox import queued_notices
from orderloop.activity_models import Notification, NotificationLevel
from orderloop.config import OrderloopConfig
from orderloop.contracts import ChannelException
from orderloop.ledger.notices import QueuedNotice
from orderloop.model import ExceptionKind
from orderloop.playbooks import playbook_for


def unmatched_case_notices(
    config: OrderloopConfig, channel_id: str, workflow_id: str, external_id: str, case: ChannelException, closed: bool
) -> list[QueuedNotice]:
    where = "is already closed" if closed else "was never received by Orderloop"
    book = playbook_for(config.playbooks, channel_id, case.kind)
    note = Notification(
        workflow_id=workflow_id,
        channel_id=channel_id,
        external_id=external_id,
        level=NotificationLevel.EXCEPTION,
        kind=ExceptionKind.CHANNEL_EXCEPTION,
        channel_kind=case.kind,
        message=f"{case.message} (order {workflow_id} {where})",
        at=datetime.now(UTC),
        targets=book.notify if book else [],
        event_id=f"{workflow_id}#channel.{case.kind}.{case.reference or case.event_id or 'case'}",
        playbook=book.name if book else None,
    )
    return queued_notices(note, config.notifications)
