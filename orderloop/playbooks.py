"""Exception playbooks (`playbooks:` in orderloop.yaml): for a channel and an exception kind, who
is told (named sinks and the audience), the escalation ladder, the auto-resolve rules (first
match acts) and when an order waits for a person anyway.

The same models travel in `OrderPolicy` (handed out by the ingest activity, so a running order
keeps the playbooks it was ingested with), and the matching below is pure, so the order workflow
runs it deterministically."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from enum import StrEnum

from pydantic import Field, model_validator

from orderloop.config_values import Duration, Identifier, Strict
from orderloop.model import Order, OrderType


class Audience(StrEnum):
    """Who a notice is written for."""

    CHANNEL_MANAGER = "channel_manager"
    WAREHOUSE = "warehouse"
    SUPPORT = "support"


class RuleAction(StrEnum):
    """What an auto-resolve rule does to the order."""

    RETRY = "retry"
    REROUTE = "reroute"  # to the rule's `location`
    CANCEL = "cancel"  # the selling channel is told
    # Cancel as the buyer asked, only while no shipping request is with a fulfillment channel.
    APPROVE_CANCELLATION = "approve_cancellation"
    DISMISS = "dismiss"  # close the exception with the rule's `reason`


class NoticeTarget(Strict):
    sink: Identifier
    audience: Audience = Audience.CHANNEL_MANAGER


class EscalationLevel(Strict):
    """Unresolved this long after the exception opened: these sinks are told."""

    after: Duration
    notify: list[NoticeTarget] = Field(default_factory=list)


class OrderMatch(Strict):
    """Order attributes a rule or a review requirement looks at; every given one must hold."""

    min_total: Decimal | None = None
    max_total: Decimal | None = None
    tags: list[str] | None = None  # any of them
    order_types: list[OrderType] | None = None

    def matches(self, order: Order | None) -> bool:
        if not self.given():
            return True
        if order is None:
            return False
        total = order.total_price
        if self.min_total is not None and (total is None or total < self.min_total):
            return False
        if self.max_total is not None and (total is None or total > self.max_total):
            return False
        if self.tags is not None and not set(self.tags) & set(order.tags):
            return False
        return self.order_types is None or order.order_type in self.order_types

    def given(self) -> bool:
        return any(v is not None for v in (self.min_total, self.max_total, self.tags, self.order_types))

    def describe(self) -> str:
        parts = []
        if self.min_total is not None:
            parts.append(f"total >= {self.min_total}")
        if self.max_total is not None:
            parts.append(f"total <= {self.max_total}")
        if self.tags is not None:
            parts.append(f"tagged {' or '.join(self.tags)}")
        if self.order_types is not None:
            parts.append(f"order type {' or '.join(self.order_types)}")
        return ", ".join(parts) or "every order"


class RuleWhen(OrderMatch):
    kinds: list[Identifier] | None = None
    channels: list[Identifier] | None = None
    # How long the exception has been open before the rule may act.
    min_age: Duration = timedelta(0)


class AutoResolveRule(Strict):
    name: Identifier
    when: RuleWhen = RuleWhen()
    action: RuleAction
    location: Identifier | None = None
    reason: str | None = None

    @model_validator(mode="after")
    def _arguments(self) -> AutoResolveRule:
        if self.action is RuleAction.REROUTE and self.location is None:
            raise ValueError(f"rule {self.name!r}: reroute needs a `location` (the fallback location)")
        if self.action is not RuleAction.REROUTE and self.location is not None:
            raise ValueError(f"rule {self.name!r}: `location` is for reroute only")
        if self.action is RuleAction.DISMISS and not self.reason:
            raise ValueError(f"rule {self.name!r}: dismiss needs a `reason`")
        return self

    def applies(self, kind: str, channel_id: str, order: Order | None) -> bool:
        """Whether the rule's conditions other than age hold."""
        when = self.when
        return (
            (when.kinds is None or kind in when.kinds)
            and (when.channels is None or channel_id in when.channels)
            and when.matches(order)
        )


class Playbook(Strict):
    """One playbook: the channels and kinds it covers (left out: all), then what it does."""

    name: Identifier
    channels: list[Identifier] | None = None
    kinds: list[Identifier] | None = None
    notify: list[NoticeTarget] = Field(default_factory=list)
    # Left out: one level at the channel's `escalation_delay`, to the `notify` sinks. []: never.
    escalate: list[EscalationLevel] | None = None
    auto_resolve: list[AutoResolveRule] = Field(default_factory=list)
    # Orders that match wait for a person even when a rule could act (e.g. high value, wholesale).
    review_required: OrderMatch | None = None

    def covers(self, channel_id: str, kind: str) -> bool:
        return (self.channels is None or channel_id in self.channels) and (self.kinds is None or kind in self.kinds)

    def ladder(self, escalation_delay: timedelta) -> list[EscalationLevel]:
        if self.escalate is not None:
            return self.escalate
        return [EscalationLevel(after=escalation_delay, notify=self.notify)]

    def review(self, order: Order | None) -> str | None:
        """Why this order waits for a person (None: rules may act)."""
        if self.review_required is None or not self.review_required.matches(order):
            return None
        return self.review_required.describe()

    def rule_due(self, kind: str, channel_id: str, order: Order | None) -> list[AutoResolveRule]:
        """The rules that may act on this exception, in the file's order (first match acts)."""
        return [rule for rule in self.auto_resolve if rule.applies(kind, channel_id, order)]


def playbook_for(playbooks: list[Playbook], channel_id: str, kind: str) -> Playbook | None:
    """The first playbook covering the channel and kind; None: the default (today's behaviour:
    a log line and `notifications.webhook_url`, one escalation after `escalation_delay`)."""
    return next((p for p in playbooks if p.covers(channel_id, kind)), None)


def ladder_problems(levels: list[EscalationLevel]) -> list[tuple[int, str]]:
    """Levels whose `after` is not later than the level before."""
    return [
        (i, f"escalation level {i + 1} ({levels[i].after}) must come after level {i} ({levels[i - 1].after})")
        for i in range(1, len(levels))
        if levels[i].after <= levels[i - 1].after
    ]
