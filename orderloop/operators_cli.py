"""`orderloop operators`: create, list and revoke operator credentials (docs/operators.md).

These commands work on the ledger database itself (ORDERLOOP_DATABASE_URL), not through the
operator API: creating the first credential of a production gateway, which refuses the shared
token, must not need a credential. Whoever may write the ledger database may run them."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.engine import make_url

from orderloop.ledger import Ledger, LedgerError, OperatorRole
from orderloop.settings import get_settings

T = TypeVar("T")


def _run(console: Console, work: Callable[[Ledger], Awaitable[T]], create: bool = False) -> T:
    url = get_settings().database_url
    sa_url = make_url(url)
    if not create and sa_url.get_backend_name() == "sqlite" and not Path(sa_url.database or "").exists():
        console.print(f"[red]error:[/red] no ledger database at {sa_url.database} (set ORDERLOOP_DATABASE_URL)")
        raise typer.Exit(2)

    async def run() -> T:
        ledger = await Ledger.open(url)
        try:
            return await work(ledger)
        finally:
            await ledger.close()

    try:
        return asyncio.run(run())
    except LedgerError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from None


def operators_commands(console: Console) -> typer.Typer:
    commands = typer.Typer(help="Operator credentials: one per person, act or read-only (the ledger database).")

    @commands.command("add")
    def add(
        name: Annotated[
            str, typer.Argument(help="the person's name as the timeline shows it, e.g. ada or ada@brand.com")
        ],
        role: Annotated[OperatorRole, typer.Option(help="act: read and take actions; read: read only")] = (
            OperatorRole.ACT
        ),
    ) -> None:
        """Create a credential and print its token, once (only its SHA-256 is stored)."""
        issued = _run(console, lambda ledger: ledger.add_operator(name, role), create=True)
        console.print(f"[green]operator {issued.operator.name} created[/green] (role {issued.operator.role})")
        console.print("token (shown this once; it cannot be read back, revoke and create another if lost):")
        print(issued.token)
        console.print("use it as  Authorization: Bearer <token>  with the operator API, or for the CLI:")
        console.print(f"  export ORDERLOOP_OPERATOR_TOKEN={issued.token}", highlight=False)

    @commands.command("list")
    def list_(
        active: Annotated[bool, typer.Option("--active", help="leave out revoked credentials")] = False,
        as_json: Annotated[bool, typer.Option("--json")] = False,
    ) -> None:
        """Every credential by name: role, created, last used, revoked."""
        rows = _run(console, lambda ledger: ledger.list_operators(include_revoked=not active))
        if as_json:
            print(json.dumps([row.model_dump(mode="json") for row in rows], indent=2))
            return
        table = Table(title="operators")
        for column in ("name", "role", "created", "last used", "revoked"):
            table.add_column(column)
        for row in rows:
            table.add_row(
                row.name,
                row.role,
                f"{row.created_at:%Y-%m-%d %H:%M}",
                f"{row.last_used_at:%Y-%m-%d %H:%M}" if row.last_used_at else "-",
                f"[red]{row.revoked_at:%Y-%m-%d %H:%M}[/red]" if row.revoked_at else "-",
            )
        console.print(table)

    @commands.command("revoke")
    def revoke(name: str) -> None:
        """Revoke a credential: its token is refused (401 "revoked") from the next request on."""
        row = _run(console, lambda ledger: ledger.revoke_operator(name))
        assert row.revoked_at is not None
        console.print(f"[yellow]operator {row.name} revoked[/yellow] at {row.revoked_at:%Y-%m-%d %H:%M:%S} UTC")

    return commands
