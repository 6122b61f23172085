"""The brand's configuration (`orderloop.yaml`): locations, channels, products and routing rules
(the rule cards themselves in `orderloop/routing_rules.py`, the value types in
`orderloop/config_values.py`).

Loaded once at start and validated by pydantic; a bad file is refused with a message naming the
file, the line, the field and the reason. Secrets never live in the file: a channel's
`credentials` map a credential name to the environment variable that holds it.
"""

from __future__ import annotations

import os
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import Field, ValidationError, model_validator

from orderloop.channel_requirements import ChannelRequirements, Name, ShippingRequirements
from orderloop.config_values import (
    AwareDatetime,
    ConfigError,
    CountryCode,
    Duration,
    Identifier,
    Postal,
    Strict,
    UpperText,
    located,
)
from orderloop.inventory_rules import InventoryRules
from orderloop.model import ConnectorRole, ExceptionKind
from orderloop.operations_config import OperationsConfig
from orderloop.playbooks import Playbook, ladder_problems
from orderloop.return_policy import ReturnPolicyConfig
from orderloop.routing_rules import LocationFilter, RoutingConfig, RoutingRule
from orderloop.sla import ShipByCalendar


class ServiceArea(Strict):
    """Destinations a location ships to: a country, optionally narrowed to states or postal prefixes."""

    country: CountryCode
    states: list[UpperText] | None = None
    postal_prefixes: list[Postal] | None = None


class OutageWindow(Strict):
    """A period during which a location ships nothing (times without a zone are UTC)."""

    start: AwareDatetime
    end: AwareDatetime
    reason: str | None = None

    @model_validator(mode="after")
    def _ordered(self) -> OutageWindow:
        if self.end <= self.start:
            raise ValueError(f"an outage must end after it starts ({self.start.isoformat()} >= {self.end.isoformat()})")
        return self


class LocationConfig(Strict):
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
    # What its fulfillment channel can ship with there, against the selling channels'
    # `requirements`: the carriers, and the ship methods by the fulfillment channel's names
    # (left out: any, so no requirement ever leaves the location out).
    carriers: list[Name] | None = Field(default=None, min_length=1)
    ship_methods: list[Name] | None = Field(default=None, min_length=1)

    def ships_for(self, channel: ChannelConfig) -> bool:
        """Whether routing may send this channel's orders here: not excluded by the location,
        and among the channel's `inventory.locations` when the channel names them."""
        allowed = channel.inventory.locations
        return channel.id not in self.exclude_channels and (allowed is None or self.id in allowed)

    def serves_country(self, country: str) -> bool:
        return self.serves is None or any(area.country == country for area in self.serves)


class ChannelConfig(Strict):
    id: Identifier
    type: Identifier
    role: ConnectorRole
    base_url: str
    # Where the channel's sandbox serves its HTTP API (health, test controls) when `base_url` is
    # not HTTP (an SFTP server: `sftp://host:port`); left out: `base_url` itself.
    sandbox_url: str | None = None
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
    # Wholesale orders: how long before the buyer's cancel-by date (`shipCancelByDate`) an order
    # not shipped yet opens sla_breach, so there is time to act before the buyer cancels.
    ship_cancel_lead: Duration = timedelta(days=1)
    # Selling channels: how often to poll for orders whose webhook never came (null: never).
    poll_orders_every: Duration | None = timedelta(minutes=10)
    # Channels whose connector carries returns: how often to poll them (null: webhooks only).
    # Selling channels: for return requests (a channel without a return webhook, Amazon, needs
    # it); fulfillment channels: for the receipts of the returns expected at their locations.
    poll_returns_every: Duration | None = None
    # Fulfillment channels: how often an order waiting for a shipment asks the channel for it, in
    # case a webhook is late or lost (null: webhooks only).
    poll_shipments_every: Duration | None = None
    # Fulfillment channels whose connector lists every request's shipments by time
    # (`poll_shipments`: NetSuite): how often to read them all at once by a stored cursor
    # (null: never; `poll_shipments_every` still asks per order).
    poll_fulfillments_every: Duration | None = None
    # Fulfillment channels that leave their reports (shipments, stock) for Orderloop to collect
    # rather than sending them, such as files in an SFTP inbox: how often to collect them
    # (null: never). See `FulfillmentConnector.collect_reports`.
    poll_reports_every: Duration | None = None
    # Fulfillment channels that report deliveries: how long a completed order of theirs stays
    # open to record them (null: the order closes once shipped and tracked).
    await_delivery: Duration | None = None
    # Selling channels: at most one inventory push per this long, each SKU with its newest
    # quantity (an EDI partner's 846 hourly, say); null: as the changes come (coalesced within
    # a tenth of a second, and never faster than `rate_limit_per_second`).
    inventory_push_every: Duration | None = None
    # Available-to-sell rules (buffer, percent, maximum, floor, serving locations).
    inventory: InventoryRules = InventoryRules()
    skus: list[str] | None = None
    # Selling channels: the return policy (`orderloop.return_policy`); left out: returns of this
    # channel wait for an operator's review under the default policy.
    returns: ReturnPolicyConfig | None = None
    # Selling channels: the carriers, ship methods and packaging notes its orders need
    # (`orderloop.channel_requirements`); left out: none.
    requirements: ChannelRequirements | None = None

    def shipping_requirements(self, shipping_code: str | None) -> ShippingRequirements:
        """What an order of this channel with `shipping_code` needs (empty: nothing)."""
        if self.requirements is None:
            return ShippingRequirements(channel_id=self.id, shipping_code=shipping_code)
        return self.requirements.for_order(self.id, shipping_code)

    @property
    def sandbox_base_url(self) -> str:
        """The HTTP base URL of the channel's sandbox (`sandbox_url`, else `base_url`)."""
        return self.sandbox_url or self.base_url

    def credential(self, name: str) -> str:
        """The secret named `name`, read from the environment variable the file names."""
        var = self.credentials.get(name)
        if var is None:
            raise ConfigError(f"channel {self.id!r}: no credential {name!r} under 'credentials'")
        value = os.environ.get(var)
        if not value:
            raise ConfigError(
                f"channel {self.id!r}: credential {name!r} expects environment variable {var}, which is not set"
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


class WebhookSink(Strict):
    """POST each notice as JSON, signed with HMAC-SHA256 of the body under the sink's secret."""

    type: Literal["webhook"]
    url: str
    # The environment variable holding the signing secret (required: a receiver must verify).
    secret: str


class SlackSink(Strict):
    """Post to a Slack incoming webhook (text + blocks)."""

    type: Literal["slack"]
    url: str


class EmailSink(Strict):
    """Send over SMTP: STARTTLS (or TLS from the first byte) and login as configured."""

    type: Literal["email"]
    host: str
    port: int = Field(default=587, gt=0, lt=65536)
    sender: str
    to: list[str] = Field(min_length=1)
    starttls: bool = True
    use_tls: bool = False
    # A CA bundle (PEM file) the server's certificate is checked against, for a private relay;
    # left out: the system's trust store.
    ca_file: str | None = None
    # Environment variables holding the login (left out: no AUTH).
    username: str | None = None
    password: str | None = None

    @model_validator(mode="after")
    def _one_tls(self) -> EmailSink:
        if self.starttls and self.use_tls:
            raise ValueError("choose starttls or use_tls, not both")
        if (self.username is None) != (self.password is None):
            raise ValueError("username and password go together")
        return self


SinkConfig = Annotated[WebhookSink | SlackSink | EmailSink, Field(discriminator="type")]


class NoticeDelivery(Strict):
    """How the notice sender delivers: batch window per sink, retries with doubling backoff,
    then the notice is dead-lettered (kept, listed by `orderloop notices list`, re-sendable)."""

    batch_window: Duration = timedelta(seconds=30)
    attempts: int = Field(default=5, ge=1)
    backoff: Duration = timedelta(seconds=10)
    max_backoff: Duration = timedelta(minutes=10)
    # How often the sender looks for due notices.
    poll_every: Duration = timedelta(seconds=1)


class NotificationConfig(Strict):
    webhook_url: str | None = None
    # The environment variable holding the secret each POST to `webhook_url` is signed with
    # (`X-Orderloop-Signature: sha256=<hex>` over the body, the scheme of Orderloop's own
    # webhooks); left out: sent unsigned.
    webhook_secret: str | None = None
    # Named sinks the playbooks notify; the Temporal UI every notice links to.
    sinks: dict[Identifier, SinkConfig] = Field(default_factory=dict)
    delivery: NoticeDelivery = NoticeDelivery()
    ui_url: str = "http://localhost:8233"
    namespace: str = "default"

    def secret(self) -> str | None:
        """The signing secret, read from the environment variable `webhook_secret` names."""
        if self.webhook_secret is None:
            return None
        return env_secret(self.webhook_secret, "notifications.webhook_secret")


def env_secret(var: str, field: str) -> str:
    """The value of the environment variable `var` a config `field` names."""
    value = os.environ.get(var)
    if not value:
        raise ConfigError(f"{field} expects environment variable {var}, which is not set")
    return value


class ProductConfig(Strict):
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


def _returns_problems(config: OrderloopConfig) -> list[tuple[tuple[Any, ...], str]]:
    known = {loc.id for loc in config.locations}
    problems: list[tuple[tuple[Any, ...], str]] = []
    for i, channel in enumerate(config.channels):
        if channel.returns is None:
            continue
        if channel.role is not ConnectorRole.SELLING:
            problems.append((("channels", i, "returns"), "a return policy belongs to a selling channel"))
        for path, location in channel.returns.named_locations():
            if location not in known:
                reason = f"unknown location {location!r}; locations: {', '.join(sorted(known))}"
                problems.append((("channels", i, "returns", *path), reason))
    return problems


def _requirements_problems(config: OrderloopConfig) -> list[tuple[tuple[Any, ...], str]]:
    return [
        (("channels", i, "requirements"), "requirements belong to a selling channel (they bind its orders)")
        for i, channel in enumerate(config.channels)
        if channel.requirements is not None and channel.role is not ConnectorRole.SELLING
    ]


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


class ExchangeLogConfig(Strict):
    """The exchange log (orderloop.exchange_log): how long its rows are kept; the reconciliation
    job deletes older ones."""

    retention_days: int = Field(default=30, ge=1, le=3650)

    @property
    def retention(self) -> timedelta:
        return timedelta(days=self.retention_days)


class DocumentsConfig(Strict):
    """The brand's documents for wholesale shipments (orderloop/documents/)."""

    # The brand's GS1 company prefix (6 to 12 digits): the SSCC-18 of each carton label is
    # built under it. Left out: wholesale requests go without carton labels or packing slip.
    gs1_company_prefix: str | None = Field(default=None, pattern=r"^[0-9]{6,12}$")


class OrderloopConfig(Strict):
    tenant_id: Identifier
    notifications: NotificationConfig = NotificationConfig()
    exchange_log: ExchangeLogConfig = ExchangeLogConfig()
    locations: list[LocationConfig] = Field(min_length=1)
    channels: list[ChannelConfig] = Field(min_length=1)
    routing: RoutingConfig = RoutingConfig()
    products: list[ProductConfig] = Field(default_factory=list)
    # Exception playbooks (orderloop/playbooks.py), first covering one wins; none: the default.
    playbooks: list[Playbook] = Field(default_factory=list)
    # The operations record's retention, operator cost and go-live readiness thresholds.
    operations: OperationsConfig = OperationsConfig()
    documents: DocumentsConfig = DocumentsConfig()

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
        found = _routing_problems(self) + _product_problems(self.products) + _inventory_problems(self)
        found += _playbook_problems(self)
        found += _returns_problems(self)
        found += _requirements_problems(self)
        if problems or found:
            raise located("OrderloopConfig", ([((), "; ".join(problems))] if problems else []) + found)
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


GENERIC_KINDS = frozenset(str(kind) for kind in ExceptionKind)


def _playbook_problems(config: OrderloopConfig) -> list[tuple[tuple[Any, ...], str]]:
    """Playbooks reference sinks, channels, locations and exception kinds. Kinds that are not
    generic are checked against the connectors' own kinds by `connectors.registry`."""
    sinks = set(config.notifications.sinks)
    channels = {c.id for c in config.channels}
    locations = {loc.id for loc in config.locations}
    problems: list[tuple[tuple[Any, ...], str]] = []

    def check_targets(at: tuple[Any, ...], targets: list[Any]) -> None:
        for k, target in enumerate(targets):
            if target.sink not in sinks:
                known = ", ".join(sorted(sinks)) or "none (declare them under notifications.sinks)"
                problems.append(((*at, k, "sink"), f"unknown sink {target.sink!r}; sinks: {known}"))

    def check_channels(at: tuple[Any, ...], ids: list[str] | None) -> None:
        for k, channel_id in enumerate(ids or []):
            if channel_id not in channels:
                problems.append(((*at, k), f"unknown channel {channel_id!r}"))

    names = [p.name for p in config.playbooks]
    for i, book in enumerate(config.playbooks):
        at = ("playbooks", i)
        if names.count(book.name) > 1:
            problems.append(((*at, "name"), f"playbook {book.name!r} is declared twice"))
        check_channels((*at, "channels"), book.channels)
        check_targets((*at, "notify"), book.notify)
        for j, level in enumerate(book.escalate or []):
            check_targets((*at, "escalate", j, "notify"), level.notify)
        for j, reason in ladder_problems(book.escalate or []):
            problems.append(((*at, "escalate", j, "after"), reason))
        for j, rule in enumerate(book.auto_resolve):
            rule_at = (*at, "auto_resolve", j)
            check_channels((*rule_at, "when", "channels"), rule.when.channels)
            if rule.location is not None and rule.location not in locations:
                reason = (
                    f"rule {rule.name!r}: unknown location {rule.location!r}; locations: {', '.join(sorted(locations))}"
                )
                problems.append(((*rule_at, "location"), reason))
    return problems


def playbook_kinds(config: OrderloopConfig) -> list[tuple[tuple[Any, ...], str, list[str] | None]]:
    """Every exception kind a playbook names: (its place in the file, the kind, the channels the
    playbook covers: None for all)."""
    found: list[tuple[tuple[Any, ...], str, list[str] | None]] = []
    for i, book in enumerate(config.playbooks):
        for k, kind in enumerate(book.kinds or []):
            found.append((("playbooks", i, "kinds", k), kind, book.channels))
        for j, rule in enumerate(book.auto_resolve):
            for k, kind in enumerate(rule.when.kinds or []):
                found.append((("playbooks", i, "auto_resolve", j, "when", "kinds", k), kind, book.channels))
    return found


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


def located_messages(text: str, source: str, problems: list[tuple[tuple[Any, ...], str]]) -> list[str]:
    """`source:line: field: reason` for problems found after loading (the connector registry's)."""
    node = yaml.compose(text)
    lines = _line_index(node) if node is not None else {}
    out = []
    for loc, reason in problems:
        line = _line_of(lines, loc)
        out.append(f"{source}:{line}: {_field(loc)}: {reason}" if line else f"{source}: {_field(loc)}: {reason}")
    return out


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
            reason = err["msg"].removeprefix("Value error, ")
            messages.append(f"{where}: {_field(loc)}: {reason}")
        raise ConfigError("invalid configuration\n  " + "\n  ".join(messages)) from None


def load_config(path: str | Path) -> OrderloopConfig:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read configuration: {exc.strerror}") from exc
    return parse_config(text, str(path))
