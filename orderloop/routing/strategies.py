"""Sort strategies: the order in which a rule tries the locations that passed its filters.

`SORTS` maps each `SortStrategy` to a function giving every candidate's key at once (lower sorts
first) and to the score an operator reads in the trace. A rule may list several strategies:
later ones break ties of earlier ones, and the rule's rank breaks any tie left (the sort is
stable over candidates in rank order), so equal scores never depend on dict or set order.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from orderloop.routing.facts import OrderFacts, Stock
from orderloop.routing.geo import km_from_dot, shared_prefix
from orderloop.routing.locations import LocationSpec
from orderloop.routing_rules import SortStrategy

Score = float | int | str
Locations = Sequence[LocationSpec]
# Closest, for a location without coordinates when the destination has some: after every
# located one (a located key is minus a dot product of unit vectors, so at most 1).
_UNLOCATED = 2.0


@dataclass(frozen=True)
class Sort:
    # (locations, each one's 0-based rank in the rule by id, order, stock) -> one key each.
    keys: Callable[[Locations, dict[str, int], OrderFacts, Stock], list[Any]]
    # A key as the trace shows it.
    shown: Callable[[Any], Score]


def _ranks(locations: Locations, rank: dict[str, int], facts: OrderFacts, stock: Stock) -> list[Any]:
    return [rank[loc.id] for loc in locations]


def _distances(locations: Locations, rank: dict[str, int], facts: OrderFacts, stock: Stock) -> list[Any]:
    """Minus the dot product with the destination; without destination coordinates, a
    (tier, value) pair: same country ranked by shared postal prefix, then everything else."""
    destination = facts.point
    if destination is not None:
        x, y, z = destination.x, destination.y, destination.z
        return [_UNLOCATED if (p := loc.point) is None else -(p.x * x + p.y * y + p.z * z) for loc in locations]
    country, postal = facts.country, facts.postal
    return [
        (1, -shared_prefix(loc.postal, postal)) if country and loc.country == country else (2, 0) for loc in locations
    ]


def _shown_distance(key: Any) -> Score:
    if key.__class__ is float:
        return round(km_from_dot(-key), 1) if key < _UNLOCATED else "no coordinates"
    tier, value = key
    return f"no coordinates; same country, {-value} postal character(s) shared" if tier == 1 else "no coordinates"


def _units(locations: Locations, rank: dict[str, int], facts: OrderFacts, stock: Stock) -> list[Any]:
    get = stock.get
    return [-sum(max(get((sku, loc.id), 0), 0) for sku, _ in facts.needs) for loc in locations]


def _lines_covered(locations: Locations, rank: dict[str, int], facts: OrderFacts, stock: Stock) -> list[Any]:
    get = stock.get
    return [-sum(1 for line in facts.lines if get((line.sku, loc.id), 0) >= line.quantity) for loc in locations]


def _negated(key: int) -> Score:
    return -key


SORTS: dict[SortStrategy, Sort] = {
    SortStrategy.RANKED: Sort(_ranks, lambda key: key + 1),
    SortStrategy.CLOSEST: Sort(_distances, _shown_distance),
    SortStrategy.MOST_STOCK: Sort(_units, _negated),
    SortStrategy.FEWEST_SHIPMENTS: Sort(_lines_covered, _negated),
}


def ordered(
    locations: Locations, rank: dict[str, int], sorts: tuple[Sort, ...], facts: OrderFacts, stock: Stock
) -> tuple[list[int] | None, list[list[Any]]]:
    """The positions of `locations` (given in rank order) best first, and each strategy's keys
    by position; (None, []) when the rank order is the answer."""
    if len(sorts) == 1 and sorts[0].keys is _ranks:
        return None, []
    columns = [s.keys(locations, rank, facts, stock) for s in sorts]
    rows: list[Any] = columns[0] if len(columns) == 1 else list(zip(*columns, strict=True))
    return sorted(range(len(locations)), key=rows.__getitem__), columns
