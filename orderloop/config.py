"""The brand's configuration (`orderloop.yaml`): locations, channels and routing rules.

Loaded once at start and validated by pydantic; a bad file is refused with a message naming the
file, the line, the field and the reason. Secrets never live in the file: a channel's
`credentials` map a credential name to the environment variable that holds it.
"""

from __future__ import annotations

import importlib.util
import os
import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from orderloop.ledger.availability import InventoryRules
from orderloop.model import ConnectorRole, OrderType
from orderloop.sla import ShipByCalendar

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(value: Any) -> Any:
    """`"30s"`, `"15m"`, `"48h"`, `"2d"`, or a number of seconds."""
    if isinstance(value, bool):
        raise ValueError("a duration is a number of seconds or a string such as '30s', '15m', '48h'")
    if isinstance(value, int | float):
        return timedelta(seconds=value)
    if isinstance(value, str):
        match = _DURATION.match(value)
        if not match:
            raise ValueError(f"invalid duration {value!r}: use a number with s, m, h or d (e.g. '48h')")
        return timedelta(seconds=float(match.group(1)) * _UNIT_SECONDS[match.group(2)])
    return value


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]
Identifier = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")]


class ConfigError(Exception):
    """The configuration cannot be used; the message says where and why."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- routing -----------------------------------------------------------------------------------
# The rule-card vocabulary. The routing engine (orderloop/routing/) implements each member of
# these enums through a table keyed by it; they live here because the file is validated here.


class SortStrategy(StrEnum):
    """How a rule orders the locations that passed its filters (first wins)."""

    RANKED = "ranked"
    CLOSEST = "closest"
    MOST_STOCK = "most_stock"
    FEWEST_SHIPMENTS = "fewest_shipments"


class SplitPolicy(StrEnum):
    """Whether the lines of one order may ship from several locations."""

    NEVER = "never"
    MINIMISE = "minimise"
    BY_LINE = "by_line"


class LocationFilter(StrEnum):
    """Why a candidate location may be skipped before stock is looked at."""

    OPEN = "open"
    CAPACITY = "capacity"
    CHANNEL = "channel"
    REGION = "region"


def _as_list(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


CountryCode = Annotated[str, Field(pattern=r"^[A-Za-z]{2}$"), AfterValidator(str.upper)]
UpperText = Annotated[str, Field(min_length=1), AfterValidator(lambda v: v.strip().upper())]
Postal = Annotated[str, Field(min_length=1), AfterValidator(lambda v: re.sub(r"[\s-]", "", v).upper())]
AwareDatetime = Annotated[datetime, AfterValidator(_aware)]


class ServiceArea(_Strict):
    """Destinations a location ships to: a country, optionally narrowed to states or postal prefixes."""

    country: CountryCode
    states: list[UpperText] | None = None
    postal_prefixes: list[Postal] | None = None


class OutageWindow(_Strict):
    """A period during which a location ships nothing (times without a zone are UTC)."""

    start: AwareDatetime
    end: AwareDatetime
    reason: str | None = None

    @model_validator(mode="after")
    def _ordered(self) -> OutageWindow:
        if self.end <= self.start:
            raise ValueError(f"an outage must end after it starts ({self.start.isoformat()} >= {self.end.isoformat()})")
        return self


class LocationConfig(_Strict):
    id: Identifier
    name: str | None = None
    fulfillment_channel: Identifier
    country: str = "US"
    postal_code: str | None = None
    # Sandbox convenience: stock received into an empty ledger at start.
    seed_stock: dict[str, int] = Field(default_factory=dict)
    # Routing: the destinations it ships to (left out: everywhere), how many orders a day it
    # takes, whether it ships at all now, and the selling channels it never ships for.
    serves: list[ServiceArea] | None = Field(default=None, min_length=1)
    daily_order_capacity: int | None = Field(default=None, gt=0)
    paused: bool = False
    outages: list[OutageWindow] = Field(default_factory=list)
    exclude_channels: list[Identifier] = Field(default_factory=list)

    def ships_for(self, channel: ChannelConfig) -> bool:
        """Whether routing may send this channel's orders here: not excluded by the location,
        and among the channel's `inventory.locations` when the channel names them."""
        allowed = channel.inventory.locations
        return channel.id not in self.exclude_channels and (allowed is None or self.id in allowed)

    def serves_country(self, country: str) -> bool:
        return self.serves is None or any(area.country == country for area in self.serves)


class ChannelConfig(_Strict):
    id: Identifier
    type: Identifier
    role: ConnectorRole
    base_url: str
    credentials: dict[str, str] = Field(default_factory=dict)
    settings: dict[str, Any] = Field(default_factory=dict)
    rate_limit_per_second: float | None = Field(default=None, gt=0)
    hold_window: Duration = timedelta(0)
    ship_by_sla: Duration = timedelta(hours=48)
    # Count the SLA over business days only (Monday to Friday, UTC, except the holidays), and
    # warn this long before the deadline (null: no warning).
    ship_by_business_days: bool = False
    ship_by_holidays: list[date] = Field(default_factory=list)
    ship_by_warning: Duration | None = None
    escalation_delay: Duration = timedelta(hours=4)
    out_of_stock_retry: Duration = timedelta(minutes=15)
    # Selling channels: how often to poll for orders whose webhook never came (null: never).
    poll_orders_every: Duration | None = timedelta(minutes=10)
    # Fulfillment channels: how often an order waiting for a shipment asks the channel for it, in
    # case a webhook is late or lost (null: webhooks only).
    poll_shipments_every: Duration | None = None
    # Available-to-sell rules (buffer, percent, maximum, floor, serving locations).
    inventory: InventoryRules = InventoryRules()
    skus: list[str] | None = None

    def credential(self, name: str) -> str:
        """The secret named `name`, read from the environment variable the file names."""
        var = self.credentials.get(name)
        if var is None:
            raise ConfigError(f"channel {self.id!r}: no credential {name!r} under 'credentials'")
        value = os.environ.get(var)
        if not value:
            raise ConfigError(
                f"channel {self.id!r}: credential {name!r} expects environment variable {var}, "
                "which is not set"
            )
        return value

    @property
    def ship_by_calendar(self) -> ShipByCalendar:
        return ShipByCalendar(business_days=self.ship_by_business_days, holidays=frozenset(self.ship_by_holidays))

    @model_validator(mode="after")
    def _warning_before_the_deadline(self) -> ChannelConfig:
        if self.ship_by_warning is not None and self.ship_by_warning >= self.ship_by_sla:
            raise ValueError(
                f"ship_by_warning ({self.ship_by_warning}) must be shorter than ship_by_sla ({self.ship_by_sla})"
            )
        return self


class ValueRange(_Strict):
    """Order value (`totalPrice`, else `subTotalPrice`, else the sum of the lines): `min` <= value < `max`."""

    min: Decimal | None = Field(default=None, ge=0)
    max: Decimal | None = Field(default=None, gt=0)


class OrderFilters(_Strict):
    """A rule's `when:` every field given must hold; a list matches when any of its items does."""

    channels: list[Identifier] | None = None
    order_types: list[OrderType] | None = None
    tags: list[str] | None = None
    exclude_tags: list[str] | None = None
    skus: list[str] | None = None
    sku_tags: list[str] | None = None
    countries: list[CountryCode] | None = None
    states: list[UpperText] | None = None
    postal_prefixes: list[Postal] | None = None
    shipping_methods: list[str] | None = None
    service_levels: list[str] | None = None
    order_value: ValueRange | None = None

    def conditions(self) -> list[str]:
        """The order conditions set besides `channels`; none means the rule matches every order in scope."""
        return [name for name in type(self).model_fields if name != "channels" and getattr(self, name) is not None]


SortList = Annotated[list[SortStrategy], BeforeValidator(_as_list), Field(min_length=1)]


class RoutingStep(_Strict):
    """A fallback step: what to try when the steps before it could not ship the order. Fields
    left out are the rule's."""

    locations: list[Identifier] | None = Field(default=None, min_length=1)
    filters: list[LocationFilter] | None = None
    sort: SortList | None = None
    split: SplitPolicy | None = None


ALL_LOCATION_FILTERS = list(LocationFilter)


class RoutingRule(_Strict):
    """A rule card: which orders it takes (`when`), where they may ship from and how to choose."""

    name: str = Field(min_length=1, max_length=80, pattern=r"^\S(.*\S)?$")
    description: str | None = None
    when: OrderFilters = OrderFilters()
    # Candidate locations in rank order; left out: every location, in the file's order.
    locations: list[Identifier] | None = Field(default=None, min_length=1)
    filters: list[LocationFilter] = Field(default_factory=lambda: list(ALL_LOCATION_FILTERS))
    sort: SortList = Field(default_factory=lambda: [SortStrategy.RANKED])
    split: SplitPolicy = SplitPolicy.NEVER
    fallback: list[RoutingStep] = Field(default_factory=list)

    @model_validator(mode="wrap")
    @classmethod
    def _named_errors(cls, data: Any, handler: Any) -> RoutingRule:
        """Every problem inside a rule names the rule, wherever pydantic found it."""
        name = data.get("name") if isinstance(data, dict) else None
        try:
            rule: RoutingRule = handler(data)
        except ValidationError as exc:
            raise _located(
                type(exc).__name__,
                [(tuple(e["loc"]), f"rule {name!r}: {e['msg'].removeprefix('Value error, ')}") for e in exc.errors()],
            ) from None
        problems = rule._never_matches()
        if problems:
            raise _located("RoutingRule", [(loc, f"rule {rule.name!r}: {reason}") for loc, reason in problems])
        return rule

    def _never_matches(self) -> list[tuple[tuple[Any, ...], str]]:
        problems: list[tuple[tuple[Any, ...], str]] = []
        for name in type(self.when).model_fields:
            value = getattr(self.when, name)
            if isinstance(value, list) and not value:
                problems.append((("when", name), f"an empty list never matches; leave `{name}` out to match any order"))
        value_range = self.when.order_value
        if value_range is not None and value_range.min is not None and value_range.max is not None:
            if value_range.min >= value_range.max:
                problems.append(
                    (
                        ("when", "order_value"),
                        f"can never match: no order value is at least {value_range.min} and below {value_range.max}",
                    )
                )
        return problems

    def steps(self) -> list[RoutingStep]:
        """The rule's own step followed by its fallbacks, each with the rule's values filled in."""
        first = RoutingStep(locations=self.locations, filters=self.filters, sort=self.sort, split=self.split)
        resolved = [first]
        for step in self.fallback:
            previous = resolved[-1]
            resolved.append(
                RoutingStep(
                    locations=step.locations if step.locations is not None else previous.locations,
                    filters=step.filters if step.filters is not None else previous.filters,
                    sort=step.sort if step.sort is not None else previous.sort,
                    split=step.split if step.split is not None else previous.split,
                )
            )
        return resolved


class RoutingConfig(_Strict):
    # SKU tags rules can name in `when.sku_tags`: tag -> SKUs, where `PREFIX*` matches by prefix.
    sku_tags: dict[str, list[str]] = Field(default_factory=dict)
    rules: list[RoutingRule] = Field(default_factory=list)

    @model_validator(mode="after")
    def _names_and_tags(self) -> RoutingConfig:
        problems: list[tuple[tuple[Any, ...], str]] = []
        seen: dict[str, int] = {}
        for i, rule in enumerate(self.rules):
            if rule.name in seen:
                problems.append(
                    (("rules", i, "name"), f"rule {rule.name!r}: the name is already used by rules[{seen[rule.name]}]")
                )
            seen.setdefault(rule.name, i)
            for k, tag in enumerate(rule.when.sku_tags or []):
                if tag not in self.sku_tags:
                    known = ", ".join(sorted(self.sku_tags)) or "none declared under routing.sku_tags"
                    problems.append(
                        (("rules", i, "when", "sku_tags", k), f"rule {rule.name!r}: unknown SKU tag {tag!r} ({known})")
                    )
        if problems:
            raise _located("RoutingConfig", problems)
        return self


def _located(title: str, problems: list[tuple[tuple[Any, ...], str]]) -> ValidationError:
    """A validation error whose entries keep their own location, so the loader can name the line."""
    return ValidationError.from_exception_data(
        title,
        [
            InitErrorDetails(type=PydanticCustomError("value_error", reason), loc=loc, input=None)
            for loc, reason in problems
        ],
    )


class NotificationConfig(_Strict):
    webhook_url: str | None = None


class ProductConfig(_Strict):
    """A sellable SKU the ledger should know before any stock is reported; with `components` it
    is a bundle (kit): its availability is the minimum over its components, and reserving it
    reserves them."""

    sku: str = Field(min_length=1, max_length=200)
    name: str | None = None
    components: dict[str, Annotated[int, Field(gt=0)]] = Field(default_factory=dict)


def _inventory_problems(config: OrderloopConfig) -> list[tuple[tuple[Any, ...], str]]:
    known = {loc.id for loc in config.locations}
    problems: list[tuple[tuple[Any, ...], str]] = []
    for i, channel in enumerate(config.channels):
        unknown = sorted(set(channel.inventory.locations or []) - known)
        if unknown:
            reason = f"unknown location(s) {', '.join(unknown)}; locations: {', '.join(sorted(known))}"
            problems.append((("channels", i, "inventory", "locations"), reason))
    return problems


def _product_problems(products: list[ProductConfig]) -> list[tuple[tuple[Any, ...], str]]:
    bundles = {p.sku for p in products if p.components}
    skus = [p.sku for p in products]
    problems: list[tuple[tuple[Any, ...], str]] = []
    for i, product in enumerate(products):
        if skus.count(product.sku) > 1:
            problems.append((("products", i, "sku"), f"{product.sku!r} is declared twice"))
        nested = sorted(c for c in product.components if c in bundles or c == product.sku)
        if nested:
            reason = f"{', '.join(nested)} is a bundle itself: list its components instead"
            problems.append((("products", i, "components"), reason))
    return problems


class OrderloopConfig(_Strict):
    tenant_id: Identifier
    notifications: NotificationConfig = NotificationConfig()
    locations: list[LocationConfig] = Field(min_length=1)
    channels: list[ChannelConfig] = Field(min_length=1)
    routing: RoutingConfig = RoutingConfig()
    products: list[ProductConfig] = Field(default_factory=list)

    @model_validator(mode="after")
    def _references(self) -> OrderloopConfig:
        problems: list[str] = []
        for kind, ids in (("channel", [c.id for c in self.channels]), ("location", [loc.id for loc in self.locations])):
            dupes = sorted({i for i in ids if ids.count(i) > 1})
            if dupes:
                problems.append(f"duplicate {kind} id(s): {', '.join(dupes)}")
        channels = {c.id: c for c in self.channels}
        for i, loc in enumerate(self.locations):
            target = channels.get(loc.fulfillment_channel)
            if target is None:
                problems.append(f"locations[{i}].fulfillment_channel: unknown channel {loc.fulfillment_channel!r}")
            elif target.role is not ConnectorRole.FULFILLMENT:
                problems.append(
                    f"locations[{i}].fulfillment_channel: channel {target.id!r} is not a fulfillment channel"
                )
        for i, channel in enumerate(self.channels):
            if importlib.util.find_spec(f"connectors.{channel.type}") is None:
                problems.append(f"channels[{i}].type: no connector package connectors/{channel.type}/")
        located = _routing_problems(self) + _product_problems(self.products) + _inventory_problems(self)
        if problems or located:
            raise _located("OrderloopConfig", ([((), "; ".join(problems))] if problems else []) + located)
        return self

    def channel(self, channel_id: str) -> ChannelConfig:
        for ch in self.channels:
            if ch.id == channel_id:
                return ch
        raise KeyError(channel_id)

    def location(self, location_id: str) -> LocationConfig:
        for loc in self.locations:
            if loc.id == location_id:
                return loc
        raise KeyError(location_id)

    def channels_with_role(self, role: ConnectorRole) -> list[ChannelConfig]:
        return [c for c in self.channels if c.role is role]

    def has_channel(self, channel_id: str) -> bool:
        return any(c.id == channel_id for c in self.channels)


def _routing_problems(config: OrderloopConfig) -> list[tuple[tuple[Any, ...], str]]:
    """Routing references the rest of the file: located problems, each naming the rule."""
    channels = {c.id: c for c in config.channels}
    selling = [c.id for c in config.channels if c.role is ConnectorRole.SELLING]
    locations = {loc.id: loc for loc in config.locations}
    problems: list[tuple[tuple[Any, ...], str]] = []

    def channel_problem(channel_id: str) -> str | None:
        if channel_id not in channels:
            return f"unknown channel {channel_id!r}"
        if channels[channel_id].role is not ConnectorRole.SELLING:
            return f"{channel_id!r} is not a selling channel"
        return None

    for i, loc in enumerate(config.locations):
        for k, channel_id in enumerate(loc.exclude_channels):
            reason = channel_problem(channel_id)
            if reason:
                problems.append((("locations", i, "exclude_channels", k), f"location {loc.id!r}: {reason}"))
    catch_alls: list[tuple[int, RoutingRule, set[str]]] = []
    for i, rule in enumerate(config.routing.rules):
        at, named = ("routing", "rules", i), f"rule {rule.name!r}"
        found = len(problems)
        for k, channel_id in enumerate(rule.when.channels or []):
            reason = channel_problem(channel_id)
            if reason:
                problems.append(((*at, "when", "channels", k), f"{named}: {reason}"))
        named_locations: list[tuple[tuple[Any, ...], list[str] | None]] = [(at, rule.locations)]
        named_locations += [((*at, "fallback", j), step.locations) for j, step in enumerate(rule.fallback)]
        for path, step_locations in named_locations:
            for k, loc_id in enumerate(step_locations or []):
                if loc_id not in locations:
                    problems.append(((*path, "locations", k), f"{named}: unknown location {loc_id!r}"))
        if len(problems) > found:
            continue
        scope = set(rule.when.channels or selling)
        for earlier_index, earlier, earlier_scope in catch_alls:
            if scope <= earlier_scope:
                problems.append(
                    (
                        (*at, "when"),
                        f"{named}: can never match: rule {earlier.name!r} (rules[{earlier_index}]) comes first and "
                        f"takes every order of channel(s) {', '.join(sorted(scope))}",
                    )
                )
                break
        if not rule.when.conditions():
            catch_alls.append((i, rule, scope))
        reason = _never_ships(rule, [channels[c] for c in sorted(scope)], config.locations)
        if reason:
            problems.append(((*at, "locations"), f"{named}: {reason}"))
    return problems


def _never_ships(rule: RoutingRule, scope: list[ChannelConfig], all_locations: list[LocationConfig]) -> str | None:
    """Why no step of `rule` can ever pick a location, judged on what the file fixes (channel
    exclusions, the regions locations serve); None when some location may ship."""
    if not scope:
        return None
    by_id = {loc.id: loc for loc in all_locations}
    countries = rule.when.countries
    for_channel = for_region = False
    for step in rule.steps():
        candidates = [by_id[i] for i in step.locations] if step.locations else all_locations
        filters = set(step.filters or [])
        for loc in candidates:
            channel_ok = LocationFilter.CHANNEL not in filters or any(loc.ships_for(c) for c in scope)
            region_ok = (
                LocationFilter.REGION not in filters or not countries or any(loc.serves_country(c) for c in countries)
            )
            if channel_ok and region_ok:
                return None
            for_channel, for_region = for_channel or channel_ok, for_region or region_ok
    channel_names = ", ".join(c.id for c in scope)
    if not for_channel:
        return f"can never ship: every candidate location is closed to channel(s) {channel_names}"
    if not for_region:
        return f"can never ship: no candidate location serves {', '.join(countries or [])}"
    return (
        f"can never ship: no candidate location both ships for channel(s) {channel_names} "
        f"and serves {', '.join(countries or [])}"
    )


def _line_index(node: yaml.Node, path: tuple[Any, ...] = ()) -> dict[tuple[Any, ...], int]:
    """Map each value's path in the document to its 1-based line number."""
    lines = {path: node.start_mark.line + 1}
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            lines.update(_line_index(value, (*path, key.value)))
            lines[(*path, key.value)] = key.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for i, value in enumerate(node.value):
            lines.update(_line_index(value, (*path, i)))
    return lines


def _line_of(lines: dict[tuple[Any, ...], int], loc: tuple[Any, ...]) -> int | None:
    for end in range(len(loc), -1, -1):
        if loc[:end] in lines:
            return lines[loc[:end]]
    return None


def _field(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def parse_config(text: str, source: str = "orderloop.yaml") -> OrderloopConfig:
    try:
        node = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict) or node is None:
        raise ConfigError(f"{source}: expected a mapping at the top level")
    try:
        return OrderloopConfig.model_validate(data)
    except ValidationError as exc:
        lines = _line_index(node)
        messages = []
        for err in exc.errors():
            loc = tuple(err["loc"])
            line = _line_of(lines, loc)
            where = f"{source}:{line}" if line else source
            reason = err['msg'].removeprefix('Value error, ')
            messages.append(f"{where}: {_field(loc)}: {reason}")
        raise ConfigError("invalid configuration\n  " + "\n  ".join(messages)) from None


def load_config(path: str | Path) -> OrderloopConfig:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read configuration: {exc.strerror}") from exc
    return parse_config(text, str(path))
