"""The operations record's writers, figures and verdicts as pure functions: what a notice,
a rule's reroute and an operator's action record; the `operations:` block of orderloop.yaml
validated with its line; the readiness criteria against their thresholds and the other
channels' baseline; the flow audit marking the steps a person acts on."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from orderloop.activity_models import Notification, NotificationLevel
from orderloop.channel_flow import flow
from orderloop.channel_report import ChannelFigures, figures, open_exceptions, parse_since, percentile
from orderloop.config import ConfigError, parse_config
from orderloop.contracts import Updates
from orderloop.ledger import OperationKind, OperationRow
from orderloop.model import ExceptionKind
from orderloop.operations_events import from_notification, operator_action
from orderloop.readiness import criteria

ROOT = Path(__file__).resolve().parents[2]
# The shipped file without its `operations:` block and playbooks, which the tests give their own.
SANDBOX = re.sub(r"\noperations:\n(?:(?:  .*)?\n)+", "\n", (ROOT / "orderloop.yaml").read_text()).replace(
    "\nplaybooks: []\n", "\n"
)
AT = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)

REROUTE_BOOK = """playbooks:
  - name: stock
    kinds: [out_of_stock]
    auto_resolve:
      - {name: fallback-west, when: {min_age: 30m}, action: reroute, location: west}
"""


def note(level: NotificationLevel, kind: ExceptionKind, **extra: object) -> Notification:
    return Notification(
        workflow_id="order/shopify/1001",
        channel_id="shopify",
        external_id="1001",
        level=level,
        kind=kind,
        message="m",
        at=AT,
        **extra,
    )


def test_the_shipped_blocks_are_stripped() -> None:
    assert "\noperations:" not in SANDBOX and "\nplaybooks:" not in SANDBOX
    assert parse_config(SANDBOX).operations.hourly_cost == 45


def test_a_notice_records_its_level_and_an_sla_breach_once_more() -> None:
    config = parse_config(SANDBOX)
    (raised, breach) = from_notification(note(NotificationLevel.EXCEPTION, ExceptionKind.SLA_BREACH), config)
    assert raised.kind is OperationKind.EXCEPTION_RAISED and breach.kind is OperationKind.SLA_BREACH
    assert raised.key != breach.key and raised.order_id == "1001"
    assert from_notification(note(NotificationLevel.WARNING, ExceptionKind.SLA_BREACH), config) == []
    # The same notice (a retried activity) gives the same keys.
    again = from_notification(note(NotificationLevel.EXCEPTION, ExceptionKind.SLA_BREACH), config)
    assert [e.key for e in again] == [raised.key, breach.key]


def test_a_resolution_names_what_resolved_it_and_a_rules_reroute_is_automatic() -> None:
    config = parse_config(SANDBOX + REROUTE_BOOK)
    by_rule = from_notification(
        note(NotificationLevel.RESOLVED, ExceptionKind.OUT_OF_STOCK, resolved_by="rule fallback-west", event_id="e1"),
        config,
    )
    assert [e.kind for e in by_rule] == [OperationKind.EXCEPTION_RESOLVED, OperationKind.REROUTE]
    assert by_rule[0].detail["by"] == "rule" and by_rule[1].detail == {"manual": False, "rule": "fallback-west"}
    (by_person,) = from_notification(
        note(NotificationLevel.RESOLVED, ExceptionKind.OUT_OF_STOCK, resolved_by="operator ann"), config
    )
    assert by_person.detail["by"] == "operator" and by_person.detail["name"] == "ann"
    (by_order,) = from_notification(note(NotificationLevel.RESOLVED, ExceptionKind.OUT_OF_STOCK), config)
    assert by_order.detail["by"] == "order"
    action, reroute = operator_action("k", Updates.REROUTE, "ann", "order/shopify/1001", "shopify", "1001", AT, None)
    assert action.detail["operator"] == "ann" and reroute.detail == {"manual": True, "operator": "ann"}


def test_the_operations_block_is_validated_with_its_line() -> None:
    good = parse_config(SANDBOX + "operations:\n  hourly_cost: 60\n  handling_minutes: {reroute: 8}\n")
    assert good.operations.minutes_for("reroute") == 8 and good.operations.minutes_for("retry") == 5
    text = SANDBOX + "operations:\n  handling_minutes: {reship: 8}\n"
    with pytest.raises(ConfigError) as err:
        parse_config(text, "orderloop.yaml")
    line = text.count("\n", 0, text.index("reship")) + 1
    assert f"orderloop.yaml:{line}" in str(err.value) and "handling_minutes" in str(err.value)
    with pytest.raises(ConfigError, match="min_sla_adherence"):
        parse_config(SANDBOX + "operations:\n  readiness: {min_sla_adherence: 2}\n")


def row(
    i: int, kind: OperationKind, order: str, at: datetime, channel: str = "shopify", **detail: object
) -> OperationRow:
    return OperationRow(
        id=i,
        key=str(i),
        channel_id=channel,
        order_id=order,
        workflow_id=f"order/{channel}/{order}",
        kind=kind,
        at=at,
        detail=detail,
    )


def test_open_exceptions_pair_each_resolution_with_the_earliest_raise() -> None:
    rows = [
        row(1, OperationKind.EXCEPTION_RAISED, "a", AT, exceptionKind="unroutable"),
        row(2, OperationKind.EXCEPTION_RAISED, "b", AT, exceptionKind="unroutable"),
        row(3, OperationKind.EXCEPTION_RESOLVED, "a", AT + timedelta(minutes=5), exceptionKind="unroutable"),
        row(4, OperationKind.EXCEPTION_RAISED, "a", AT + timedelta(minutes=9), exceptionKind="unroutable"),
    ]
    assert [(e.order_id, e.raised_at) for e in open_exceptions(rows)] == [("b", AT), ("a", AT + timedelta(minutes=9))]


def test_readiness_criteria_against_thresholds_and_baseline() -> None:
    config = parse_config(SANDBOX + "operations:\n  readiness: {min_orders: 2, max_exceptions_vs_baseline: 2}\n")
    rows = [row(i, OperationKind.RECEIVED, f"o{i}", AT, units=1, revenue="10") for i in range(4)]
    rows += [row(10 + i, OperationKind.RECEIVED, f"b{i}", AT, channel="amazon", units=1) for i in range(10)]
    rows.append(row(30, OperationKind.EXCEPTION_RAISED, "b1", AT, channel="amazon", exceptionKind="invalid_address"))
    rows.append(row(31, OperationKind.EXCEPTION_RAISED, "o1", AT, exceptionKind="invalid_address"))
    rows.append(row(32, OperationKind.INVENTORY_PUSHED, "-", AT, ok=True, latency=1.5, skus=3))
    found = figures(rows, config.operations)
    listed, baseline, by_kind = criteria(found["shopify"], [found["amazon"]], config, elapsed_hours=50)
    named = {c.name: c for c in listed}
    assert baseline == 10.0 and by_kind == {"invalid_address": 10.0}
    # 25 per 100 against at most max(5, 2 x 10) = 20: fails, the only failing criterion.
    assert named["exceptions_per_100"].value == 25.0 and named["exceptions_per_100"].threshold == 20.0
    assert [c.name for c in listed if not c.passed] == ["exceptions_per_100"]
    assert named["oversells"].passed and named["pushes_in_sync"].value == 1.0
    assert named["push_latency_p99_seconds"].value == 1.5
    early, _, _ = criteria(found["shopify"], [], config, elapsed_hours=3)
    assert not {c.name: c for c in early}["monitoring_window_hours"].passed


def test_the_flow_marks_steps_a_person_acts_on() -> None:
    config = parse_config(SANDBOX + REROUTE_BOOK)
    f = ChannelFigures("shopify", orders=3, manual_reroutes=1)
    f.by_kind = {"invalid_address": 2}
    f.resolved_kinds = {"invalid_address": {"operator": 2}}
    steps = {s.step: s for s in flow(config, "shopify", f)}
    assert steps["orders in"].configured.startswith("webhook POST /webhooks/shopify; order poll every")
    assert steps["routing"].actor == "person" and steps["routing"].manual == 1
    assert steps["exception invalid_address"].actor == "person" and steps["exception invalid_address"].manual == 2
    assert "rule fallback-west (reroute" in steps["exception out_of_stock"].configured
    assert steps["exception out_of_stock"].actor == "system"


def test_since_and_percentiles() -> None:
    assert parse_since("48h", AT) == AT - timedelta(hours=48)
    assert parse_since("2026-03-01T00:00:00", AT) == datetime(2026, 3, 1, tzinfo=UTC)
    assert percentile([], 0.5) is None and percentile([10.0, 20.0], 0.5) == 15.0
