"""`orderloop operators` on a real SQLite ledger: add prints the token once (and it is the one
the ledger recognises), list shows roles and revocations, revoke refuses the token from then
on; duplicate and unknown names and bad roles are clear errors. And the order commands send the
operator's own token when ORDERLOOP_OPERATOR_TOKEN is set."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from orderloop.cli import app
from orderloop.ledger import Ledger, OperatorRow
from orderloop.settings import get_settings


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    monkeypatch.setenv("ORDERLOOP_DATABASE_URL", url)
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


def holder(url: str, token: str) -> OperatorRow | None:
    async def run() -> OperatorRow | None:
        ledger = await Ledger.open(url)
        try:
            return await ledger.operator_by_token(token)
        finally:
            await ledger.close()

    return asyncio.run(run())


def invoke(*args: str) -> Any:
    return CliRunner().invoke(app, list(args), terminal_width=200)


def test_add_prints_the_token_once_and_the_ledger_knows_it(database: str) -> None:
    added = invoke("operators", "add", "ada", "--role", "read")
    assert added.exit_code == 0, added.output
    [token] = [line for line in added.output.splitlines() if len(line) == 43 and " " not in line]
    assert f"export ORDERLOOP_OPERATOR_TOKEN={token}" in added.output and "Authorization: Bearer" in added.output
    found = holder(database, token)
    assert found is not None and found.name == "ada" and found.role == "read"

    listed = invoke("operators", "list", "--json")
    assert listed.exit_code == 0, listed.output
    rows = json.loads(listed.output)
    assert [(r["name"], r["role"], r["revoked_at"]) for r in rows] == [("ada", "read", None)]
    assert token not in listed.output


def test_revoke_refuses_the_token_and_list_shows_it(database: str) -> None:
    added = invoke("operators", "add", "linus")
    token = next(line for line in added.output.splitlines() if len(line) == 43 and " " not in line)

    revoked = invoke("operators", "revoke", "linus")
    table = invoke("operators", "list")
    active = invoke("operators", "list", "--active", "--json")

    assert revoked.exit_code == 0 and "operator linus revoked" in revoked.output
    found = holder(database, token)
    assert found is not None and found.revoked
    assert "linus" in table.output and "act" in table.output
    assert json.loads(active.output) == []


def test_duplicate_unknown_and_bad_input_are_clear_errors(database: str) -> None:
    assert invoke("operators", "add", "grace").exit_code == 0
    duplicate = invoke("operators", "add", "grace")
    unknown = invoke("operators", "revoke", "nobody")
    bad_role = invoke("operators", "add", "ken", "--role", "admin")
    bad_name = invoke("operators", "add", "rule:give-up")

    assert duplicate.exit_code == 1 and "operator grace exists" in duplicate.output
    assert unknown.exit_code == 1 and "no operator named 'nobody'" in unknown.output
    assert bad_role.exit_code == 2 and "'admin' is not one of" in bad_role.output
    assert bad_name.exit_code == 1 and "invalid operator name 'rule:give-up'" in bad_name.output


def test_list_without_a_ledger_says_where_it_looked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORDERLOOP_DATABASE_URL", f"sqlite:///{tmp_path / 'missing' / 'ledger.db'}")
    get_settings.cache_clear()
    try:
        result = invoke("operators", "list")
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 2 and "no ledger database at" in result.output
    assert not (tmp_path / "missing" / "ledger.db").exists()


def test_order_actions_send_the_operators_own_token(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"message": "retrying", "view": {"status": "allocating"}})

    client = httpx.Client(transport=httpx.MockTransport(handler))
    monkeypatch.setattr(httpx, "request", client.request)
    monkeypatch.setenv("ORDERLOOP_OPERATOR_TOKEN", "ada-token")
    monkeypatch.setenv("ORDERLOOP_GATEWAY_URL", "http://gateway.test")
    get_settings.cache_clear()
    try:
        result = invoke("orders", "retry", "storefront", "1001")
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    [request] = seen
    assert request.headers["Authorization"] == "Bearer ada-token"
    assert str(request.url) == "http://gateway.test/api/orders/storefront/1001/retry"
