"""`orderloop exchanges list|show|rerun` against a stubbed operator API (the API itself runs in
tests/gateway/test_exchanges_api.py and, with a real re-run, tests/integration/test_ops_page.py)."""

from __future__ import annotations

import json
from typing import Any

import typer
from rich.console import Console
from typer.testing import CliRunner

from orderloop.cli import app as orderloop_app
from orderloop.exchanges_cli import exchanges_commands

ROW = {
    "id": 12,
    "at": "2026-12-04T10:00:00+00:00",
    "direction": "outbound",
    "channel": "storefront",
    "orderId": "order/storefront/1001",
    "orderUiUrl": "http://localhost:8233/namespaces/default/workflows/order%2Fstorefront%2F1001",
    "operation": "push_tracking",
    "summary": "push fulfillment for order 1001",
    "method": "POST",
    "target": "/orders/1001/fulfillments",
    "statusCode": 422,
    "status": "failed",
    "attempt": 1,
    "durationMs": 8,
    "error": "HTTP 422: fulfillment refused",
    "rerunnable": True,
    "rerunAt": None,
    "rerunBy": None,
}


def stub(answer: Any) -> tuple[typer.Typer, list[tuple[Any, ...]]]:
    """The `exchanges` commands over an API that answers `answer`, and the calls it got."""
    calls: list[tuple[Any, ...]] = []

    def api(*args: Any, **kwargs: Any) -> Any:
        calls.append((*args, kwargs.get("params")))
        return answer

    app = typer.Typer()
    app.add_typer(exchanges_commands(api, Console(width=250)), name="exchanges")
    return app, calls


def test_the_orderloop_command_has_the_exchanges_commands() -> None:
    result = CliRunner().invoke(orderloop_app, ["exchanges", "--help"])
    assert result.exit_code == 0 and all(name in result.output for name in ("list", "show", "rerun"))


def test_list_passes_the_filters_and_shows_the_failed_call() -> None:
    app, calls = stub({"count": 1, "totals": {"ok": 3, "failed": 1}, "nextBefore": None, "exchanges": [ROW]})
    args = ["exchanges", "list", "--channel", "storefront", "--status", "failed", "--direction", "outbound"]
    result = CliRunner().invoke(app, [*args, "--since", "48h", "--order", "1001"])
    assert result.exit_code == 0, result.output
    params = {
        "channel": "storefront",
        "order": "1001",
        "direction": "outbound",
        "status": "failed",
        "since": "48h",
        "until": None,
        "limit": 50,
    }
    assert calls == [("GET", "/api/exchanges", params)]
    assert "3 ok, 1 failed" in result.output and "HTTP 422: fulfillment refused" in result.output
    assert "order/storefront/1001" in result.output and "push_tracking" in result.output


def test_show_prints_the_bodies_and_json_prints_the_answer() -> None:
    shown = {**ROW, "rerunRefusal": None, "request": {"trackingNumbers": ["1Z"]}, "response": {"error": "no"}}
    app, calls = stub(shown)
    result = CliRunner().invoke(app, ["exchanges", "show", "12"])
    assert result.exit_code == 0, result.output
    assert calls == [("GET", "/api/exchanges/12", None)]
    assert '"trackingNumbers"' in result.output and "status 422 (failed), attempt 1, 8 ms" in result.output
    as_json = CliRunner().invoke(app, ["exchanges", "show", "12", "--json"])
    assert json.loads(as_json.output) == shown


def test_rerun_posts_and_says_what_the_order_did() -> None:
    answer = {
        "exchange": 12,
        "orderId": "order/storefront/1001",
        "operator": "ann",
        "firstRerun": True,
        "message": "retrying",
        "orderStatus": "awaiting_shipment",
    }
    app, calls = stub(answer)
    result = CliRunner().invoke(app, ["exchanges", "rerun", "12"])
    assert result.exit_code == 0, result.output
    assert calls == [("POST", "/api/exchanges/12/rerun", None)]
    assert "re-run exchange 12: retrying (order order/storefront/1001 now awaiting_shipment)" in result.output
