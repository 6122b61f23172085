"""Logiwa carries no returns role: its Integration API has no documented way to announce an
expected return (see `connectors/logiwa/__init__.py`), so the shared "not supported" path answers."""

from __future__ import annotations

from connectors.logiwa import LogiwaConnector
from orderloop.config import ChannelConfig
from tests.connectors.expected_returns import assert_returns_not_carried


async def test_logiwa_announces_no_expected_return_and_the_return_workflow_is_told_so(channel: ChannelConfig) -> None:
    connector = LogiwaConnector(channel)
    try:
        await assert_returns_not_carried(connector, "east")
    finally:
        await connector.aclose()
