"""The `orderloop` command: run the embedded stack, drive demo orders, and operate on orders
and returns (`orderloop/returns_cli.py`).

Order commands talk to the gateway's operator API (ORDERLOOP_GATEWAY_URL, and the operator's
token ORDERLOOP_OPERATOR_TOKEN, else the shared ORDERLOOP_API_TOKEN), so the CLI, the HTTP API and
the Temporal UI all act through the same validated updates, and an action is recorded as the
token's operator's. `orderloop operators` (orderloop/operators_cli.py) manages the credentials."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from orderloop.config import ConfigError, load_config
from orderloop.demo import DemoSummary, run_demo
from orderloop.demo_returns import return_demo_orders
from orderloop.devserver import DevServerError
from orderloop.exchanges_cli import exchanges_commands
from orderloop.golive_cli import golive_commands
from orderloop.operations_cli import report_commands
from orderloop.operators_cli import operators_commands
from orderloop.payload_keys import PayloadKeyError
from orderloop.returns_cli import returns_commands
from orderloop.routing.trace import stored_trace_lines
from orderloop.routing_cli import route as route_command
from orderloop.settings import get_settings
from orderloop.stack import Stack, check_connector_types
from orderloop.temporal_setup_cli import temporal_commands

app = typer.Typer(help="Orderloop: every order a durable workflow, from channel to 3PL and back.", no_args_is_help=True)
orders_app = typer.Typer(help="Find, inspect and resolve orders (through the gateway's operator API).")
app.add_typer(orders_app, name="orders")
inventory_app = typer.Typer(help="Stock per location and what each selling channel is told (operator API).")
app.add_typer(inventory_app, name="inventory")
edi_app = typer.Typer(help="EDI partners: the interchanges they sent, the rejected ones first of all (operator API).")
app.add_typer(edi_app, name="edi")
notices_app = typer.Typer(help="Exception notices per sink: pending, delivered, dead-lettered (operator API).")
app.add_typer(notices_app, name="notices")
console = Console(soft_wrap=True)  # long messages (paths, reasons) stay whole for copying and grep

ConfigOption = Annotated[Path, typer.Option("--config", "-c", help="configuration file")]
UI_URL = "http://localhost:8233"


def _default_config() -> Path:
    return Path(get_settings().config)


def _fail(message: str, code: int = 2) -> None:
    console.print(f"[red]error:[/red] {message}")
    raise typer.Exit(code)


@app.command()
def up(
    config: ConfigOption = _default_config(),
    temporal_address: Annotated[
        str | None, typer.Option(help="use this Temporal server instead of starting the embedded one")
    ] = None,
    demo_orders: Annotated[int, typer.Option(help="drive this many demo orders once the stack is up")] = 0,
    gateway_port: int = 8000,
    ui: Annotated[bool, typer.Option(help="serve the Temporal Web UI on :8233")] = True,
    knob: Annotated[
        list[str] | None, typer.Option(help="sandbox knob channel.name=value, e.g. wms.ship_delay=0.5")
    ] = None,
) -> None:
    """Start the Temporal dev server, the worker, the gateway and the sandbox channels; Ctrl-C stops them all."""
    stack = Stack(
        config_path=config,
        temporal_address=temporal_address,
        gateway_port=gateway_port,
        ui_port=8233 if ui else None,
        sandbox_knobs=knob or [],
    )

    async def run() -> None:
        cfg = await stack.start()
        console.print(f"[green]Orderloop is up[/green] (logs in {stack.logs_dir}/)")
        console.print(f"  gateway      {stack.gateway_url}   (OpenAPI: {stack.gateway_url}/docs)")
        if not temporal_address:
            console.print(f"  Temporal UI  {UI_URL}   (server {stack.address}; codec server {stack.codec_endpoint})")
        if stack.payload_key_file:
            console.print(f"  payload keys {stack.payload_key_file}   (local key file: back it up, keep it private)")
        for channel in cfg.channels:
            where = channel.base_url if channel.sandbox_url is None else f"{channel.base_url} ({channel.sandbox_url})"
            console.print(f"  sandbox      {channel.id:<12} {where}   ({channel.type}, {channel.role})")
        if demo_orders:
            token = get_settings().api_token
            summary = await run_demo(cfg, stack.gateway_url, token, demo_orders)
            # A few shipped orders come back as returns (received, restocked, the channel told).
            summary.returns = await return_demo_orders(cfg, stack.gateway_url, token, sorted(summary.completed))
            print_summary(summary)
        console.print("Stack running; press Ctrl-C to stop.")
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()

    try:
        asyncio.run(run())
    except (ConfigError, DevServerError, PayloadKeyError, RuntimeError) as exc:
        console.print(f"[red]error:[/red] {exc}")
        stack.stop()
        raise typer.Exit(2) from None
    finally:
        console.print("stopping...")
        stack.stop()


@app.command()
def demo(
    orders: Annotated[int, typer.Option(help="how many orders to place")] = 20,
    config: ConfigOption = _default_config(),
    channel: Annotated[
        list[str] | None, typer.Option(help="place orders on this channel (repeatable); default: every selling one")
    ] = None,
    gateway_url: Annotated[str | None, typer.Option(help="default: ORDERLOOP_GATEWAY_HOST/PORT")] = None,
    seed: int | None = None,
) -> None:
    """Place orders on the selling channels' sandboxes and follow them to completion or exception."""
    settings = get_settings()
    try:
        cfg = load_config(config)
    except ConfigError as exc:
        _fail(str(exc))
        return
    url = gateway_url or f"http://{settings.gateway_host}:{settings.gateway_port}"
    summary = asyncio.run(run_demo(cfg, url, settings.api_token, orders, channel_ids=channel, seed=seed))
    print_summary(summary)
    if summary.unfinished:
        raise typer.Exit(1)


def print_summary(summary: DemoSummary) -> None:
    table = Table(title=f"Demo: {summary.sent} orders in {summary.seconds:.1f}s")
    table.add_column("outcome")
    table.add_column("orders", justify="right")
    for status, count in sorted(summary.statuses.items()):
        table.add_row(status, str(count))
    for kind, count in sorted(summary.exceptions.items()):
        table.add_row(f"  exception: {kind}", str(count))
    for channel, count in sorted(summary.channels.items()):
        table.add_row(f"  from {channel}", str(count))
    if summary.unfinished:
        table.add_row("[yellow]still in progress[/yellow]", str(len(summary.unfinished)))
    for status, count in sorted(summary.returns.items()):
        table.add_row(f"returned, return {status}", str(count))
    console.print(table)
    p50, p95 = summary.percentile(50), summary.percentile(95)
    if p50 is not None and p95 is not None:
        console.print(f"ingest-to-shipped latency (tracking pushed): p50 {p50:.2f}s, p95 {p95:.2f}s")
    console.print(
        f"Browse them in the Temporal UI: {UI_URL}/namespaces/default/workflows?query=WorkflowType%3D%27Order%27"
    )


@app.command("check-config")
def check_config(config: ConfigOption = _default_config()) -> None:
    """Validate the configuration file and say what it declares."""
    try:
        cfg = load_config(config)
        check_connector_types(config)
    except ConfigError as exc:
        _fail(str(exc))
        return
    console.print(
        f"[green]{config} is valid:[/green] {len(cfg.channels)} channel(s), {len(cfg.locations)} location(s), "
        f"{len(cfg.routing.rules)} routing rule(s)"
    )


# --- orders ------------------------------------------------------------------------------------


def _api(method: str, path: str, body: dict[str, Any] | None = None, params: dict[str, Any] | None = None) -> Any:
    settings = get_settings()
    base = os.environ.get("ORDERLOOP_GATEWAY_URL", f"http://{settings.gateway_host}:{settings.gateway_port}")
    try:
        response = httpx.request(
            method,
            f"{base}{path}",
            json=body,
            params={k: v for k, v in (params or {}).items() if v is not None},
            headers={"Authorization": f"Bearer {settings.operator_token or settings.api_token}"},
            timeout=60,
        )
    except httpx.HTTPError as exc:
        _fail(f"cannot reach the gateway at {base}: {exc} (is `orderloop up` running?)")
    data = response.json() if response.content else None
    if response.status_code >= 400:
        message = data.get("error") if isinstance(data, dict) and "error" in data else data
        hint = data.get("hint") if isinstance(data, dict) else None
        _fail(f"{response.status_code}: {message}" + (f" ({hint})" if hint else ""), 1)
    return data


@orders_app.command("list")
def orders_list(
    status: str | None = None,
    channel: str | None = None,
    exception: str | None = None,
    location: str | None = None,
    limit: int = 50,
) -> None:
    """Search orders by status, channel, exception kind or location (a split order under each)."""
    params = {"status": status, "channel": channel, "exception": exception, "location": location, "limit": limit}
    data = _api("GET", "/api/orders", params=params)
    table = Table(title=data["query"])
    for column in ("order", "status", "exception", "location", "started"):
        table.add_column(column)
    for row in data["orders"]:
        table.add_row(row["workflowId"], row["status"], row["exception"], row["location"] or "", row["startedAt"] or "")
    console.print(table)


@orders_app.command("show")
def orders_show(channel: str, external_id: str, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """One order: status, lines, allocation and its explanation, shipments, exceptions, timeline."""
    view = _api("GET", f"/api/orders/{channel}/{external_id}")
    if as_json:
        print(json.dumps(view, indent=2))
        return
    console.print(f"[bold]{view['workflowId']}[/bold]  status [cyan]{view['status']}[/cyan]")
    for line in view.get("lines", []):
        console.print(
            f"  line {line['lineId']}: {line['sku']} x{line['ordered']} "
            f"shipped {line['shipped']} cancelled {line['cancelled']}"
        )
    allocation = view.get("allocation")
    if allocation:
        console.print(f"  allocation (rule {escape(str(allocation.get('rule')))}):")
        for line in allocation.get("explanation", []):
            console.print(f"    {escape(line)}", highlight=False)
        trace = allocation.get("trace")
    else:
        # Not allocated: the routing trace of the last attempt travels in the open exception.
        pending = [e for e in view.get("exceptions", []) if not e.get("resolvedAt")]
        trace = (pending[-1].get("detail") or {}).get("trace") if pending else None
        if trace:
            console.print("  not allocated:")
    for line in stored_trace_lines(trace):
        console.print(f"    {escape(line)}", highlight=False)
    for request in view.get("shippingRequests", []):
        console.print(f"  request {request['request']['id']} -> {request['request']['locationId']}: {request['state']}")
    for shipment in view.get("shipments", []):
        console.print(f"  shipment {shipment['id']}: {', '.join(shipment.get('trackingNumbers', []))}")
    for exc in view.get("exceptions", []):
        state = "resolved: " + exc["resolution"] if exc.get("resolvedAt") else "OPEN"
        if exc.get("resolvedBy"):
            state += f" by {exc['resolvedBy']}"
        console.print(f"  [yellow]exception {exc['kind']}[/yellow]: {escape(exc['message'])} ({escape(state)})")
        if exc.get("playbook"):
            told = ", ".join(exc.get("notified") or []) or "nobody"
            review = f"; review required: {exc['reviewRequired']}" if exc.get("reviewRequired") else ""
            console.print(
                f"    playbook {exc['playbook']}: told {told}, {exc.get('escalations', 0)} escalation(s){review}"
            )
    console.print("  timeline:")
    for entry in view.get("timeline", []):
        console.print(f"    {entry['at']}  {entry['event']}" + (f": {entry['detail']}" if entry.get("detail") else ""))


@orders_app.command("held")
def orders_held(
    channel: str | None = None,
    status: Annotated[str, typer.Option(help="held (default), released, cancelled or all")] = "held",
    limit: int = 100,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Orders a channel holds back (not yet shippable, so never started), with the channel's
    reason and status, most recently seen first; `--status all` with those released (started
    since) and cancelled."""
    data = _api("GET", "/api/holds", params={"channel": channel, "status": status, "limit": limit})
    if as_json:
        print(json.dumps(data, indent=2))
        return
    table = Table(title="orders held by their channel")
    for column in ("channel", "order", "state", "channel status", "reason", "first seen", "last seen", "seen"):
        table.add_column(column)
    for row in data["holds"]:
        table.add_row(
            row["channel"],
            row["externalId"],
            row["state"],
            escape(row["channelStatus"]),
            escape(row["reason"]),
            row["firstSeenAt"],
            row["lastSeenAt"],
            str(row["timesSeen"]),
        )
    console.print(table)


@edi_app.command("interchanges")
def edi_interchanges(
    channel: str | None = None,
    status: Annotated[str | None, typer.Option(help="accepted, partial, rejected or unreadable")] = None,
    limit: int = 100,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Interchanges received from EDI partners, newest first, with what a rejection named (the
    997's AK3/AK4 errors, the TA1's note): `--status rejected` lists what started nothing."""
    params = {"channel": channel, "status": status, "limit": limit}
    rows = _api("GET", "/api/edi/interchanges", params={k: v for k, v in params.items() if v is not None})
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    table = Table(title="EDI interchanges")
    for column in ("channel", "received", "sender", "control", "file", "status", "detail"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            row["channel"],
            row["receivedAt"],
            row["sender"],
            row["controlNumber"],
            escape(row["file"]),
            row["status"],
            escape(row["detail"] or ""),
        )
    console.print(table)


@edi_app.command("documents")
def edi_documents(
    channel: str | None = None,
    status: Annotated[str | None, typer.Option(help="accepted, accepted_with_errors or rejected")] = None,
    overdue: Annotated[
        bool, typer.Option("--overdue", help="only those unacknowledged past the partner's acknowledgement_within")
    ] = False,
    limit: int = 100,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Documents sent to EDI partners (855, 856, 810) with the partner's 997 or TA1 answer, the
    rejected ones first with the codes the partner named; `--overdue` lists what is still
    unacknowledged past the partner's deadline."""
    params: dict[str, Any] = {"channel": channel, "status": status, "limit": limit}
    if overdue:
        params["overdue"] = "true"
    rows = _api("GET", "/api/edi/documents", params={k: v for k, v in params.items() if v is not None})
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    table = Table(title="EDI documents sent")
    for column in ("channel", "kind", "control", "key", "sent", "status", "codes", "detail"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            row["channel"],
            row["kind"],
            str(row["controlNumber"]),
            escape(row["key"]),
            row["sentAt"] or "not sent",
            row["status"],
            " ".join(row["codes"]),
            escape(row["detail"] or ""),
        )
    console.print(table)


@edi_app.command("acknowledgements")
def edi_acknowledgements(
    channel: str | None = None,
    unmatched: Annotated[bool, typer.Option("--unmatched", help="only those naming nothing Orderloop sent")] = False,
    limit: int = 100,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """997s and TA1s received from EDI partners, newest first; `--unmatched` lists those naming a
    group or interchange Orderloop never sent."""
    params: dict[str, Any] = {"channel": channel, "limit": limit}
    if unmatched:
        params["unmatched"] = "true"
    rows = _api("GET", "/api/edi/acknowledgements", params={k: v for k, v in params.items() if v is not None})
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    table = Table(title="EDI acknowledgements received")
    for column in ("channel", "received", "kind", "group", "status", "document", "detail"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            row["channel"],
            row["receivedAt"],
            row["kind"],
            row["groupControl"],
            row["status"],
            escape(row["document"] or "unmatched"),
            escape(row["detail"]),
        )
    console.print(table)


def _act(channel: str, external_id: str, action: str, body: dict[str, Any]) -> None:
    result = _api("POST", f"/api/orders/{channel}/{external_id}/{action}", body=body)
    console.print(f"[green]{action}:[/green] {result['message']} (status now {result['view']['status']})")


@orders_app.command("retry")
def orders_retry(channel: str, external_id: str, note: str | None = None) -> None:
    """Retry the step an order's exception stopped at."""
    _act(channel, external_id, "retry", {"note": note})


@orders_app.command("reroute")
def orders_reroute(channel: str, external_id: str, location: str) -> None:
    """Ship the order from another location."""
    _act(channel, external_id, "reroute", {"locationId": location})


@orders_app.command("cancel")
def orders_cancel(channel: str, external_id: str, reason: str = "cancelled by an operator") -> None:
    """Cancel the order (at the fulfillment channel too if it was sent)."""
    _act(channel, external_id, "cancel", {"reason": reason})


@orders_app.command("amend-address")
def orders_amend_address(channel: str, external_id: str, address_json: Path) -> None:
    """Replace the shipping address with the onX address in a JSON file."""
    _act(channel, external_id, "amend-address", {"address": json.loads(address_json.read_text())})


@orders_app.command("mark-shipped")
def orders_mark_shipped(
    channel: str,
    external_id: str,
    tracking: Annotated[list[str] | None, typer.Option(help="tracking number (repeatable)")] = None,
    carrier: str | None = None,
) -> None:
    """Record that the open lines shipped (tracking is pushed to the channel)."""
    _act(channel, external_id, "mark-shipped", {"trackingNumbers": tracking or [], "shippingCarrier": carrier})


app.add_typer(returns_commands(_api, console), name="returns")
app.add_typer(exchanges_commands(_api, console), name="exchanges")
app.add_typer(temporal_commands(console), name="temporal")
app.add_typer(operators_commands(console), name="operators")
channels_app = typer.Typer(
    help="Selling channels: go-live rollouts and readiness, operating report, flow audit (the ledger database)."
)
golive_app = golive_commands(console)
report_commands(console, channels_app, golive_app)
channels_app.add_typer(golive_app, name="golive")
app.add_typer(channels_app, name="channels")


# --- inventory ---------------------------------------------------------------------------------


@inventory_app.command("show")
def inventory_show(sku: str, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """One SKU: on hand, reserved and available per location; published quantity per channel."""
    data = _api("GET", f"/api/inventory/{sku}")
    if as_json:
        print(json.dumps(data, indent=2))
        return
    table = Table(title=f"{sku}: stock per location")
    for column in ("location", "on hand", "reserved", "available"):
        table.add_column(column, justify="right" if column != "location" else "left")
    for row in data["locations"]:
        table.add_row(row["location"], str(row["onHand"]), str(row["reserved"]), str(row["available"]))
    totals = data["totals"]
    table.add_row("[bold]all[/bold]", str(totals["onHand"]), str(totals["reserved"]), str(totals["available"]))
    console.print(table)
    channels = Table(title=f"{sku}: selling channels")
    for column in ("channel", "available to sell", "published", "pushed at", "in sync"):
        channels.add_column(column)
    for row in data["channels"]:
        sync = {True: "[green]yes[/green]", False: "[yellow]no[/yellow]", None: "-"}[row["inSync"]]
        ats = str(row["availableToSell"]) if row["rolledOut"] else "not rolled out"
        published = "-" if row["published"] is None else str(row["published"])
        channels.add_row(row["channel"], ats, published, row["pushedAt"] or "-", sync)
    console.print(channels)


@inventory_app.command("preview")
def inventory_preview(
    channel: str,
    sku: Annotated[list[str] | None, typer.Option(help="only this SKU (repeatable)")] = None,
    limit: int = 1000,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """What CHANNEL would receive for each SKU under its rules (buffer, percent, maximum, floor, rollout)."""
    data = _api("GET", f"/api/inventory/channels/{channel}/preview", params={"sku": sku, "limit": limit})
    if as_json:
        print(json.dumps(data, indent=2))
        return
    rules = ", ".join(f"{k}={v}" for k, v in data["rules"].items() if v not in (None, 0, 100))
    table = Table(title=f"{channel}: available to sell" + (f" ({rules})" if rules else ""))
    for column in ("sku", "would publish", "published now"):
        table.add_column(column)
    for row in data["skus"]:
        would = str(row["wouldPublish"]) if row["rolledOut"] else "not rolled out"
        table.add_row(row["sku"], would, "-" if row["published"] is None else str(row["published"]))
    console.print(table)
    if data["truncated"]:
        console.print(f"[yellow]first {data['count']} SKUs shown; raise --limit for more[/yellow]")


# --- notices -----------------------------------------------------------------------------------


@notices_app.command("list")
def notices_list(
    status: Annotated[str | None, typer.Option(help="pending, delivered or dead")] = None,
    limit: int = 100,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """The notices the playbooks sent to their sinks, newest first; `--status dead` for dead letters."""
    data = _api("GET", "/api/notices", params={"status": status, "limit": limit})
    if as_json:
        print(json.dumps(data, indent=2))
        return
    table = Table(title="notices")
    for column in ("id", "sink", "order", "kind", "level", "status", "attempts", "last error"):
        table.add_column(column)
    for row in data["notices"]:
        table.add_row(
            str(row["id"]),
            row["sink"],
            row["workflowId"],
            row["kind"],
            row["level"],
            row["status"],
            str(row["attempts"]),
            escape(row["lastError"] or ""),
        )
    console.print(table)


@notices_app.command("resend")
def notices_resend(notice_id: Annotated[list[int], typer.Argument(help="notice id(s) from `notices list`")]) -> None:
    """Queue notices again (dead letters, once their sink is fixed): the sender delivers them."""
    for one in notice_id:
        row = _api("POST", f"/api/notices/{one}/resend")
        console.print(f"[green]queued[/green] notice {row['id']} for {row['sink']} ({row['workflowId']})")


app.command("route")(route_command)


def main() -> None:
    try:
        app()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()


if __name__ == "__main__":
    main()
