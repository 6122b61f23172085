"""The allocate step against a real ledger: routing on what the ledger holds, then reserving;
when another order takes the stock in between, it routes again instead of giving up."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest_asyncio
from temporalio.testing import ActivityEnvironment

from activities.order_steps import RESERVE_ATTEMPTS, OrderSteps
from orderloop.activity_models import AllocateInput, AllocateOutcome
from orderloop.config import OrderloopConfig
from orderloop.ledger import Cause, CauseKind, Ledger, ReservationLine, ReserveResult
from tests.routing.builders import NOW, NYC, ZIPS, location, make_config, make_order

CAUSE = Cause(kind=CauseKind.OPERATOR, ref="tests")
SKU = "TEE"


class RacingLedger(Ledger):
    """A ledger where, just before each of the first `races` reservations, another order takes
    the only free unit at `east` (what a concurrent order does between our read and reserve);
    with `refill`, one more unit arrives at East after each lost race."""

    races = 0
    taken = 0
    refill = False

    async def reserve(self, order_id: str, lines: list[ReservationLine], cause: Cause) -> ReserveResult:
        if self.races == 0:
            return await super().reserve(order_id, lines, cause)
        self.races -= 1
        self.taken += 1
        rival = [ReservationLine(line_id="1", sku=SKU, location_id="east", quantity=1)]
        assert (await super().reserve(f"rival-{self.taken}", rival, CAUSE)).reserved
        result = await super().reserve(order_id, lines, cause)
        if self.refill:
            await self.receive(SKU, "east", 1, CAUSE)
        return result


def config() -> OrderloopConfig:
    # East first (closest to New York), West when East cannot ship.
    rules: list[dict[str, Any]] = [{"name": "closest", "sort": ["closest"]}]
    return make_config([location("east", ZIPS["newark"]), location("west", ZIPS["reno"])], rules)


@pytest_asyncio.fixture
async def ledger(tmp_path: Path) -> AsyncIterator[RacingLedger]:
    opened = await RacingLedger.open(f"sqlite:///{tmp_path / 'ledger.db'}")
    assert isinstance(opened, RacingLedger)
    yield opened
    await opened.close()


async def allocate(ledger: Ledger) -> Any:
    steps = OrderSteps(config(), ledger, {}, "t")
    order = make_order([(SKU, 1)], postal_code=NYC)
    inp = AllocateInput(order=order, line_ids=["1"], now=NOW)
    try:
        return await ActivityEnvironment().run(steps.allocate, inp)
    finally:
        await steps.http.aclose()


async def test_stock_taken_between_routing_and_reserving_routes_again(ledger: RacingLedger) -> None:
    await ledger.receive(SKU, "east", 1, CAUSE)
    await ledger.receive(SKU, "west", 3, CAUSE)
    ledger.races = 1
    result = await allocate(ledger)
    assert result.outcome is AllocateOutcome.ALLOCATED
    assert [a.location_id for a in result.allocation.assignments] == ["west"]
    held = await ledger.reservations("order/storefront/1001")
    assert [(r.location_id, r.open_quantity) for r in held] == [("west", 1)]


async def test_an_order_that_keeps_losing_the_race_waits_as_out_of_stock(ledger: RacingLedger) -> None:
    # Each attempt routes to East (one unit free) and loses it to a rival; West has none.
    await ledger.receive(SKU, "east", 1, CAUSE)
    ledger.races, ledger.refill = RESERVE_ATTEMPTS, True
    result = await allocate(ledger)
    assert result.outcome is AllocateOutcome.OUT_OF_STOCK
    assert f"after {RESERVE_ATTEMPTS} attempts" in result.message
    assert result.detail["shortages"][0]["location_id"] == "east"
    assert await ledger.reservations("order/storefront/1001") == []
    assert ledger.taken == RESERVE_ATTEMPTS


async def test_when_no_location_has_the_stock_the_order_is_out_of_stock_at_once(ledger: RacingLedger) -> None:
    await ledger.receive(SKU, "east", 1, CAUSE)
    ledger.races = 1
    result = await allocate(ledger)
    # The rival took East's only unit; the second routing sees no stock anywhere.
    assert result.outcome is AllocateOutcome.OUT_OF_STOCK
    assert "attempts" not in result.message
    assert ledger.taken == 1
