"""The CLI's notice and held-order commands and what `orders show` says of a playbook's exception,
against a stubbed operator API (the API itself runs in tests/integration/test_notices.py)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from typer.testing import CliRunner

from orderloop import cli
from orderloop.cli import app

DEAD = {
    "id": 41,
    "eventId": "order/storefront/1001#0.0.exception.2",
    "sink": "ops-hook",
    "audience": "channel_manager",
    "workflowId": "order/storefront/1001",
    "channel": "storefront",
    "kind": "out_of_stock",
    "level": "exception",
    "status": "dead",
    "attempts": 5,
    "createdAt": "2026-12-03T10:00:00+00:00",
    "nextAttemptAt": "2026-12-03T10:05:00+00:00",
    "deliveredAt": None,
    "lastError": "http://ops.test/hook answered 500: down",
}


def stub(monkeypatch: pytest.MonkeyPatch, answer: Any) -> list[tuple[Any, ...]]:
    calls: list[tuple[Any, ...]] = []

    def api(*args: Any, **kwargs: Any) -> Any:
        calls.append((*args, kwargs.get("params")))
        return answer

    monkeypatch.setattr(cli, "_api", api)
    return calls


def test_notices_list_shows_the_dead_letters_with_their_error(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = stub(monkeypatch, {"count": 1, "notices": [DEAD]})
    monkeypatch.setattr(cli.console, "width", 200)
    result = CliRunner().invoke(app, ["notices", "list", "--status", "dead"])
    assert result.exit_code == 0, result.output
    assert calls == [("GET", "/api/notices", {"status": "dead", "limit": 100})]
    assert "ops-hook" in result.output and "answered 500: down" in result.output and "dead" in result.output


def test_notices_resend_queues_each_id(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = stub(monkeypatch, {**DEAD, "status": "pending", "attempts": 0})
    result = CliRunner().invoke(app, ["notices", "resend", "41", "42"])
    assert result.exit_code == 0, result.output
    assert [c[:2] for c in calls] == [("POST", "/api/notices/41/resend"), ("POST", "/api/notices/42/resend")]
    assert result.output.count("queued notice 41 for ops-hook") == 2


def test_orders_show_says_which_playbook_told_whom_and_who_resolved(monkeypatch: pytest.MonkeyPatch) -> None:
    exception = {
        "kind": "out_of_stock",
        "message": "no stock of POSTER",
        "raisedAt": "2026-12-03T10:00:00+00:00",
        "resolvedAt": "2026-12-06T10:00:00+00:00",
        "resolution": "order cancelled",
        "resolvedBy": "rule give-up",
        "playbook": "stock",
        "notified": ["ops-slack", "ops-hook"],
        "escalations": 1,
    }
    stub(monkeypatch, {"workflowId": "order/storefront/1001", "status": "cancelled", "exceptions": [exception]})
    result = CliRunner().invoke(app, ["orders", "show", "storefront", "1001"])
    assert result.exit_code == 0, result.output
    assert "no stock of POSTER (resolved: order cancelled by rule give-up)" in result.output
    assert "playbook stock: told ops-slack, ops-hook, 1 escalation(s)" in result.output


HELD = {
    "channel": "bigcommerce",
    "externalId": "301",
    "state": "held",
    "reason": "the BigCommerce order is Incomplete (status 0): the checkout was not completed",
    "channelStatus": "Incomplete (status 0)",
    "firstSeenAt": "2026-12-03T10:00:00+00:00",
    "lastSeenAt": "2026-12-03T10:10:00+00:00",
    "timesSeen": 3,
    "releasedAt": None,
    "cancelledAt": None,
}


def test_orders_held_lists_each_hold_with_its_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = stub(monkeypatch, {"count": 1, "holds": [HELD]})
    monkeypatch.setattr(cli.console, "width", 300)
    result = CliRunner().invoke(app, ["orders", "held", "--channel", "bigcommerce"])
    assert result.exit_code == 0, result.output
    assert calls == [("GET", "/api/holds", {"channel": "bigcommerce", "status": "held", "limit": 100})]
    assert "the checkout was not completed" in result.output and "Incomplete (status 0)" in result.output
    assert "301" in result.output and "2026-12-03T10:10:00+00:00" in result.output


def test_orders_held_asks_for_every_state_and_prints_json(monkeypatch: pytest.MonkeyPatch) -> None:
    released = {**HELD, "state": "released", "releasedAt": "2026-12-03T11:00:00+00:00"}
    calls = stub(monkeypatch, {"count": 1, "holds": [released]})
    result = CliRunner().invoke(app, ["orders", "held", "--status", "all", "--limit", "5", "--json"])
    assert result.exit_code == 0, result.output
    assert calls == [("GET", "/api/holds", {"channel": None, "status": "all", "limit": 5})]
    assert json.loads(result.output)["holds"][0]["releasedAt"] == "2026-12-03T11:00:00+00:00"
