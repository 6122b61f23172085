"""`orderloop exchanges list|show|rerun`: the exchange log through the gateway's operator API
(GET /api/exchanges, GET /api/exchanges/{id}, POST /api/exchanges/{id}/rerun)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

Api = Callable[..., Any]


def exchanges_commands(api: Api, console: Console) -> typer.Typer:
    app = typer.Typer(help="Every vendor call, poll and webhook per channel, with the answer (operator API).")

    @app.command("list")
    def exchanges_list(
        channel: str | None = None,
        order: Annotated[str | None, typer.Option(help="order workflow id, or external id with --channel")] = None,
        direction: Annotated[str | None, typer.Option(help="inbound or outbound")] = None,
        status: Annotated[str | None, typer.Option(help="ok or failed")] = None,
        since: Annotated[str, typer.Option(help="30d, 48h, 90m or an ISO timestamp")] = "30d",
        until: Annotated[str | None, typer.Option(help="30d, 48h, 90m or an ISO timestamp")] = None,
        limit: int = 50,
        as_json: Annotated[bool, typer.Option("--json")] = False,
    ) -> None:
        """The exchange log, newest first."""
        params = {
            "channel": channel,
            "order": order,
            "direction": direction,
            "status": status,
            "since": since,
            "until": until,
            "limit": limit,
        }
        data = api("GET", "/api/exchanges", params=params)
        if as_json:
            print(json.dumps(data, indent=2))
            return
        totals = data["totals"]
        table = Table(title=f"{data['count']} shown; {totals['ok']} ok, {totals['failed']} failed in the period")
        for column in ("id", "at", "dir", "channel", "order", "operation", "status", "try", "ms", "what"):
            table.add_column(column)
        for row in data["exchanges"]:
            status_text = f"{row['statusCode'] or '-'} {row['status']}"
            table.add_row(
                str(row["id"]),
                row["at"],
                row["direction"],
                row["channel"],
                row["orderId"] or "",
                row["operation"],
                f"[red]{status_text}[/red]" if row["status"] == "failed" else status_text,
                str(row["attempt"]),
                str(row["durationMs"]),
                escape(row["error"] or row["summary"]),
            )
        console.print(table)

    @app.command("show")
    def exchanges_show(exchange_id: int, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
        """One exchange with the bodies sent and received (personal data redacted)."""
        row = api("GET", f"/api/exchanges/{exchange_id}")
        if as_json:
            print(json.dumps(row, indent=2))
            return
        console.print(f"[bold]exchange {row['id']}[/bold]  {row['direction']} {row['channel']}  {row['at']}")
        console.print(f"  {escape(row['summary'])}: {row['method'] or ''} {row['target'] or ''}", highlight=False)
        console.print(
            f"  status {row['statusCode'] or 'no answer'} ({row['status']}), attempt {row['attempt']}, "
            f"{row['durationMs']} ms"
        )
        if row["orderId"]:
            console.print(f"  order {row['orderId']}  {row['orderUiUrl']}")
        if row["error"]:
            console.print(f"  [red]error:[/red] {escape(row['error'])}")
        if row["rerunAt"]:
            console.print(f"  re-run by {row['rerunBy']} at {row['rerunAt']}")
        elif row["rerunRefusal"]:
            console.print(f"  not re-runnable: {escape(row['rerunRefusal'])}")
        for name in ("request", "response"):
            console.print(f"  {name}:")
            console.print(escape(json.dumps(row[name], indent=2)), highlight=False)

    @app.command("rerun")
    def exchanges_rerun(exchange_id: int) -> None:
        """Re-run a failed outbound call: its order retries the step (the operator `retry`)."""
        result = api("POST", f"/api/exchanges/{exchange_id}/rerun")
        console.print(
            f"[green]re-run[/green] exchange {result['exchange']}: {escape(result['message'])} "
            f"(order {result['orderId']} now {result['orderStatus']})"
        )

    return app
