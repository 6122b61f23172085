"""Operators find an order by each of its locations on the dev server, also on a server file
created before the KeywordList existed (which had `FulfillmentLocation` as a Keyword): the
restarted server registers `FulfillmentLocations` beside it, and the operator API's location
filter matches today's split orders by each location and older orders by their Keyword."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from temporalio.client import Client
from temporalio.common import SearchAttributePair, TypedSearchAttributes

from gateway.operator_api import visibility_query
from orderloop.contracts import ORDER_WORKFLOW, SearchAttributes, order_start_search_attributes
from orderloop.devserver import DevServer
from orderloop.loopback_stack import free_port
from orderloop.temporal_client import connect


class _ServerBeforeTheList(DevServer):
    """The dev server as an earlier Orderloop started it: four Keyword attributes."""

    def command(self) -> list[str]:
        cmd = super().command()
        i = cmd.index(f"{SearchAttributes.LOCATIONS.name}=KeywordList")
        return cmd[: i - 1] + cmd[i + 1 :]


async def _start(client: Client, workflow_id: str, *pairs: SearchAttributePair[Any]) -> None:
    attrs = order_start_search_attributes("storefront")
    await client.start_workflow(
        ORDER_WORKFLOW,
        {},
        id=workflow_id,
        task_queue="nobody-polls",
        search_attributes=TypedSearchAttributes([*attrs.search_attributes, *pairs]),
    )


async def _found(client: Client, location: str, expected: set[str]) -> set[str]:
    query = visibility_query(None, None, None, location)
    found: set[str] = set()
    for _ in range(50):  # visibility is eventually consistent
        found = {wf.id async for wf in client.list_workflows(query)}
        if found == expected:
            break
        await asyncio.sleep(0.2)
    return found


async def test_a_split_order_is_found_by_each_location_on_an_upgraded_server_file(tmp_path: Path) -> None:
    db_file = tmp_path / "temporal.db"
    old = _ServerBeforeTheList(db_file=db_file, port=free_port(), ui_port=None)
    await old.start()
    try:
        client = await connect(old.address)
        await _start(client, "order/storefront/old-split", SearchAttributePair(SearchAttributes.LOCATION, "east,west"))
        await _start(client, "order/storefront/old-east", SearchAttributePair(SearchAttributes.LOCATION, "east"))
    finally:
        old.stop()
    server = DevServer(db_file=db_file, port=free_port(), ui_port=None)
    await server.start()
    try:
        client = await connect(server.address)
        split = SearchAttributePair(SearchAttributes.LOCATIONS, ["east", "west"])
        await _start(client, "order/storefront/new-split", split)
        assert await _found(client, "west", {"order/storefront/new-split"}) == {"order/storefront/new-split"}
        east = {"order/storefront/new-split", "order/storefront/old-east"}
        assert await _found(client, "east", east) == east
    finally:
        server.stop()
