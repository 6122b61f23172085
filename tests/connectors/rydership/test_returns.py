"""RyderShip carries no returns role yet: Whiplash V2's consumer returns are named but none of
their fields is published (see `connectors/rydership/__init__.py`), so the shared "not supported"
path answers."""

from __future__ import annotations

from connectors.rydership import RyderShipConnector
from orderloop.config import ChannelConfig
from tests.connectors.expected_returns import assert_returns_not_carried


async def test_rydership_announces_no_expected_return_and_the_return_workflow_is_told_so(
    channel: ChannelConfig,
) -> None:
    connector = RyderShipConnector(channel)
    try:
        await assert_returns_not_carried(connector, "east")
    finally:
        await connector.aclose()
