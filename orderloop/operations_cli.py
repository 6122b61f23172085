"""`orderloop channels report [CHANNEL] --since 30d [--json]`, `orderloop channels flow CHANNEL`
and `orderloop channels golive report CHANNEL`: the operations record read from the ledger
database (ORDERLOOP_DATABASE_URL) with the configuration file, as rich tables or, with
`--json`, the operator API's JSON (docs/operations-report.md)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from orderloop.channel_flow import flow
from orderloop.channel_report import ChannelFigures, ReportError, figures, parse_since, report_json
from orderloop.config import OrderloopConfig
from orderloop.golive import GoLiveError
from orderloop.golive_cli import ConfigOption, _fail, _run
from orderloop.ledger import Ledger
from orderloop.model import ConnectorRole
from orderloop.readiness import Readiness, readiness

SinceOption = Annotated[str, typer.Option("--since", help="period: 30d, 48h, 90m or an ISO timestamp")]
JsonOption = Annotated[bool, typer.Option("--json", help="the operator API's JSON")]


def _selling(config: OrderloopConfig, channel: str | None) -> list[str]:
    ids = [c.id for c in config.channels_with_role(ConnectorRole.SELLING)]
    if channel is not None and channel not in ids:
        raise GoLiveError(f"no selling channel {channel!r} (selling channels: {', '.join(ids)})")
    return ids if channel is None else [channel]


def _period(console: Console, since: str) -> tuple[datetime, datetime]:
    until = datetime.now(UTC)
    try:
        return parse_since(since, until), until
    except ReportError as exc:
        _fail(console, str(exc))
        raise  # unreachable: _fail exits


def _opt(value: Any, fmt: str = "{:.1f}") -> str:
    return "-" if value is None else fmt.format(value)


def _duration(seconds: float | None) -> str:
    """Seconds as an operator reads them: 4.2 s, 12.5 min, 3.1 h, 2.0 d."""
    if seconds is None:
        return "-"
    for limit, unit, size in ((120, "s", 1), (7200, "min", 60), (172800, "h", 3600)):
        if seconds < limit:
            return f"{seconds / size:.1f} {unit}"
    return f"{seconds / 86400:.1f} d"


def _print_report(console: Console, body: dict[str, Any]) -> None:
    rows = [
        ("orders", lambda c: str(c["orders"])),
        ("units", lambda c: str(c["units"])),
        (f"revenue ({body['currency']})", lambda c: c["revenue"]),
        ("exceptions / 100", lambda c: f"{c['exceptionsPer100']:.1f} ({c['exceptions']})"),
        ("automation rate", lambda c: _opt(c["automationRate"], "{:.0%}")),
        ("operator touches / 100", lambda c: f"{c['operatorTouchesPer100']:.1f} ({c['operatorTouches']})"),
        ("operator minutes", lambda c: f"{c['operatorMinutes']:.1f}"),
        ("raise to resolve p50", lambda c: _duration(c["raiseToResolveP50Seconds"])),
        ("reroutes manual / auto", lambda c: f"{c['manualReroutes']} / {c['automaticReroutes']}"),
        ("time to ship p50", lambda c: _duration(c["timeToShipP50Seconds"])),
        ("time to ship p95", lambda c: _duration(c["timeToShipP95Seconds"])),
        ("SLA breaches", lambda c: str(c["slaBreaches"])),
        ("push latency p99 (s)", lambda c: _opt(c["pushLatencyP99Seconds"], "{:.2f}")),
        (f"cost / order ({body['currency']})", lambda c: c["costPerOrder"] or "-"),
        ("cost share of revenue", lambda c: _opt(c["costShareOfRevenue"], "{:.2%}")),
    ]
    table = Table(title=f"channels {body['since'][:16]} .. {body['until'][:16]} (operator hour {body['hourlyCost']})")
    table.add_column("figure")
    for channel in body["channels"]:
        table.add_column(channel["channel"], justify="right", overflow="fold")
    for name, cell in rows:
        table.add_row(name, *[cell(c) for c in body["channels"]])
    console.print(table)
    kinds = sorted({k for c in body["channels"] for k in c["exceptionsByKind"]})
    if kinds:
        by_kind = Table(title="exceptions per 100 orders by kind")
        by_kind.add_column("kind")
        for channel in body["channels"]:
            by_kind.add_column(channel["channel"], justify="right")
        for kind in kinds:
            cells = []
            for c in body["channels"]:
                found = c["exceptionsByKind"].get(kind)
                cells.append("-" if found is None else f"{found['per100']:.1f} ({found['count']})")
            by_kind.add_row(kind, *cells)
        console.print(by_kind)


def _print_readiness(console: Console, verdict: Readiness) -> None:
    f = verdict.figures
    since = verdict.monitoring_since.isoformat(timespec="minutes") if verdict.monitoring_since else "-"
    console.print(
        f"channel {verdict.channel}: stage {verdict.stage}, monitored since {since} "
        f"(window {verdict.window_hours:g} h); {f.orders} orders, {f.units} units"
    )
    table = Table(title="readiness criteria")
    for name in ("criterion", "value", "threshold", "", "detail"):
        table.add_column(name, overflow="fold")
    for c in verdict.criteria:
        mark = "[green]pass[/green]" if c.passed else "[red]FAIL[/red]"
        table.add_row(c.name, _opt(c.value, "{:g}"), f"{c.threshold:g}", mark, c.detail)
    console.print(table)
    if verdict.ready:
        console.print("[green]ready[/green]: every criterion passes; expand with `orderloop channels golive expand`")
    else:
        failing = ", ".join(f"{c.name} {_opt(c.value, '{:g}')} (threshold {c.threshold:g})" for c in verdict.failing)
        console.print(f"[red]not ready[/red]: {failing}")


def report_commands(console: Console, channels_app: typer.Typer, golive_app: typer.Typer) -> None:
    """Add `report` and `flow` to `orderloop channels`, and `report` to its `golive`."""

    @channels_app.command("report")
    def report_cmd(
        channel: Annotated[str | None, typer.Argument(help="one selling channel (default: all)")] = None,
        since: SinceOption = "30d",
        as_json: JsonOption = False,
        config: ConfigOption = None,
    ) -> None:
        """What each channel costs to run: orders, exceptions, operator time and cost, shipping."""
        start, until = _period(console, since)

        async def read(ledger: Ledger, cfg: OrderloopConfig) -> dict[str, Any]:
            ids = _selling(cfg, channel)
            rows = await ledger.operations_between(start, until, ids)
            return report_json(rows, cfg.operations, ids, start, until)

        body = _run(console, config, read)
        if as_json:
            console.print_json(json.dumps(body))
        else:
            _print_report(console, body)

    @channels_app.command("flow")
    def flow_cmd(
        channel: str, since: SinceOption = "30d", as_json: JsonOption = False, config: ConfigOption = None
    ) -> None:
        """Every handoff of the channel as configured, next to its measured counts."""
        start, until = _period(console, since)

        async def read(ledger: Ledger, cfg: OrderloopConfig) -> list[dict[str, Any]]:
            _selling(cfg, channel)
            rows = await ledger.operations_between(start, until, [channel])
            found = figures(rows, cfg.operations).get(channel) or ChannelFigures(channel)
            return [step.json() for step in flow(cfg, channel, found)]

        steps = _run(console, config, read)
        if as_json:
            console.print_json(json.dumps({"channel": channel, "since": start.isoformat(), "steps": steps}))
            return
        table = Table(title=f"flow of {channel} since {start.isoformat(timespec='minutes')}")
        for name in ("step", "configured", "measured", "who"):
            table.add_column(name, overflow="fold")
        for step in steps:
            person = step["actor"] == "person" or step["manual"]
            who = f"[red]person ({step['manual']})[/red]" if person else "system"
            table.add_row(step["step"], step["configured"], step["measured"], who)
        console.print(table)

    @golive_app.command("report")
    def readiness_cmd(channel: str, as_json: JsonOption = False, config: ConfigOption = None) -> None:
        """The readiness verdict after the monitoring window: each criterion against its threshold."""

        async def read(ledger: Ledger, cfg: OrderloopConfig) -> Readiness:
            return await readiness(ledger, cfg, channel, datetime.now(UTC))

        verdict = _run(console, config, read)
        if as_json:
            console.print_json(json.dumps(verdict.json()))
        else:
            _print_readiness(console, verdict)
        if not verdict.ready:
            raise typer.Exit(1)
