"""The selling instance against the NetSuite sandbox (the same account store as the fulfillment
role): the registry builds it by the channel's role, the poll reads ERP-entered orders and
never the ones Orderloop entered (`OL-` external ids), reports a cancelled or closed order as
cancelled, a push survives a lost transform answer as one item fulfillment, the inventory push
calls nothing, and a cancel closes the open lines."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import pytest_asyncio

from connectors.base import RejectedError, RetryableError
from connectors.netsuite import NetSuiteConnector
from connectors.netsuite.client import RECORD, SUITEQL
from connectors.netsuite.mapping import external_id
from connectors.netsuite.selling import NetSuiteSellingConnector
from connectors.registry import build_connector
from orderloop.config import ChannelConfig
from orderloop.model import Order
from tests.connectors.contract.steps import RECEIVED_AT, TENANT, shipment_of
from tests.connectors.netsuite.conftest import TBA_SECRETS, channel_fields, selling_channel_fields
from tests.connectors.netsuite.contract_harness import ENTERED_ORDER, NetSuiteSellingHarness, open_selling

SINCE = datetime.now(UTC) - timedelta(minutes=5)


@pytest_asyncio.fixture
async def erp(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[NetSuiteSellingHarness]:
    async with open_selling(monkeypatch) as harness:
        assert isinstance(harness, NetSuiteSellingHarness)
        yield harness
        await harness.connector.aclose()


async def order_of(erp: NetSuiteSellingHarness, internal: str) -> Order:
    [polled] = [p for p in await erp.connector.poll_orders(SINCE) if p.external_id == internal]
    return erp.connector.map_order(
        polled.payload, order_id=f"order/netsuite-sales/{internal}", tenant_id=TENANT, received_at=RECEIVED_AT
    )


def test_the_registry_builds_each_role_of_the_one_type(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable, value in TBA_SECRETS.items():
        monkeypatch.setenv(variable, value)

    selling = build_connector(ChannelConfig(**selling_channel_fields()))
    fulfillment = build_connector(ChannelConfig(**channel_fields()))

    assert isinstance(selling, NetSuiteSellingConnector)
    assert isinstance(fulfillment, NetSuiteConnector)


async def test_the_poll_leaves_out_the_orders_orderloop_entered(erp: NetSuiteSellingHarness) -> None:
    mine = await erp.enter_polled_order()
    ours = external_id("order/shopify/1001/sr1")
    entered_by_us = await erp.session.control(
        "POST", "/_sandbox/orders", json={**ENTERED_ORDER, "netsuiteExternalId": ours}
    )
    other_integration = await erp.session.control(
        "POST", "/_sandbox/orders", json={**ENTERED_ORDER, "netsuiteExternalId": "CRM-7781"}
    )

    polled = await erp.connector.poll_orders(SINCE)

    assert sorted(p.external_id for p in polled) == sorted([mine, str(other_integration["id"])])
    assert str(entered_by_us["id"]) not in {p.external_id for p in polled}
    queries = [
        r["body"]["q"] for r in (await erp.http.get("/_sandbox/requests", params={"path_prefix": SUITEQL})).json()
    ]
    assert any("NOT LIKE 'OL-%'" in q for q in queries)  # left out by NetSuite, not after reading it


async def test_a_cancelled_or_closed_order_is_polled_as_cancelled(erp: NetSuiteSellingHarness) -> None:
    cancelled, closed, open_one = [await erp.enter_polled_order() for _ in range(3)]
    await erp.session.control("POST", f"/_sandbox/cancel/{cancelled}")
    await erp.session.control("POST", f"/_sandbox/close/{closed}")

    polled = {p.external_id: p for p in await erp.connector.poll_orders(SINCE)}

    assert polled[cancelled].cancelled and polled[closed].cancelled
    assert not polled[open_one].cancelled
    assert polled[open_one].created_at is not None and polled[open_one].updated_at is None


async def test_a_lost_transform_answer_is_still_one_item_fulfillment(erp: NetSuiteSellingHarness) -> None:
    order = await order_of(erp, await erp.enter_polled_order())
    parcel = shipment_of(order, "S1", slice(None))
    await erp.session.configure(lose_create_answers=1)

    with pytest.raises(RetryableError):
        await erp.connector.push_shipment(order, parcel)
    retried = await erp.connector.push_shipment(order, parcel)

    [fulfillment] = await erp.session.control("GET", f"/_sandbox/fulfillments/{order.external_id}")
    assert retried == fulfillment["id"]
    assert [p["packageTrackingNumber"] for p in fulfillment["package"]["items"]] == parcel.tracking_numbers
    assert [(ln["item"]["refName"], ln["quantity"]) for ln in fulfillment["item"]["items"]] == [
        (ln.sku, ln.quantity) for ln in order.line_items
    ]
    transforms = (
        await erp.http.get(
            "/_sandbox/requests",
            params={"path_prefix": f"{RECORD}/salesOrder/{order.external_id}/!transform/itemFulfillment"},
        )
    ).json()
    assert [r["status"] for r in transforms] == [504]
    record = await erp.session.control("GET", "/_sandbox/orders")
    [shipped] = [o for o in record if o["id"] == order.external_id]
    assert all(ln["quantityFulfilled"] == ln["quantity"] for ln in shipped["item"]["items"])


async def test_a_shipment_beyond_the_order_is_refused_without_a_transform(erp: NetSuiteSellingHarness) -> None:
    order = await order_of(erp, await erp.enter_polled_order())
    parcel = shipment_of(order, "S1", slice(0, 1))
    too_many = parcel.model_copy(update={"line_items": [parcel.line_items[0].model_copy(update={"quantity": 9})]})

    with pytest.raises(RejectedError, match="open units"):
        await erp.connector.push_shipment(order, too_many)
    assert not await erp.session.control("GET", f"/_sandbox/fulfillments/{order.external_id}")


async def test_the_inventory_push_calls_netsuite_for_nothing(erp: NetSuiteSellingHarness) -> None:
    before = len((await erp.http.get("/_sandbox/requests")).json())

    await erp.connector.push_inventory({"TSHIRT-BLK-M": 7})

    assert len((await erp.http.get("/_sandbox/requests")).json()) == before


async def test_cancel_closes_the_open_lines(erp: NetSuiteSellingHarness) -> None:
    order = await order_of(erp, await erp.enter_polled_order())

    assert await erp.connector.cancel_order(order, "out of stock")
    assert await erp.connector.cancel_order(order, "out of stock")  # nothing left open: told already

    [record] = [o for o in await erp.session.control("GET", "/_sandbox/orders") if o["id"] == order.external_id]
    assert record["status"]["id"] == "H"
    assert all(line["isClosed"] for line in record["item"]["items"])
    patches = (await erp.http.get("/_sandbox/requests", params={"method": "PATCH"})).json()
    assert len(patches) == 1


async def test_a_push_racing_another_of_the_same_shipment_answers_the_fulfillment_made(
    erp: NetSuiteSellingHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    order = await order_of(erp, await erp.enter_polled_order())
    parcel = shipment_of(order, "S1", slice(None))
    first = await erp.connector.push_shipment(order, parcel)
    # The second push looks before the first one's fulfillment is there (a race), then transforms.
    read = erp.connector.client.get_record
    looked: list[str] = []

    async def stale_first_look(record: str, key: str, what: str) -> dict[str, Any] | None:
        looked.append(key)
        return None if len(looked) == 1 else await read(record, key, what)

    monkeypatch.setattr(erp.connector.client, "get_record", stale_first_look)

    assert await erp.connector.push_shipment(order, parcel) == first
    assert len(await erp.session.control("GET", f"/_sandbox/fulfillments/{order.external_id}")) == 1
    transforms = (
        await erp.http.get(
            "/_sandbox/requests",
            params={"path_prefix": f"{RECORD}/salesOrder/{order.external_id}/!transform/itemFulfillment"},
        )
    ).json()
    assert [r["status"] for r in transforms] == [204]  # the second found nothing left to fulfil
