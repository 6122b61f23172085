"""The configuration's routing rules compiled once into tuples, sets and closures, so that a
decision only compares and looks up. Cached per configuration object (configurations are
frozen)."""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from orderloop.config import OrderloopConfig
from orderloop.model import ConnectorRole
from orderloop.routing.facts import OrderFacts, Stock
from orderloop.routing.locations import LocationCheck, LocationSpec, screen
from orderloop.routing.rules import Check, compile_conditions
from orderloop.routing.split import SPLITS, Split
from orderloop.routing.strategies import SORTS, Sort
from orderloop.routing_rules import ALL_LOCATION_FILTERS, LocationFilter, RoutingRule, SortStrategy, SplitPolicy

# The rule that applies when the file declares none: every location in the file's order, whole.
DEFAULT_RULE = "default"
FIRST_STEP = "first choice"


@dataclass(frozen=True, slots=True)
class Screen:
    """A step's filters for the orders of one channel, as far as they could be settled in advance."""

    # Location -> reason, for the candidates skipped whatever the order (paused, closed to the channel).
    skipped: dict[str, str]
    # The other candidates, in rank order.
    eligible: tuple[LocationSpec, ...]
    # Those of them the order or the moment decides on, with the checks to run, in rank order.
    checked: tuple[tuple[LocationSpec, tuple[tuple[str, LocationCheck], ...]], ...]
    # The same by location id.
    checks: dict[str, tuple[tuple[str, LocationCheck], ...]]

    @classmethod
    def of(cls, candidates: tuple[LocationSpec, ...], filters: list[LocationFilter], channel: str | None) -> Screen:
        skipped: dict[str, str] = {}
        checked = []
        for loc in candidates:
            reason, checks = screen(loc, filters, channel)
            if reason is not None:
                skipped[loc.id] = reason
            elif checks:
                checked.append((loc, checks))
        eligible = tuple(loc for loc in candidates if loc.id not in skipped)
        return cls(skipped, eligible, tuple(checked), {loc.id: checks for loc, checks in checked})


@dataclass(frozen=True, slots=True)
class Step:
    label: str
    # Every candidate location, in rank order, and each one's 0-based rank.
    candidates: tuple[LocationSpec, ...]
    rank: dict[str, int]
    # The filters per selling channel; `screen` for any other channel.
    screens: dict[str, Screen]
    screen: Screen
    sort: tuple[SortStrategy, ...]
    sorts: tuple[Sort, ...]
    split: SplitPolicy
    splitter: Callable[[Iterable[LocationSpec], OrderFacts, Stock], Split]
    # Derived once, read on every decision.
    by_distance: bool = field(init=False)
    # Never split: locations are filtered as the walk reaches them, not all beforehand.
    lazy: bool = field(init=False)
    sort_names: tuple[str, ...] = field(init=False)
    split_name: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_distance", SortStrategy.CLOSEST in self.sort)
        object.__setattr__(self, "lazy", self.split is SplitPolicy.NEVER)
        object.__setattr__(self, "sort_names", tuple(s.value for s in self.sort))
        object.__setattr__(self, "split_name", self.split.value)


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    conditions: tuple[Check, ...]
    steps: tuple[Step, ...]


@dataclass(frozen=True)
class RoutingPlan:
    locations: dict[str, LocationSpec]
    # Rules that apply to each channel named anywhere (global rules and the channel's own), in
    # file order; `global_rules` for any other channel.
    by_channel: dict[str, tuple[Rule, ...]]
    global_rules: tuple[Rule, ...]

    def rules_for(self, channel_id: str) -> tuple[Rule, ...]:
        return self.by_channel.get(channel_id, self.global_rules)


def compile_plan(config: OrderloopConfig) -> RoutingPlan:
    locations = {loc.id: LocationSpec.of(loc, config) for loc in config.locations}
    declared = config.routing.rules or [RoutingRule(name=DEFAULT_RULE)]
    channels = {c.id for c in config.channels if c.role is ConnectorRole.SELLING}
    channels.update(ch for rule in declared for ch in rule.when.channels or [])
    ordered_channels = sorted(channels)
    compiled = [(_compile_rule(rule, config, locations, ordered_channels), rule.when.channels) for rule in declared]
    return RoutingPlan(
        locations=locations,
        by_channel={
            channel: tuple(rule for rule, scope in compiled if scope is None or channel in scope)
            for channel in ordered_channels
        },
        global_rules=tuple(rule for rule, scope in compiled if scope is None),
    )


def _compile_rule(
    rule: RoutingRule, config: OrderloopConfig, locations: dict[str, LocationSpec], channels: list[str]
) -> Rule:
    steps = []
    for i, step in enumerate(rule.steps()):
        ids = step.locations or list(locations)
        filters = step.filters if step.filters is not None else ALL_LOCATION_FILTERS
        sort = tuple(step.sort or [SortStrategy.RANKED])
        split = step.split or SplitPolicy.NEVER
        candidates = tuple(locations[loc_id] for loc_id in ids)
        steps.append(
            Step(
                label=FIRST_STEP if i == 0 else f"fallback {i}",
                candidates=candidates,
                rank={loc.id: n for n, loc in enumerate(candidates)},
                screens={channel: Screen.of(candidates, filters, channel) for channel in channels},
                screen=Screen.of(candidates, filters, None),
                sort=sort,
                sorts=tuple(SORTS[s] for s in sort),
                split=split,
                splitter=SPLITS[split],
            )
        )
    return Rule(rule.name, compile_conditions(rule.when, config.routing.sku_tags), tuple(steps))


_PLANS: dict[int, tuple[weakref.ref[OrderloopConfig], RoutingPlan]] = {}


def plan_for(config: OrderloopConfig) -> RoutingPlan:
    """The compiled plan of `config`, compiled on first use."""
    key = id(config)
    entry = _PLANS.get(key)
    if entry is not None and entry[0]() is config:
        return entry[1]
    plan = compile_plan(config)
    _PLANS[key] = (weakref.ref(config, lambda _ref: _PLANS.pop(key, None)), plan)
    return plan
