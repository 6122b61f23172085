"""The webhook route's handler table: every inbound kind a connector can report has a handler,
so a kind added to `InboundKind` cannot fall through unanswered."""

from __future__ import annotations

from connectors.base import InboundKind
from gateway.webhooks import HANDLERS


def test_every_inbound_kind_has_a_handler() -> None:
    assert set(HANDLERS) == set(InboundKind)
