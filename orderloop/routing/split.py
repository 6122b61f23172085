"""Split policies: which of the sorted locations ship which lines.

`SPLITS` maps each `SplitPolicy` to a function of the locations best first. A line always ships
whole from one location; lines of the same SKU draw on the same free units.
- never: the first location with stock for every line ships them all.
- minimise: one location if any has everything; otherwise, greedily, the location that can ship
  the most remaining lines (ties: the better sorted), until every line is placed.
- by_line: each line, in order, from the first location that still has stock for it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from orderloop.routing.facts import Line, Missing, OrderFacts, Stock
from orderloop.routing.locations import LocationSpec
from orderloop.routing_rules import SplitPolicy

# How many locations without enough stock the trace lists by name.
SHORT_LISTED = 10


@dataclass(slots=True)
class Split:
    placements: list[tuple[LocationSpec, list[Line]]] = field(default_factory=list)
    # Location -> what it lacks for the whole order, for the locations looked at.
    short: dict[str, list[Missing]] = field(default_factory=dict)
    short_not_listed: int = 0
    # Lines no location could take (the placements are then void).
    unplaced: list[Line] = field(default_factory=list)
    # How many of the sorted locations the policy looked at (the rest did not matter).
    examined: int = 0

    @property
    def placed(self) -> bool:
        return bool(self.placements) and not self.unplaced

    def note_short(self, location_id: str, what: list[Missing]) -> None:
        if len(self.short) < SHORT_LISTED:
            self.short[location_id] = what
        else:
            self.short_not_listed += 1


def _whole(locations: Iterable[LocationSpec], facts: OrderFacts, stock: Stock, split: Split) -> bool:
    """Place every line at the first location that has them all; note the others looked at."""
    n = 0
    for loc in locations:
        n += 1
        missing = facts.missing_at(loc.id, stock)
        if not missing:
            split.placements.append((loc, list(facts.lines)))
            split.examined = max(split.examined, n)
            return True
        split.note_short(loc.id, missing)
    split.examined = max(split.examined, n)
    return False


def never(locations: Iterable[LocationSpec], facts: OrderFacts, stock: Stock) -> Split:
    """Reads `locations` only up to the first that has everything (they may come lazily)."""
    split = Split()
    if not _whole(locations, facts, stock, split):
        split.unplaced = list(facts.lines)
    return split


class _Free:
    """Units still free per (sku, location) while lines are being placed."""

    def __init__(self, stock: Stock) -> None:
        self.stock = stock
        self.taken: dict[tuple[str, str], int] = {}

    def left(self, sku: str, location_id: str) -> int:
        key = (sku, location_id)
        return self.stock.get(key, 0) - self.taken.get(key, 0)

    def take(self, sku: str, location_id: str, quantity: int) -> None:
        key = (sku, location_id)
        self.taken[key] = self.taken.get(key, 0) + quantity


def _takeable(loc: LocationSpec, lines: list[Line], free: _Free) -> list[Line]:
    left: dict[str, int] = {}
    chosen = []
    for line in lines:
        units = left.get(line.sku)
        if units is None:
            units = free.left(line.sku, loc.id)
        if units >= line.quantity:
            chosen.append(line)
            units -= line.quantity
        left[line.sku] = units
    return chosen


def minimise(candidates: Iterable[LocationSpec], facts: OrderFacts, stock: Stock) -> Split:
    locations = list(candidates)
    split = Split()
    if _whole(locations, facts, stock, split):
        return split
    free = _Free(stock)
    remaining = list(facts.lines)
    used: set[str] = set()
    while remaining:
        best: LocationSpec | None = None
        best_lines: list[Line] = []
        for loc in locations:
            if loc.id in used:
                continue
            lines = _takeable(loc, remaining, free)
            if len(lines) > len(best_lines):
                best, best_lines = loc, lines
        if best is None:
            break
        used.add(best.id)
        for line in best_lines:
            free.take(line.sku, best.id, line.quantity)
        split.placements.append((best, best_lines))
        taken = {line.id for line in best_lines}
        remaining = [line for line in remaining if line.id not in taken]
    split.unplaced = remaining
    return split


def by_line(candidates: Iterable[LocationSpec], facts: OrderFacts, stock: Stock) -> Split:
    locations = list(candidates)
    split = Split(examined=len(locations))
    free = _Free(stock)
    by_location: dict[str, tuple[LocationSpec, list[Line]]] = {}
    for line in facts.lines:
        for loc in locations:
            if free.left(line.sku, loc.id) >= line.quantity:
                free.take(line.sku, loc.id, line.quantity)
                by_location.setdefault(loc.id, (loc, []))[1].append(line)
                break
        else:
            split.unplaced.append(line)
    split.placements = list(by_location.values())
    if split.unplaced:
        for loc in locations:
            missing = facts.missing_at(loc.id, stock)
            if missing:
                split.note_short(loc.id, missing)
    return split


SPLITS: dict[SplitPolicy, Callable[[Iterable[LocationSpec], OrderFacts, Stock], Split]] = {
    SplitPolicy.NEVER: never,
    SplitPolicy.MINIMISE: minimise,
    SplitPolicy.BY_LINE: by_line,
}
