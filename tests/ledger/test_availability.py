"""Available-to-sell per channel: buffer, floor, percent, maximum, locations and rollout."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from pydantic import ValidationError

from orderloop.config import ChannelConfig
from orderloop.inventory_rules import InventoryRules, publishable
from orderloop.ledger import (
    Cause,
    Ledger,
    Product,
    ReservationLine,
    channel_quantities,
)

Uid = Callable[[str], str]
STOCK = {"east": 30, "west": 10}


def test_default_rules_publish_everything_available() -> None:
    assert publishable(STOCK, InventoryRules(), rolled_out=True) == 40


def test_a_sku_not_rolled_out_publishes_nothing() -> None:
    assert publishable(STOCK, InventoryRules(), rolled_out=False) == 0


def test_only_locations_serving_the_channel_count() -> None:
    assert publishable(STOCK, InventoryRules(locations=["west", "north"]), rolled_out=True) == 10


def test_the_buffer_is_held_back() -> None:
    assert publishable(STOCK, InventoryRules(buffer=5), rolled_out=True) == 35
    assert publishable(STOCK, InventoryRules(buffer=50), rolled_out=True) == 0


def test_a_percentage_rounds_down() -> None:
    assert publishable({"east": 9}, InventoryRules(percent=50), rolled_out=True) == 4
    assert publishable({"east": 10}, InventoryRules(percent=30), rolled_out=True) == 3
    assert publishable({"east": 10}, InventoryRules(percent=0), rolled_out=True) == 0


def test_the_maximum_caps_what_is_published() -> None:
    assert publishable(STOCK, InventoryRules(maximum=12), rolled_out=True) == 12
    assert publishable({"east": 3}, InventoryRules(maximum=12), rolled_out=True) == 3


def test_below_the_floor_nothing_is_published() -> None:
    rules = InventoryRules(floor=5)
    assert publishable({"east": 4}, rules, rolled_out=True) == 0
    assert publishable({"east": 5}, rules, rolled_out=True) == 5


def test_rules_apply_in_order_buffer_floor_percent_maximum() -> None:
    rules = InventoryRules(buffer=4, floor=10, percent=50, maximum=8)
    assert publishable({"east": 13}, rules, rolled_out=True) == 0  # 9 left after the buffer
    assert publishable({"east": 14}, rules, rolled_out=True) == 5  # 10 left, half of it
    assert publishable({"east": 40}, rules, rolled_out=True) == 8  # half of 36, capped


def test_rules_refuse_impossible_values() -> None:
    with pytest.raises(ValidationError):
        InventoryRules(percent=120)
    with pytest.raises(ValidationError):
        InventoryRules(buffer=-1)


def test_a_channel_configures_its_inventory_rules() -> None:
    channel = ChannelConfig.model_validate(
        {
            "id": "shop",
            "type": "storefront",
            "role": "selling",
            "base_url": "http://127.0.0.1:9001",
            "skus": ["MUG"],
            "inventory": {"buffer": 2, "percent": 80, "locations": ["east"]},
        }
    )
    assert channel.inventory == InventoryRules(buffer=2, percent=80, locations=["east"])
    assert ChannelConfig.model_validate({**channel.model_dump(), "inventory": {}}).inventory == (InventoryRules())
    with pytest.raises(ValidationError):
        ChannelConfig.model_validate({**channel.model_dump(), "buffer": 2})


async def test_channel_quantities_read_the_ledger_for_many_skus(ledger: Ledger, uid: Uid, cause: Cause) -> None:
    mug, lid, kit, hidden, unknown = (uid(n) for n in ("mug", "lid", "kit", "hidden", "unknown"))
    await ledger.define_products([Product(sku=kit, components={mug: 1, lid: 1})])
    await ledger.receive(mug, "east", 20, cause)
    await ledger.receive(mug, "west", 7, cause)
    await ledger.receive(lid, "east", 5, cause)
    await ledger.receive(hidden, "east", 9, cause)
    order = [ReservationLine(line_id="1", sku=mug, location_id="east", quantity=4)]
    await ledger.reserve(uid("order"), order, cause)
    rules = InventoryRules(buffer=1, locations=["east"])
    quantities = await channel_quantities(
        ledger, [mug, lid, kit, hidden, unknown], rules, rollout={mug, lid, kit, unknown}
    )
    assert quantities == {mug: 15, lid: 4, kit: 4, hidden: 0, unknown: 0}
    everything = await channel_quantities(ledger, [mug, hidden], InventoryRules(), rollout=None)
    assert everything == {mug: 23, hidden: 9}
