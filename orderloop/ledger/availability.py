"""Available-to-sell per selling channel read from the ledger: `channel_quantities` reads the free
units of many SKUs and applies the channel's rules (`orderloop.inventory_rules`) to each."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import TYPE_CHECKING

from orderloop.inventory_rules import InventoryRules, publishable

if TYPE_CHECKING:
    from orderloop.ledger.store import Ledger


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
    return {sku: publishable(by_sku.get(sku, {}), rules, rollout is None or sku in rollout) for sku in wanted}
