"""`orderloop returns list|show|authorise|reject|receive|close`: returns through the gateway's
operator API (the same validated updates as the HTTP API)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from orderloop.returns_model import ReturnCondition

Api = Callable[..., Any]


def parse_units(specs: list[str]) -> list[dict[str, Any]]:
    """`SKU:QUANTITY:CONDITION` -> a received line (`TSHIRT-BLK-M:1:damaged`)."""
    lines = []
    for spec in specs:
        parts = spec.rsplit(":", 2)
        if len(parts) != 3 or not parts[1].isdigit() or parts[2] not in set(ReturnCondition):
            raise typer.BadParameter(
                f"{spec!r}: use SKU:QUANTITY:CONDITION, the condition one of {', '.join(ReturnCondition)}"
            )
        lines.append({"sku": parts[0], "quantity": int(parts[1]), "condition": parts[2]})
    return lines


def returns_commands(api: Api, console: Console) -> typer.Typer:
    app = typer.Typer(help="Find, inspect and resolve returns (through the gateway's operator API).")

    @app.command("list")
    def returns_list(
        channel: str | None = None,
        status: str | None = None,
        limit: int = 50,
        as_json: Annotated[bool, typer.Option("--json")] = False,
    ) -> None:
        """Returns, newest first (the ledger's records), by channel or status."""
        data = api("GET", "/api/returns", params={"channel": channel, "status": status, "limit": limit})
        if as_json:
            print(json.dumps(data, indent=2))
            return
        table = Table(title=f"{data['count']} return(s)")
        for column in ("return", "status", "order", "location", "lines", "reason"):
            table.add_column(column)
        for row in data["returns"]:
            lines = ", ".join(f"{line['quantity']} {line['sku']}" for line in row["lines"])
            table.add_row(
                row["returnId"],
                row["status"],
                row["orderId"] or "(unknown order)",
                row["locationId"] or "",
                lines,
                row["reason"] or "",
            )
        console.print(table)

    @app.command("show")
    def returns_show(channel: str, return_id: str, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
        """One return: status, its order and shipments, label, receipt, exceptions, timeline."""
        view = api("GET", f"/api/returns/{channel}/{return_id}")
        if as_json:
            print(json.dumps(view, indent=2))
            return
        console.print(f"[bold]{view['workflowId']}[/bold]  status [cyan]{view['status']}[/cyan]")
        console.print(f"  order {view.get('orderWorkflowId') or '(never received by Orderloop)'}")
        console.print(
            f"  shipments {', '.join(view.get('shipmentIds') or []) or '-'}; receiving at {view.get('locationId')}"
        )
        request = view.get("request") or {}
        for line in request.get("returnLineItems", []):
            console.print(
                f"  line {line['orderLineItemId']}: {line['quantityReturned']} {line['sku']} ({line['returnReason']})"
            )
        if view.get("label"):
            console.print(f"  label {view['label']['carrier']} {view['label']['trackingNumber']}")
        for unit in (view.get("receipt") or {}).get("lines", []):
            console.print(f"  received {unit['quantity']} {unit['sku']} {unit['condition']}")
        if view.get("exchangeOrderId"):
            console.print(f"  exchange order {view['exchangeOrderId']}")
        for exc in view.get("exceptions", []):
            state = "resolved: " + exc["resolution"] if exc.get("resolvedAt") else "OPEN"
            console.print(f"  [yellow]exception {exc['kind']}[/yellow]: {exc['message']} ({state})")
        if view.get("actions"):
            console.print(f"  possible now: {', '.join(view['actions'])}")
        console.print("  timeline:")
        for entry in view.get("timeline", []):
            detail = f": {entry['detail']}" if entry.get("detail") else ""
            console.print(f"    {entry['at']}  {entry['event']}{detail}")

    def act(channel: str, return_id: str, action: str, body: dict[str, Any]) -> None:
        result = api("POST", f"/api/returns/{channel}/{return_id}/{action}", body=body)
        console.print(f"[green]{action}:[/green] {result['message']} (status now {result['view']['status']})")

    @app.command("authorise")
    def returns_authorise(channel: str, return_id: str, note: str | None = None) -> None:
        """Authorise a return waiting for review (or one for an order Orderloop never saw)."""
        act(channel, return_id, "authorise", {"note": note})

    @app.command("reject")
    def returns_reject(channel: str, return_id: str, reason: str = "rejected by an operator") -> None:
        """Reject a return."""
        act(channel, return_id, "reject", {"reason": reason})

    @app.command("receive")
    def returns_receive(
        channel: str,
        return_id: str,
        unit: Annotated[list[str], typer.Option(help="SKU:QUANTITY:CONDITION received (repeatable)")],
        location: str | None = None,
    ) -> None:
        """Receive a return by hand, or correct a receipt that did not match."""
        act(channel, return_id, "receive", {"lines": parse_units(unit), "locationId": location})

    @app.command("close")
    def returns_close(channel: str, return_id: str, reason: str = "closed by an operator") -> None:
        """Close a return (a receipt on hold is accepted as it is and refunded)."""
        act(channel, return_id, "close", {"reason": reason})

    return app
