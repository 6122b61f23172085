"""`orderloop temporal setup`: prepare a Temporal namespace for Orderloop (see
`orderloop.temporal_setup`), for a server Orderloop does not embed (the production compose file
runs it as a job the gateway and workers wait for)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Annotated

import typer
from rich.console import Console

from orderloop.settings import get_settings
from orderloop.temporal_setup import SetupError, prepare_namespace


def temporal_commands(console: Console) -> typer.Typer:
    app = typer.Typer(help="The Temporal server Orderloop runs on (when it is not the embedded one).")

    @app.command("setup")
    def setup(
        address: Annotated[str | None, typer.Option(help="default: ORDERLOOP_TEMPORAL_ADDRESS")] = None,
        namespace: Annotated[str | None, typer.Option(help="default: ORDERLOOP_NAMESPACE")] = None,
        retention_days: Annotated[int, typer.Option(min=1, help="how long closed orders stay in Temporal")] = 30,
        create_namespace: Annotated[bool, typer.Option(help="create the namespace when it does not exist")] = False,
        timeout: Annotated[float, typer.Option(min=1, help="seconds to keep retrying before giving up")] = 300,
    ) -> None:
        """Wait for the server and the namespace, register Orderloop's search attributes, set the
        retention; exits 0 once all is done (repeatable), 1 after --timeout."""
        settings = get_settings()
        target = address or settings.temporal_address
        name = namespace or settings.namespace
        console.print(f"preparing namespace {name} on {target}")
        try:
            report = asyncio.run(
                prepare_namespace(
                    target,
                    name,
                    retention=timedelta(days=retention_days),
                    create=create_namespace,
                    timeout=timeout,
                    progress=console.print,
                )
            )
        except SetupError as exc:
            console.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(1) from None
        added = ", ".join(report.registered) or "none (all were there)"
        created = " (created)" if report.created else ""
        console.print(f"namespace {name}{created}: search attributes added: {added}; retention {retention_days} days")

    return app
