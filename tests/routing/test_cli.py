"""`orderloop route --dry-run`: the decision and its trace for an order file, with stock from a
JSON file or the ledger, and no side effect; `orders show` prints the stored trace."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import orderloop.cli as cli
from orderloop.cli import app
from orderloop.ledger import Cause, CauseKind, Ledger
from orderloop.settings import get_settings
from tests.routing.builders import NOW, decide, location, make_config, make_order, make_stock

ROOT = Path(__file__).resolve().parents[2]
ORDER = {
    "channelId": "storefront",
    "lineItems": [{"id": "1", "sku": "MUG-11OZ", "quantity": 2}, {"id": "2", "sku": "POSTER-A2", "quantity": 1}],
    "shippingAddress": {"country": "US", "stateOrProvince": "NY", "zipCodeOrPostalCode": "10118"},
}


@pytest.fixture
def files(tmp_path: Path) -> Path:
    (tmp_path / "order.json").write_text(json.dumps(ORDER))
    return tmp_path


def dry_run(folder: Path, stock: dict[str, dict[str, int]] | None, *extra: str) -> Any:
    args = ["route", "--dry-run", str(folder / "order.json"), "--config", str(ROOT / "orderloop.yaml"), *extra]
    if stock is not None:
        (folder / "stock.json").write_text(json.dumps(stock))
        args += ["--stock", str(folder / "stock.json")]
    return CliRunner().invoke(app, args)


def test_dry_run_prints_the_decision_and_trace_and_exits_0_when_routed(files: Path) -> None:
    result = dry_run(files, {"MUG-11OZ": {"east": 1, "west": 5}, "POSTER-A2": {"east": 5, "west": 5}})
    assert result.exit_code == 0, result.output
    out = " ".join(result.output.split())
    assert "routed order dry-run from channel storefront (dry run: nothing reserved or sent)" in out
    # The global kits rule comes first in the file but does not match this order.
    assert "rule: storefront-east-first (rule 2 for channel storefront, order type standard)" in out
    assert "short at east: MUG-11OZ needs 2, has 1" in out
    assert "ships from west: line(s) 1, 2" in out


def test_dry_run_exits_1_when_the_order_cannot_be_routed(files: Path) -> None:
    result = dry_run(files, {"MUG-11OZ": {"east": 5}}, "--json")
    assert result.exit_code == 1
    decision = json.loads(result.output)
    assert decision["outcome"] == "out_of_stock" and decision["assignments"] == []
    assert decision["trace"]["steps"][0]["short"] == {
        "east": [["POSTER-A2", 1, 0]],
        "west": [["MUG-11OZ", 2, 0], ["POSTER-A2", 1, 0]],
    }


def test_dry_run_honours_the_context_options(files: Path) -> None:
    stock = {"MUG-11OZ": {"east": 5, "west": 5}, "POSTER-A2": {"east": 5, "west": 5}}
    excluded = json.loads(dry_run(files, stock, "--exclude", "east", "--json").output)
    assert [a["locationId"] for a in excluded["assignments"]] == ["west"]
    forced = json.loads(dry_run(files, stock, "--force", "west", "--json").output)
    assert forced["trace"]["forced"] == "west" and forced["rule"] == "operator reroute"


def test_dry_run_reads_stock_from_the_ledger_database(files: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{files / 'ledger.db'}"

    async def stock_up() -> None:
        ledger = await Ledger.open(url)
        try:
            for sku in ("MUG-11OZ", "POSTER-A2"):
                await ledger.receive(sku, "west", 10, Cause(kind=CauseKind.FULFILLMENT_CHANNEL, ref="test"))
        finally:
            await ledger.close()

    asyncio.run(stock_up())
    monkeypatch.setenv("ORDERLOOP_DATABASE_URL", url)
    get_settings.cache_clear()
    try:
        result = dry_run(files, None, "--json")
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert [a["locationId"] for a in json.loads(result.output)["assignments"]] == ["west"]


def test_dry_run_does_not_create_a_missing_ledger(files: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORDERLOOP_DATABASE_URL", f"sqlite:///{files / 'absent' / 'ledger.db'}")
    get_settings.cache_clear()
    try:
        result = dry_run(files, None)
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 2
    assert "no ledger database at" in result.output and not (files / "absent").exists()


def test_bad_inputs_are_refused_with_exit_2(files: Path) -> None:
    (files / "bad.json").write_text('{"MUG-11OZ": {"east": "lots"}}')
    bad_stock = CliRunner().invoke(
        app,
        [
            "route",
            "--dry-run",
            str(files / "order.json"),
            "--stock",
            str(files / "bad.json"),
            "--config",
            str(ROOT / "orderloop.yaml"),
        ],
    )
    assert bad_stock.exit_code == 2 and "expected" in bad_stock.output
    (files / "order.json").write_text(json.dumps({"channelId": "storefront", "lineItems": []}))
    bad_order = dry_run(files, {})
    assert bad_order.exit_code == 2 and "not a valid order" in bad_order.output
    without_flag = CliRunner().invoke(app, ["route", str(files / "order.json")])
    assert without_flag.exit_code == 2 and "pass --dry-run" in without_flag.output


def test_orders_show_prints_the_stored_trace(monkeypatch: pytest.MonkeyPatch) -> None:
    config = make_config([location("east", "07102", paused=True), location("west", "89501")], [{"name": "r"}])
    decision = decide(make_order([("A", 1)]), config, make_stock({"west": {"A": 3}}))
    view = {
        "workflowId": "order/storefront/1001",
        "status": "allocated",
        "lines": [],
        "allocation": decision.to_allocation().model_dump(mode="json"),
        "timeline": [{"at": NOW.isoformat(), "event": "allocated"}],
    }
    monkeypatch.setattr(cli, "_api", lambda *args, **kwargs: view)
    result = CliRunner().invoke(app, ["orders", "show", "storefront", "1001"])
    assert result.exit_code == 0, result.output
    assert "allocation (rule r):" in result.output
    assert "    east skipped: open: paused" in result.output
    assert "    first choice: sort ranked, split never, 2 candidate(s)" in result.output


def test_orders_show_prints_why_an_order_is_not_allocated(monkeypatch: pytest.MonkeyPatch) -> None:
    config = make_config([location("east", "07102")], [{"name": "r"}])
    decision = decide(make_order([("A", 1)]), config, {})
    view = {
        "workflowId": "order/storefront/1001",
        "status": "exception",
        "exceptions": [
            {
                "kind": "out_of_stock",
                "message": decision.reason,
                "detail": {"trace": decision.trace},
                "raisedAt": NOW.isoformat(),
            }
        ],
    }
    monkeypatch.setattr(cli, "_api", lambda *args, **kwargs: view)
    result = CliRunner().invoke(app, ["orders", "show", "storefront", "1001"])
    assert result.exit_code == 0, result.output
    assert "  not allocated:\n    outcome: out_of_stock" in result.output
    assert "    short at east: A needs 1, has 0" in result.output
