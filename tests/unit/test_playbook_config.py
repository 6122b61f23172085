"""Exception playbooks in orderloop.yaml: a valid one loads and reaches the order's policy (and
survives the trip through the workflow's data converter); a bad one is refused with the file,
the line, the field and the reason."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from orderloop.config import ConfigError, parse_config
from orderloop.contracts import OrderPolicy
from orderloop.order_policy import order_policy
from orderloop.playbooks import RuleAction, playbook_for

ROOT = Path(__file__).resolve().parents[2]
SANDBOX = (ROOT / "orderloop.yaml").read_text()

SINKS = """  sinks:
    ops-hook: {type: webhook, url: "http://127.0.0.1:9/hook", secret: OPS_HOOK_SECRET}
    ops-slack: {type: slack, url: "http://127.0.0.1:9/slack"}
    warehouse-mail:
      {type: email, host: 127.0.0.1, port: 2525, sender: orders@example.com, to: [floor@example.com], starttls: false}
"""

PLAYBOOKS = """playbooks:
  - name: storefront-stock
    channels: [storefront]
    kinds: [out_of_stock, unroutable]
    notify: [{sink: ops-slack}, {sink: warehouse-mail, audience: warehouse}]
    escalate:
      - {after: 1h, notify: [{sink: ops-hook}]}
      - {after: 4h, notify: [{sink: ops-slack, audience: support}]}
    auto_resolve:
      - {name: fallback-west, when: {min_age: 30m}, action: reroute, location: west}
      - {name: give-up, when: {min_age: 3d, max_total: 100}, action: cancel, reason: out of stock}
    review_required: {min_total: 500, order_types: [wholesale]}
"""


def with_playbooks(playbooks: str = PLAYBOOKS) -> str:
    assert "  sinks: {}\n" in SANDBOX and "\nplaybooks: []\n" in SANDBOX
    return SANDBOX.replace("  sinks: {}\n", SINKS, 1).replace("\nplaybooks: []\n", "\n" + playbooks, 1)


def refused(text: str) -> str:
    with pytest.raises(ConfigError) as info:
        parse_config(text, "brand.yaml")
    return str(info.value)


def line_of(text: str, needle: str) -> int:
    return next(
        i for i, line in enumerate(text.splitlines(), 1) if needle in line and not line.lstrip().startswith("#")
    )


def test_a_playbook_reaches_the_policy_of_its_channels_only() -> None:
    config = parse_config(with_playbooks())
    policy = order_policy(config, "t", "storefront")
    book = playbook_for(policy.playbooks, "storefront", "out_of_stock")
    assert book is not None and [t.sink for t in book.notify] == ["ops-slack", "warehouse-mail"]
    assert [level.after for level in book.ladder(timedelta(hours=4))] == [timedelta(hours=1), timedelta(hours=4)]
    assert [rule.action for rule in book.auto_resolve] == [RuleAction.REROUTE, RuleAction.CANCEL]
    assert playbook_for(policy.playbooks, "storefront", "invalid_address") is None
    # The policy crosses into the workflow as JSON: durations and amounts come back the same.
    assert OrderPolicy.model_validate_json(policy.model_dump_json()) == policy


def test_a_playbook_without_a_ladder_escalates_once_after_the_channel_delay() -> None:
    config = parse_config(with_playbooks("playbooks:\n  - {name: all, notify: [{sink: ops-slack}]}\n"))
    (book,) = config.playbooks
    (level,) = book.ladder(timedelta(hours=4))
    assert level.after == timedelta(hours=4) and [t.sink for t in level.notify] == ["ops-slack"]


@pytest.mark.parametrize(
    ("old", "new", "needle", "reason"),
    [
        ("{sink: ops-slack}, {sink: ware", "{sink: nobody}, {sink: ware", "{sink: nobody}", "unknown sink 'nobody'"),
        ("location: west", "location: north", "location: north", "unknown location 'north'"),
        ("after: 4h", "after: 1h", "{after: 1h, notify: [{sink: ops-slack", "must come after level 1 (1:00:00)"),
        ("channels: [storefront]", "channels: [mall]", "channels: [mall]", "unknown channel 'mall'"),
        ("action: cancel, reason", "action: cancel, location: west, reason", "give-up", "is for reroute only"),
    ],
    ids=["sink", "location", "ladder", "channel", "argument"],
)
def test_a_bad_playbook_is_refused_with_its_line(old: str, new: str, needle: str, reason: str) -> None:
    text = with_playbooks(PLAYBOOKS.replace(old, new))
    message = refused(text)
    assert f"brand.yaml:{line_of(text, needle)}: playbooks[0]" in message
    assert reason in message


def test_a_sink_needs_its_fields() -> None:
    message = refused(with_playbooks().replace("ops-slack: {type: slack, ", "ops-slack: {type: sms, "))
    assert "notifications.sinks.ops-slack" in message
