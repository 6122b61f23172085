"""`orderloop route --dry-run order.json`: evaluate an order against the configured rules and
print the decision and its trace, with no side effect (nothing is reserved or sent).

Stock comes from a JSON file (`{"SKU": {"location": units}}`) or, without one, is read from the
configured ledger database, which must already exist.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import TypeAdapter, ValidationError
from rich.console import Console
from rich.markup import escape
from sqlalchemy.engine import make_url

from orderloop.config import ConfigError, OrderloopConfig, load_config
from orderloop.ledger import Ledger
from orderloop.model import Order
from orderloop.routing.context import RoutingContext
from orderloop.routing.engine import route as decide
from orderloop.routing.engine import stock_keys
from orderloop.routing.facts import Stock
from orderloop.routing.trace import render
from orderloop.settings import get_settings

console = Console(soft_wrap=True)  # long messages (paths, reasons) stay whole for copying and grep
_STOCK_FILE = TypeAdapter(dict[str, dict[str, int]])


class InputError(Exception):
    """A file given to `route` cannot be used; the message says which and why."""


def read_order(path: Path, config: OrderloopConfig, channel: str | None) -> Order:
    """An onX order from a file; ids, tenant and timestamps may be left out of a dry-run order."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: cannot read the order: {exc}") from exc
    if not isinstance(data, dict):
        raise InputError(f"{path}: expected a JSON object (an onX order)")
    now = datetime.now(UTC).isoformat()
    data = {
        "id": "dry-run",
        "externalId": "dry-run",
        "tenantId": config.tenant_id,
        "createdAt": now,
        "updatedAt": now,
    } | data
    if channel:
        data["channelId"] = channel
    try:
        return Order.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()[:5])
        raise InputError(f"{path}: not a valid order: {problems}") from exc


def read_stock_file(path: Path) -> Stock:
    try:
        data = _STOCK_FILE.validate_json(path.read_bytes())
    except OSError as exc:
        raise InputError(f"{path}: cannot read the stock file: {exc.strerror}") from exc
    except ValidationError as exc:
        raise InputError(f'{path}: expected {{"SKU": {{"location": units}}}}: {exc.errors()[0]["msg"]}') from exc
    return {(sku, location): units for sku, by_location in data.items() for location, units in by_location.items()}


def read_ledger_stock(url: str, order: Order, config: OrderloopConfig) -> Stock:
    """Free units from the ledger database; a missing SQLite file is not created."""
    sa_url = make_url(url)
    if sa_url.get_backend_name() == "sqlite" and not Path(sa_url.database or "").exists():
        raise InputError(f"no ledger database at {sa_url.database}: start the stack once or pass --stock stock.json")
    return asyncio.run(_ledger_stock(url, order, config))


async def _ledger_stock(url: str, order: Order, config: OrderloopConfig) -> Stock:
    ledger = await Ledger.open(url)
    try:
        keys = stock_keys(order, config)
        return await ledger.available({s for s, _ in keys}, {loc for _, loc in keys})
    finally:
        await ledger.close()


def _counts(pairs: list[str]) -> dict[str, int]:
    counts = {}
    for pair in pairs:
        location, sep, number = pair.partition("=")
        if not sep or not number.strip().isdigit():
            raise InputError(f"--orders-today expects location=count, not {pair!r}")
        counts[location.strip()] = int(number)
    return counts


def route(
    order_file: Annotated[Path, typer.Argument(help="the order, as onX JSON (channelId, lineItems, shippingAddress)")],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="evaluate only; orders are routed by their workflow")
    ] = False,
    config: Annotated[Path | None, typer.Option("--config", "-c", help="configuration file")] = None,
    stock: Annotated[Path | None, typer.Option(help='JSON {"SKU": {"location": units}}; default: the ledger')] = None,
    channel: Annotated[str | None, typer.Option(help="route as if the order came from this channel")] = None,
    now: Annotated[datetime | None, typer.Option(help="judge outage windows at this time (default: now, UTC)")] = None,
    orders_today: Annotated[list[str] | None, typer.Option(help="orders already placed today, location=count")] = None,
    exclude: Annotated[list[str] | None, typer.Option(help="a location that refused this order (repeatable)")] = None,
    force: Annotated[str | None, typer.Option(help="an operator's reroute to this location")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the decision as JSON")] = False,
) -> None:
    """Show which locations would ship an order and why, without reserving or sending anything."""
    if not dry_run:
        console.print("[red]error:[/red] `route` only evaluates: pass --dry-run (orders are routed by their workflow)")
        raise typer.Exit(2)
    try:
        cfg = load_config(config or Path(get_settings().config))
        order = read_order(order_file, cfg, channel)
        levels = read_stock_file(stock) if stock else read_ledger_stock(get_settings().database_url, order, cfg)
        ctx = RoutingContext(
            now=(now or datetime.now(UTC)) if (now is None or now.tzinfo) else now.replace(tzinfo=UTC),
            orders_today=_counts(orders_today or []),
            force_location=force,
            exclude_locations=exclude or [],
        )
    except (ConfigError, InputError) as exc:
        console.print(f"[red]error:[/red] {escape(str(exc))}")
        raise typer.Exit(2) from None
    decision = decide(order, cfg, levels, ctx)
    if as_json:
        print(json.dumps(_as_json(decision.to_allocation().model_dump(mode="json"), decision.outcome), indent=2))
    else:
        colour = "green" if decision.routed else "yellow"
        console.print(
            f"[{colour}]{decision.outcome}[/{colour}]  order {escape(order.external_id)} "
            f"from channel {escape(order.channel_id)} (dry run: nothing reserved or sent)"
        )
        for line in render(decision.trace):
            console.print(escape(line), highlight=False)
    raise typer.Exit(0 if decision.routed else 1)


def _as_json(allocation: dict[str, Any], outcome: str) -> dict[str, Any]:
    return {"outcome": outcome, **allocation}
