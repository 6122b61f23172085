"""Order filters: a rule's `when:` compiled into checks that say why an order does not match.

Each condition kind is compiled by the function registered for it in `ORDER_FILTERS`, once per
configuration; a check returns None when the order matches, else a short reason for the trace.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from enum import StrEnum
from typing import Any

from orderloop.routing.facts import OrderFacts
from orderloop.routing_rules import OrderFilters, ValueRange

Check = Callable[[OrderFacts], str | None]


class OrderCondition(StrEnum):
    """The `when:` fields besides `channels` (channels decide which rules an order sees at all)."""

    ORDER_TYPES = "order_types"
    TAGS = "tags"
    EXCLUDE_TAGS = "exclude_tags"
    SKUS = "skus"
    SKU_TAGS = "sku_tags"
    COUNTRIES = "countries"
    STATES = "states"
    POSTAL_PREFIXES = "postal_prefixes"
    SHIPPING_METHODS = "shipping_methods"
    SERVICE_LEVELS = "service_levels"
    ORDER_VALUE = "order_value"


def _listing(values: Any) -> str:
    items = [str(v) for v in values]
    return ", ".join(items[:5]) + (f" (+{len(items) - 5} more)" if len(items) > 5 else "")


def sku_matcher(patterns: list[str]) -> Callable[[str], bool]:
    """Exact SKUs, or prefixes written `PREFIX*`."""
    exact = frozenset(p for p in patterns if not p.endswith("*"))
    prefixes = tuple(p[:-1] for p in patterns if p.endswith("*"))

    def matches(sku: str) -> bool:
        return sku in exact or (bool(prefixes) and sku.startswith(prefixes))

    return matches


def _order_types(values: list[Any], _tags: Mapping[str, list[str]]) -> Check:
    wanted = frozenset(str(v) for v in values)
    shown = _listing(sorted(wanted))

    def check(facts: OrderFacts) -> str | None:
        return None if facts.order_type in wanted else f"order type {facts.order_type} is not {shown}"

    return check


def _tags(values: list[str], _tags: Mapping[str, list[str]]) -> Check:
    wanted = frozenset(v.strip().lower() for v in values)
    shown = _listing(sorted(wanted))

    def check(facts: OrderFacts) -> str | None:
        return None if facts.tags & wanted else f"not tagged {shown}"

    return check


def _exclude_tags(values: list[str], _tags: Mapping[str, list[str]]) -> Check:
    unwanted = frozenset(v.strip().lower() for v in values)

    def check(facts: OrderFacts) -> str | None:
        hit = facts.tags & unwanted
        return f"tagged {_listing(sorted(hit))}" if hit else None

    return check


def _skus(values: list[str], _tags: Mapping[str, list[str]]) -> Check:
    matches = sku_matcher(values)
    shown = _listing(values)

    def check(facts: OrderFacts) -> str | None:
        return None if any(matches(line.sku) for line in facts.lines) else f"no line SKU matches {shown}"

    return check


def _sku_tags(values: list[str], sku_tags: Mapping[str, list[str]]) -> Check:
    matches = sku_matcher([pattern for tag in values for pattern in sku_tags.get(tag, [])])
    shown = _listing(values)

    def check(facts: OrderFacts) -> str | None:
        return None if any(matches(line.sku) for line in facts.lines) else f"no line SKU tagged {shown}"

    return check


def _member(label: str, attribute: str, normalise: Callable[[str], str]) -> Callable[..., Check]:
    def compile_(values: list[str], _tags: Mapping[str, list[str]]) -> Check:
        wanted = frozenset(normalise(v) for v in values)
        shown = _listing(sorted(wanted))

        def check(facts: OrderFacts) -> str | None:
            value = getattr(facts, attribute)
            return None if value in wanted else f"{label} {value or '(none)'} is not {shown}"

        return check

    return compile_


def _postal_prefixes(values: list[str], _tags: Mapping[str, list[str]]) -> Check:
    prefixes = tuple(values)
    shown = _listing(values)

    def check(facts: OrderFacts) -> str | None:
        return None if facts.postal.startswith(prefixes) else f"postal code {facts.postal or '(none)'} not in {shown}*"

    return check


def _order_value(value: ValueRange, _tags: Mapping[str, list[str]]) -> Check:
    low, high = value.min, value.max

    def check(facts: OrderFacts) -> str | None:
        if facts.value is None:
            return "order value unknown (no prices)"
        if low is not None and facts.value < low:
            return f"order value {facts.value} below {low}"
        if high is not None and facts.value >= high:
            return f"order value {facts.value} not below {high}"
        return None

    return check


ORDER_FILTERS: dict[OrderCondition, Callable[[Any, Mapping[str, list[str]]], Check]] = {
    OrderCondition.ORDER_TYPES: _order_types,
    OrderCondition.TAGS: _tags,
    OrderCondition.EXCLUDE_TAGS: _exclude_tags,
    OrderCondition.SKUS: _skus,
    OrderCondition.SKU_TAGS: _sku_tags,
    OrderCondition.COUNTRIES: _member("destination country", "country", str.upper),
    OrderCondition.STATES: _member("destination state", "state", str.upper),
    OrderCondition.POSTAL_PREFIXES: _postal_prefixes,
    OrderCondition.SHIPPING_METHODS: _member("shipping method", "shipping_method", lambda v: v.strip().lower()),
    OrderCondition.SERVICE_LEVELS: _member("service level", "service_level", lambda v: v.strip().lower()),
    OrderCondition.ORDER_VALUE: _order_value,
}


def compile_conditions(when: OrderFilters, sku_tags: Mapping[str, list[str]]) -> tuple[Check, ...]:
    """The checks for the conditions a rule sets, in the order of `OrderCondition`."""
    return tuple(
        ORDER_FILTERS[condition](getattr(when, condition.value), sku_tags)
        for condition in OrderCondition
        if getattr(when, condition.value) is not None
    )


def mismatch(checks: tuple[Check, ...], facts: OrderFacts) -> str | None:
    """The first reason the order fails a check, or None when it matches them all."""
    for check in checks:
        why = check(facts)
        if why is not None:
            return why
    return None
