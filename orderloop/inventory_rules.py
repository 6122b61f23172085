"""A selling channel's inventory publishing rules (configuration) and the pure computation of the
quantity one SKU publishes under them; reading the ledger for many SKUs is
`orderloop.ledger.availability`'s job."""

from __future__ import annotations

import math

from pydantic import BaseModel, ConfigDict, Field


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


def publishable(available_by_location: dict[str, int], rules: InventoryRules, rolled_out: bool) -> int:
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
