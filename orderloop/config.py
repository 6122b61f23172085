"""The brand's configuration (`orderloop.yaml`): locations, channels and routing rules.

Loaded once at start and validated by pydantic; a bad file is refused with a message naming the
file, the line, the field and the reason. Secrets never live in the file: a channel's
`credentials` map a credential name to the environment variable that holds it.
"""

from __future__ import annotations

import importlib.util
import os
import re
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

from orderloop.ledger.availability import InventoryRules
from orderloop.model import ConnectorRole

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


class LocationConfig(_Strict):
    id: Identifier
    name: str | None = None
    fulfillment_channel: Identifier
    country: str = "US"
    postal_code: str | None = None
    # Sandbox convenience: stock received into an empty ledger at start.
    seed_stock: dict[str, int] = Field(default_factory=dict)


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


class RoutingRule(_Strict):
    name: str
    channels: list[Identifier] | None = None
    ranked_locations: list[Identifier] = Field(min_length=1)


class RoutingConfig(_Strict):
    rules: list[RoutingRule] = Field(default_factory=list)


class NotificationConfig(_Strict):
    webhook_url: str | None = None


class OrderloopConfig(_Strict):
    tenant_id: Identifier
    notifications: NotificationConfig = NotificationConfig()
    locations: list[LocationConfig] = Field(min_length=1)
    channels: list[ChannelConfig] = Field(min_length=1)
    routing: RoutingConfig = RoutingConfig()

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
        location_ids = {loc.id for loc in self.locations}
        for i, rule in enumerate(self.routing.rules):
            where, which = f"routing.rules[{i}]", f"(rule {rule.name!r})"
            for loc_id in rule.ranked_locations:
                if loc_id not in location_ids:
                    problems.append(f"{where}.ranked_locations: unknown location {loc_id!r} {which}")
            for ch in rule.channels or []:
                if ch not in channels:
                    problems.append(f"{where}.channels: unknown channel {ch!r} {which}")
                elif channels[ch].role is not ConnectorRole.SELLING:
                    problems.append(f"{where}.channels: {ch!r} is not a selling channel {which}")
        for i, channel in enumerate(self.channels):
            if importlib.util.find_spec(f"connectors.{channel.type}") is None:
                problems.append(f"channels[{i}].type: no connector package connectors/{channel.type}/")
        if problems:
            raise ValueError("; ".join(problems))
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
