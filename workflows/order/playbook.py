"""How an order of revision 4 on follows its exception playbooks: which playbook an exception
opened under (kept with it, so a configuration change applies from the next exception on), its
escalation ladder, the auto-resolve rule due next, and the sinks told so far. Pure over the
order state; the steps in `holds.py` act on what it answers."""

from __future__ import annotations

from datetime import datetime

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from orderloop.contracts import PLAYBOOK_REVISION, OrderPolicy, RerouteRequest, RetryRequest, Updates
    from orderloop.model import OrderException
    from orderloop.playbooks import AutoResolveRule, EscalationLevel, NoticeTarget, Playbook, RuleAction, playbook_for

from workflows.order import bookkeeping
from workflows.order.state import OrderState

RULE_OPERATOR_PREFIX = "rule:"


def follows_playbooks(s: OrderState) -> bool:
    return s.input.revision >= PLAYBOOK_REVISION


def open_under(s: OrderState, policy: OrderPolicy, exc: OrderException) -> Playbook | None:
    """Record the playbook the exception just opened under (None: the default)."""
    book = playbook_for(policy.playbooks, s.input.channel_id, exc.code) if follows_playbooks(s) else None
    s.playbooks[len(s.view.exceptions) - 1] = book
    if book is not None:
        exc.playbook = book.name
        exc.review_required = book.review(s.view.order)
    return book


def current(s: OrderState) -> tuple[int, OrderException, Playbook] | None:
    """The open exception, its index and its playbook, when it follows one."""
    exc = s.view.open_exception
    if exc is None:
        return None
    index = s.view.exceptions.index(exc)
    book = s.playbooks.get(index)
    return (index, exc, book) if book is not None else None


def next_level(s: OrderState, policy: OrderPolicy) -> tuple[datetime, EscalationLevel] | None:
    found = current(s)
    if found is None:
        return None
    _, exc, book = found
    ladder = book.ladder(policy.escalation_delay)
    if exc.escalations >= len(ladder):
        return None
    level = ladder[exc.escalations]
    return exc.raised_at + level.after, level


def told(book: Playbook, exc: OrderException, policy: OrderPolicy) -> list[NoticeTarget]:
    """The sinks told of the exception so far (its notice and the levels fired), once each."""
    targets = list(book.notify)
    for level in book.ladder(policy.escalation_delay)[: exc.escalations]:
        targets += level.notify
    return list({t.sink: t for t in reversed(targets)}.values())[::-1]


def _possible(s: OrderState, rule: AutoResolveRule) -> bool:
    """Whether the order can take the rule's action in the step it waits in now."""
    accepts = s.mailbox.accepts
    if rule.action is RuleAction.RETRY:
        return Updates.RETRY in accepts
    if rule.action is RuleAction.REROUTE:
        return Updates.REROUTE in accepts
    if rule.action is RuleAction.APPROVE_CANCELLATION:
        return Updates.CANCEL in accepts and not bookkeeping.released(s.view)
    return Updates.CANCEL in accepts if rule.action is RuleAction.CANCEL else bool(accepts)


def next_rule(s: OrderState) -> tuple[datetime, AutoResolveRule] | None:
    """When the next auto-resolve rule acts, and which: among the rules whose conditions hold
    (kind, channel, order), the first in the file whose age is reached then. None while the
    order needs a review, an action is queued, or no rule applies."""
    found = current(s)
    if found is None or s.mailbox.pending is not None or s.cancel_reason is not None:
        return None
    index, exc, book = found
    if exc.review_required is not None:
        return None
    rules = [
        rule
        for rule in book.rule_due(exc.code, s.input.channel_id, s.view.order)
        if (index, rule.name) not in s.rules_tried and _possible(s, rule)
    ]
    if not rules:
        return None
    at = min(exc.raised_at + rule.when.min_age for rule in rules)
    return at, next(rule for rule in rules if exc.raised_at + rule.when.min_age <= at)


def act(s: OrderState, rule: AutoResolveRule) -> str:
    """Take the rule's action the way an operator's would be taken (queued in the mailbox, or a
    cancel), and return what the timeline says of it."""
    found = current(s)
    assert found is not None
    index, exc, _ = found
    s.rules_tried.add((index, rule.name))
    operator = f"{RULE_OPERATOR_PREFIX}{rule.name}"
    s.actor = f"rule {rule.name}"
    if rule.action is RuleAction.RETRY:
        s.mailbox.enqueue(Updates.RETRY, RetryRequest(operator=operator, note=rule.reason))
    elif rule.action is RuleAction.REROUTE:
        assert rule.location is not None
        s.mailbox.enqueue(Updates.REROUTE, RerouteRequest(operator=operator, location_id=rule.location))
    elif rule.action in (RuleAction.CANCEL, RuleAction.APPROVE_CANCELLATION):
        default = "buyer's cancellation approved" if rule.action is RuleAction.APPROVE_CANCELLATION else "cancelled"
        reason = f"{rule.reason or default} (rule {rule.name})"
        # As a channel's cancel is taken: every step that waits acts on `cancel_reason`.
        s.cancel_reason, s.cancel_handled, s.tell_channel = reason, False, True
    elif Updates.RETRY in s.mailbox.accepts:
        # Dismissed (holds.py closes the exception): the step the order waits in goes on.
        s.mailbox.enqueue(Updates.RETRY, RetryRequest(operator=operator, note=rule.reason))
    return f"{rule.name}: {rule.action} on {exc.kind}" + (f" to {rule.location}" if rule.location else "")


def resolver(s: OrderState) -> str | None:
    """Who is resolving the open exception now: a rule, an operator, or None (the order moved on)."""
    if s.actor is not None:
        return s.actor
    operator = s.mailbox.operator()
    if operator is None:
        return None
    if operator.startswith(RULE_OPERATOR_PREFIX):
        return f"rule {operator.removeprefix(RULE_OPERATOR_PREFIX)}"
    return f"operator {operator}"
