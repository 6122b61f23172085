"""The routing rule cards of `orderloop.yaml` (`routing:`): which orders a rule takes (`when`),
its candidate locations, filters, sort and split, and its fallback steps. The routing engine
(`orderloop/routing/`) implements each member of these enums through a table keyed by it; the
checks that need the rest of the file (channels, locations) are in `orderloop/config.py`."""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, ValidationError, model_validator

from orderloop.config_values import CountryCode, Identifier, Postal, Strict, UpperText, as_list, located
from orderloop.model import OrderType


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


class ValueRange(Strict):
    """Order value (`totalPrice`, else `subTotalPrice`, else the sum of the lines): `min` <= value < `max`."""

    min: Decimal | None = Field(default=None, ge=0)
    max: Decimal | None = Field(default=None, gt=0)


class OrderFilters(Strict):
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


SortList = Annotated[list[SortStrategy], BeforeValidator(as_list), Field(min_length=1)]


class RoutingStep(Strict):
    """A fallback step: what to try when the steps before it could not ship the order. Fields
    left out are the rule's."""

    locations: list[Identifier] | None = Field(default=None, min_length=1)
    filters: list[LocationFilter] | None = None
    sort: SortList | None = None
    split: SplitPolicy | None = None


ALL_LOCATION_FILTERS = list(LocationFilter)


class RoutingRule(Strict):
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
            raise located(
                type(exc).__name__,
                [(tuple(e["loc"]), f"rule {name!r}: {e['msg'].removeprefix('Value error, ')}") for e in exc.errors()],
            ) from None
        problems = rule._never_matches()
        if problems:
            raise located("RoutingRule", [(loc, f"rule {rule.name!r}: {reason}") for loc, reason in problems])
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


class RoutingConfig(Strict):
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
            raise located("RoutingConfig", problems)
        return self
