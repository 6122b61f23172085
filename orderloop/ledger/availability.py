"""Available-to-sell per selling channel: what quantity each channel is told it may sell.

`publishable` is pure; `channel_quantities` reads the ledger for many SKUs and applies it.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from orderloop.ledger.store import Ledger


class InventoryRules(BaseModel):
    """A channel's publishing rules, applied in this order to the units free at `locations`:
    minus `buffer`; 0 when fewer than `floor` remain; `percent` of the rest, rounded down;
    at most `maximum`.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    buffer: int = Field(default=0, ge=0)
    percent: float = Field(default=100, ge=0, le=100)
    maximum: int | None = Field(default=None, ge=0)
    floor: int = Field(default=0, ge=0)
    # Locations allowed to serve this channel; None means every location.
    locations: list[str] | None = None


def publishable(
    available_by_location: dict[str, int], rules: InventoryRules, rolled_out: bool
) -> int:
    """The quantity to publish for one SKU on one channel; a SKU not rolled out publishes 0."""
    if not rolled_out:
        return 0
    allowed = None if rules.locations is None else set(rules.locations)
    pooled = sum(
        max(quantity, 0)
        for location, quantity in available_by_location.items()
        if allowed is None or location in allowed
    )
    sellable = pooled - rules.buffer
    if sellable <= 0 or sellable < rules.floor:
        return 0
    # Round half-units down: publishing one unit too few is safe, one too many is an oversell.
    quantity = math.floor(sellable * rules.percent / 100 + 1e-9)
    if rules.maximum is not None:
        quantity = min(quantity, rules.maximum)
    return quantity


async def channel_quantities(
    ledger: Ledger, skus: Iterable[str], rules: InventoryRules, rollout: set[str] | None
) -> dict[str, int]:
    """Quantities to publish for `skus` on a channel; `rollout` None means every SKU."""
    wanted = sorted(set(skus))
    live = [sku for sku in wanted if rollout is None or sku in rollout]
    by_sku: dict[str, dict[str, int]] = defaultdict(dict)
    if live:
        for (sku, location), quantity in (await ledger.available(live, rules.locations)).items():
            by_sku[sku][location] = quantity
    return {
        sku: publishable(by_sku.get(sku, {}), rules, rollout is None or sku in rollout)
        for sku in wanted
    }
