"""Location filters: why a candidate location is skipped before its stock is looked at.

`LOCATION_FILTERS` holds, per `LocationFilter`, whether the filter can ever skip a given
location (decided once per configuration, so a location with no outage, capacity, channel
exclusion or service area costs nothing per decision) and the check itself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from orderloop.config import LocationConfig, OrderloopConfig
from orderloop.routing.context import RoutingContext
from orderloop.routing.facts import OrderFacts
from orderloop.routing.geo import Point, locate, normalise_postal
from orderloop.routing_rules import LocationFilter


@dataclass(frozen=True, slots=True)
class Area:
    country: str
    states: frozenset[str] | None
    postal_prefixes: tuple[str, ...] | None

    def covers(self, facts: OrderFacts) -> bool:
        return (
            facts.country == self.country
            and (self.states is None or facts.state in self.states)
            and (self.postal_prefixes is None or facts.postal.startswith(self.postal_prefixes))
        )


@dataclass(frozen=True, slots=True)
class LocationSpec:
    """A location as routing uses it, compiled from its configuration."""

    id: str
    fulfillment_channel: str
    country: str
    postal: str
    point: Point | None
    paused: bool
    # (start, end, the reason a skip gives), sorted.
    outages: tuple[tuple[datetime, datetime, str], ...]
    capacity: int | None
    closed_channels: frozenset[str]
    serves: tuple[Area, ...] | None
    # Per selling channel with requirements this location may fail: the order's ship method
    # (lower case; "" for any other) -> why the location cannot meet them, None where it can.
    unmet: dict[str, dict[str, str | None]]

    @classmethod
    def of(cls, loc: LocationConfig, config: OrderloopConfig) -> LocationSpec:
        country, postal = loc.country.strip().upper(), normalise_postal(loc.postal_code)
        return cls(
            id=loc.id,
            fulfillment_channel=loc.fulfillment_channel,
            country=country,
            postal=postal,
            point=locate(country, postal),
            paused=loc.paused,
            outages=tuple(
                sorted(
                    (o.start, o.end, f"outage until {o.end.isoformat()}" + (f" ({o.reason})" if o.reason else ""))
                    for o in loc.outages
                )
            ),
            capacity=loc.daily_order_capacity,
            closed_channels=frozenset(loc.exclude_channels) | {c.id for c in config.channels if not loc.ships_for(c)},
            serves=None
            if loc.serves is None
            else tuple(
                Area(
                    a.country,
                    None if a.states is None else frozenset(a.states),
                    None if a.postal_prefixes is None else tuple(a.postal_prefixes),
                )
                for a in loc.serves
            ),
            unmet=_unmet(loc, config),
        )


def _unmet(loc: LocationConfig, config: OrderloopConfig) -> dict[str, dict[str, str | None]]:
    """Settled once per configuration: the channels' requirements against what the location
    ships with, so a decision only looks the order's ship method up."""
    if loc.carriers is None and loc.ship_methods is None:
        return {}
    found: dict[str, dict[str, str | None]] = {}
    for channel in config.channels:
        if channel.requirements is None:
            continue
        codes = [None, *channel.requirements.ship_methods]
        table = {
            (code or "").lower(): channel.shipping_requirements(code).unmet_by(loc.carriers, loc.ship_methods)
            for code in codes
        }
        if any(reason is not None for reason in table.values()):
            found[channel.id] = table
    return found


LocationCheck = Callable[[LocationSpec, OrderFacts, RoutingContext], str | None]


@dataclass(frozen=True)
class Filter:
    # Whether the filter can ever skip this location (if not, it costs nothing for it).
    can_skip: Callable[[LocationSpec], bool]
    # What can be told from the location and the channel alone: the reason it is skipped, True
    # when it passes whatever the order, False when the order or the moment decides.
    fixed: Callable[[LocationSpec, str | None], str | bool]
    check: LocationCheck


def _closed(loc: LocationSpec, facts: OrderFacts, ctx: RoutingContext) -> str | None:
    if loc.paused:
        return "paused"
    for start, end, reason in loc.outages:
        if start <= ctx.now < end:
            return reason
    return None


def _full(loc: LocationSpec, facts: OrderFacts, ctx: RoutingContext) -> str | None:
    taken = ctx.orders_today.get(loc.id, 0)
    if loc.capacity is None or taken < loc.capacity:
        return None
    return f"daily capacity reached ({taken}/{loc.capacity} orders)"


def _channel(loc: LocationSpec, facts: OrderFacts, ctx: RoutingContext) -> str | None:
    return f"closed to channel {facts.channel}" if facts.channel in loc.closed_channels else None


def _region(loc: LocationSpec, facts: OrderFacts, ctx: RoutingContext) -> str | None:
    for area in loc.serves or ():
        if area.covers(facts):
            return None
    return None if loc.serves is None else f"does not serve {facts.destination}"


def _requirements(loc: LocationSpec, facts: OrderFacts, ctx: RoutingContext) -> str | None:
    table = loc.unmet.get(facts.channel)
    if table is None:
        return None
    code = facts.shipping_method
    return table[code] if code in table else table[""]


def _channel_fixed(loc: LocationSpec, channel: str | None) -> str | bool:
    return f"closed to channel {channel}" if channel in loc.closed_channels else True


LOCATION_FILTERS: dict[LocationFilter, Filter] = {
    LocationFilter.OPEN: Filter(
        lambda loc: loc.paused or bool(loc.outages),
        lambda loc, channel: "paused" if loc.paused else not loc.outages,
        _closed,
    ),
    LocationFilter.CAPACITY: Filter(lambda loc: loc.capacity is not None, lambda loc, channel: False, _full),
    LocationFilter.CHANNEL: Filter(lambda loc: bool(loc.closed_channels), _channel_fixed, _channel),
    LocationFilter.REGION: Filter(lambda loc: loc.serves is not None, lambda loc, channel: False, _region),
}

# Not a `LocationFilter` a rule may leave out: a selling channel's requirements bind its orders
# whatever rule routes them, so every step applies this one after its own filters.
REQUIREMENTS = "requirements"
REQUIREMENTS_FILTER = Filter(
    lambda loc: bool(loc.unmet),
    lambda loc, channel: channel not in loc.unmet,
    _requirements,
)


def screen(
    loc: LocationSpec, filters: list[LocationFilter], channel: str | None
) -> tuple[str | None, tuple[tuple[str, LocationCheck], ...]]:
    """For orders of `channel`: the reason `loc` is skipped whatever the order (or None), and
    the checks left to run per order, in the order the rule lists its filters, then the selling
    channel's requirements. Each check comes with the prefix its reason takes in the trace
    (`"open: "`)."""
    checks: list[tuple[str, LocationCheck]] = []
    applied = [(name.value, LOCATION_FILTERS[name]) for name in dict.fromkeys(filters)]
    for name, spec in [*applied, (REQUIREMENTS, REQUIREMENTS_FILTER)]:
        if not spec.can_skip(loc):
            continue
        prefix, fixed = f"{name}: ", spec.fixed(loc, channel)
        if fixed is True:
            continue
        if isinstance(fixed, str) and not checks:
            return prefix + fixed, ()
        checks.append((prefix, spec.check))
    return None, tuple(checks)
