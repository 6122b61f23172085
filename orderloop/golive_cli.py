"""`orderloop channels golive`: plan, expand and show a selling channel's go-live rollout
(docs/golive.md). Like `orderloop operators`, these work on the ledger database
(ORDERLOOP_DATABASE_URL) and the configuration file; a stored change is audited under
`--operator` or the OS user."""

from __future__ import annotations

import asyncio
import getpass
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from orderloop.config import ConfigError, OrderloopConfig, load_config
from orderloop.golive import GoLiveError, GoLivePlan, channel_rollout, expand, parse_share, plan, selling_channel
from orderloop.ledger import Ledger, LedgerError, RolloutChange, RolloutRow
from orderloop.settings import get_settings

T = TypeVar("T")

ConfigOption = Annotated[Path | None, typer.Option("--config", "-c", help="configuration file")]
TopOption = Annotated[str | None, typer.Option("--top", help="share of the catalogue by velocity, e.g. 20%")]
OperatorOption = Annotated[str | None, typer.Option(help="who makes the change (default: the OS user)")]
YesOption = Annotated[bool, typer.Option("--yes", "-y", help="store it without asking")]
DaysOption = Annotated[
    float, typer.Option("--window-days", min=0.01, max=3650, help="velocity window in days (at most ten years)")
]


def _fail(console: Console, message: str) -> None:
    console.print(f"[red]error:[/red] {message}")
    raise typer.Exit(2)


def _run(console: Console, config_path: Path | None, work: Callable[[Ledger, OrderloopConfig], Awaitable[T]]) -> T:
    settings = get_settings()
    try:
        config = load_config(config_path or settings.config)
    except ConfigError as exc:
        _fail(console, str(exc))

    async def run() -> T:
        ledger = await Ledger.open(settings.database_url)
        try:
            return await work(ledger, config)
        finally:
            await ledger.close()

    try:
        return asyncio.run(run())
    except (GoLiveError, LedgerError) as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None


def _print_plan(console: Console, result: GoLivePlan, title: str) -> None:
    table = Table(title=title)
    for name in ("#", "SKU", "units/day", "stock", "share of units"):
        table.add_column(name, justify="left" if name == "SKU" else "right", overflow="fold")
    for i, row in enumerate(result.tranche, 1):
        table.add_row(str(i), row.sku, f"{row.velocity:.2f}", str(row.stock), f"{row.share:.1%}")
    console.print(table)
    covered = sum(r.share for r in result.tranche)
    console.print(
        f"{len(result.skus)} of {result.catalogue} SKUs, {covered:.1%} of the units reserved over "
        f"{result.window_days:g} days; stage {result.stage}"
    )


def _confirm_and_store(
    console: Console,
    config_path: Path | None,
    yes: bool,
    operator: str | None,
    step: Callable[[Ledger, OrderloopConfig, str | None], Awaitable[GoLivePlan]],
    title: str,
) -> None:
    proposal = _run(console, config_path, lambda ledger, config: step(ledger, config, None))
    _print_plan(console, proposal, title)
    if not yes and not typer.confirm("Store this rollout?", default=False):
        console.print("not stored")
        raise typer.Exit(1)
    who = operator or getpass.getuser()
    stored = _run(console, config_path, lambda ledger, config: step(ledger, config, who))
    if stored.change is None:
        console.print("unchanged: the rollout already is this")
    else:
        console.print(f"stored: stage {stored.stage}, {len(stored.skus)} SKUs, by {who}")


def golive_commands(console: Console) -> typer.Typer:
    commands = typer.Typer(help="Incremental go-live: a selling channel's rollout (the ledger database).")

    @commands.command("plan")
    def plan_cmd(
        channel: str,
        top: TopOption = "20%",
        window_days: DaysOption = 30,
        operator: OperatorOption = None,
        yes: YesOption = False,
        config: ConfigOption = None,
    ) -> None:
        """Rank the catalogue by velocity and store its top share as the channel's first tranche."""
        try:
            share = parse_share(top or "20%")
        except GoLiveError as exc:
            _fail(console, str(exc))
        now, window = datetime.now(UTC), timedelta(days=window_days)
        _confirm_and_store(
            console,
            config,
            yes,
            operator,
            lambda ledger, cfg, who: plan(ledger, cfg, channel, share, now, who, window),
            f"go-live plan for {channel}: top {share:.0%}",
        )

    @commands.command("expand")
    def expand_cmd(
        channel: str,
        top: TopOption = None,
        all_skus: Annotated[bool, typer.Option("--all", help="every SKU (stage full)")] = False,
        window_days: DaysOption = 30,
        operator: OperatorOption = None,
        yes: YesOption = False,
        config: ConfigOption = None,
    ) -> None:
        """Widen the rollout to the top share (the SKUs live stay) or, with --all, to every SKU."""
        if all_skus == (top is not None):
            _fail(console, "give either --top N% or --all")
        try:
            share = None if all_skus else parse_share(top or "")
        except GoLiveError as exc:
            _fail(console, str(exc))
        now, window = datetime.now(UTC), timedelta(days=window_days)
        _confirm_and_store(
            console,
            config,
            yes,
            operator,
            lambda ledger, cfg, who: expand(ledger, cfg, channel, share, now, who, window),
            f"go-live expansion for {channel}: " + ("every SKU" if share is None else f"top {share:.0%}"),
        )

    @commands.command("show")
    def show_cmd(
        channel: str, config: ConfigOption = None, as_json: Annotated[bool, typer.Option("--json")] = False
    ) -> None:
        """The channel's stage, its SKUs and the audit of every change."""

        async def read(ledger: Ledger, cfg: OrderloopConfig) -> tuple[RolloutRow, list[RolloutChange]]:
            found = await channel_rollout(ledger, selling_channel(cfg, channel))
            return found, await ledger.rollout_changes(found.channel_id)

        rollout, changes = _run(console, config, read)
        if as_json:
            payload = {
                "rollout": rollout.model_dump(mode="json"),
                "changes": [c.model_dump(mode="json") for c in changes],
            }
            console.print_json(json.dumps(payload))
            return
        console.print(f"channel {channel}: stage {rollout.stage}")
        skus = rollout.skus
        console.print("SKUs: " + (", ".join(skus) if skus else "(none listed)"))
        table = Table(title="changes")
        for name in ("when", "who", "action", "stage", "added", "removed"):
            table.add_column(name, overflow="fold")  # whole names and SKUs, however narrow the terminal
        for c in changes:
            table.add_row(
                c.at.isoformat(timespec="seconds"),
                c.operator,
                c.action,
                f"{c.stage_before or '-'} -> {c.stage_after}",
                ", ".join(c.added) or "-",
                ", ".join(c.removed) or "-",
            )
        console.print(table)

    return commands
