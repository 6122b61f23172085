"""Allocation without Temporal, against a real SQLite ledger: route on what the ledger holds,
reserve, hand back a reservation already held, refuse unknown or unreleased SKUs, route again
when a rival took the stock; and the order policy a channel's configuration gives."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest_asyncio

from orderloop.activity_models import AllocateInput, AllocateOutcome, AllocateResult
from orderloop.allocation import Allocator
from orderloop.config import OrderloopConfig
from orderloop.ledger import Cause, CauseKind, Ledger, ReservationLine, ReserveResult
from orderloop.model import Address
from orderloop.order_policy import order_policy
from tests.routing.builders import NOW, NYC, ZIPS, channel, location, make_config, make_order

CAUSE = Cause(kind=CauseKind.OPERATOR, ref="tests")
ORDER_ID = "order/storefront/1001"


class RivalLedger(Ledger):
    """Before the first reservation, a rival order takes every free unit of TEE at East."""

    rival_pending = False

    async def reserve(self, order_id: str, lines: list[ReservationLine], cause: Cause) -> ReserveResult:
        if self.rival_pending:
            self.rival_pending = False
            free = (await self.available(["TEE"], ["east"]))[("TEE", "east")]
            rival = [ReservationLine(line_id="1", sku="TEE", location_id="east", quantity=free)]
            assert (await super().reserve("rival", rival, CAUSE)).reserved
        return await super().reserve(order_id, lines, cause)


def config(**storefront: Any) -> OrderloopConfig:
    rules: list[dict[str, Any]] = [{"name": "closest", "sort": ["closest"]}]
    channels = [channel("storefront", **storefront), channel("wms", "fulfillment")]
    return make_config([location("east", ZIPS["newark"]), location("west", ZIPS["reno"])], rules, channels=channels)


@pytest_asyncio.fixture
async def ledger(tmp_path: Path) -> AsyncIterator[RivalLedger]:
    opened = await RivalLedger.open(f"sqlite:///{tmp_path / 'ledger.db'}")
    assert isinstance(opened, RivalLedger)
    yield opened
    await opened.close()


async def allocate(ledger: Ledger, lines: list[tuple[str, int]], **storefront: Any) -> AllocateResult:
    order = make_order(lines, postal_code=NYC)
    inp = AllocateInput(order=order, line_ids=[line.id for line in order.line_items], now=NOW)
    return await Allocator(config(**storefront), ledger).allocate(inp)


async def test_an_order_is_routed_to_the_closest_stock_and_reserved(ledger: RivalLedger) -> None:
    await ledger.receive("TEE", "east", 2, CAUSE)
    await ledger.receive("TEE", "west", 5, CAUSE)

    result = await allocate(ledger, [("TEE", 2)])

    assert result.outcome is AllocateOutcome.ALLOCATED
    assert result.allocation is not None
    assert [a.location_id for a in result.allocation.assignments] == ["east"]
    held = await ledger.reservations(ORDER_ID)
    assert [(r.location_id, r.open_quantity) for r in held] == [("east", 2)]


async def test_a_retried_allocation_returns_the_reservation_it_holds(ledger: RivalLedger) -> None:
    await ledger.receive("TEE", "east", 1, CAUSE)
    first = await allocate(ledger, [("TEE", 1)])

    again = await allocate(ledger, [("TEE", 1)])

    assert again.outcome is AllocateOutcome.ALLOCATED
    assert again.allocation is not None and first.allocation is not None
    assert again.allocation.assignments == first.allocation.assignments
    assert again.allocation.explanation == ["reservation already held from an earlier attempt"]
    assert [r.open_quantity for r in await ledger.reservations(ORDER_ID)] == [1]


async def test_a_sku_the_ledger_never_saw_is_unknown(ledger: RivalLedger) -> None:
    result = await allocate(ledger, [("GHOST", 1)])
    assert result.outcome is AllocateOutcome.UNKNOWN_SKU
    assert result.detail == {"skus": ["GHOST"]}


async def test_a_sku_not_rolled_out_on_the_channel_is_refused(ledger: RivalLedger) -> None:
    await ledger.receive("TEE", "east", 3, CAUSE)
    result = await allocate(ledger, [("TEE", 1)], skus=["MUG"])
    assert result.outcome is AllocateOutcome.UNKNOWN_SKU
    assert result.detail == {"skus": ["TEE"], "reason": "not_rolled_out"}
    assert await ledger.reservations(ORDER_ID) == []


async def test_without_stock_anywhere_the_order_is_out_of_stock(ledger: RivalLedger) -> None:
    await ledger.receive("TEE", "east", 1, CAUSE)
    taken = [ReservationLine(line_id="1", sku="TEE", location_id="east", quantity=1)]
    assert (await ledger.reserve("other", taken, CAUSE)).reserved
    result = await allocate(ledger, [("TEE", 1)])
    assert result.outcome is AllocateOutcome.OUT_OF_STOCK
    assert await ledger.reservations(ORDER_ID) == []


async def test_stock_a_rival_took_before_the_reservation_is_routed_around(ledger: RivalLedger) -> None:
    await ledger.receive("TEE", "east", 1, CAUSE)
    await ledger.receive("TEE", "west", 1, CAUSE)
    ledger.rival_pending = True

    result = await allocate(ledger, [("TEE", 1)])

    assert result.outcome is AllocateOutcome.ALLOCATED
    assert result.allocation is not None
    assert [a.location_id for a in result.allocation.assignments] == ["west"]


def test_the_order_policy_comes_from_the_channel_and_the_task_queue_prefix() -> None:
    policy = order_policy(config(hold_window="5m", ship_by_sla="24h"), "t", "storefront")
    assert (policy.hold_window, policy.ship_by_sla) == (timedelta(minutes=5), timedelta(hours=24))
    assert policy.orders_task_queue.startswith("t")
    assert set(policy.fulfillment_task_queues) == {"wms"}
    assert policy.locations == ["east", "west"]


def test_a_fulfillment_channels_await_delivery_is_in_the_order_policy() -> None:
    rules: list[dict[str, Any]] = [{"name": "closest", "sort": ["closest"]}]
    channels = [channel("storefront"), channel("wms", "fulfillment", await_delivery="14d")]
    cfg = make_config([location("east", ZIPS["newark"]), location("west", ZIPS["reno"])], rules, channels=channels)
    assert order_policy(cfg, "t", "storefront").await_delivery == {"wms": timedelta(days=14)}
    assert order_policy(config(), "t", "storefront").await_delivery == {}


async def test_a_retried_allocation_of_a_two_address_order_keeps_one_assignment_per_address(
    ledger: RivalLedger,
) -> None:
    await ledger.receive("TEE", "east", 5, CAUSE)
    order = make_order([("TEE", 1), ("TEE", 2)], postal_code=NYC)
    second = Address(address1="9 Elm St", city="Newark", country="US", zip_code_or_postal_code="07102")
    order = order.model_copy(
        update={
            "line_items": [
                order.line_items[0].model_copy(
                    update={"shipping_address": order.shipping_address, "address_ref": "51"}
                ),
                order.line_items[1].model_copy(update={"shipping_address": second, "address_ref": "52"}),
            ]
        }
    )
    inp = AllocateInput(order=order, line_ids=["1", "2"], now=NOW)

    first = await Allocator(config(), ledger).allocate(inp)
    again = await Allocator(config(), ledger).allocate(inp)

    assert first.allocation is not None and again.allocation is not None
    parts = [(a.location_id, [ln.line_id for ln in a.line_items]) for a in first.allocation.assignments]
    assert parts == [("east", ["1"]), ("east", ["2"])]
    assert again.allocation.explanation == ["reservation already held from an earlier attempt"]
    assert [(a.location_id, [ln.line_id for ln in a.line_items]) for a in again.allocation.assignments] == parts
