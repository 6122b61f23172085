"""Serve every configured channel's sandbox in one process: one uvicorn server per channel whose
connector has a sandbox, on the host and port of the channel's `base_url`, delivering its
webhooks to `{gateway_url}/webhooks/{channel_id}`.

    python -m connectors.sandbox_server --config orderloop.yaml \\
        --gateway-url http://127.0.0.1:8000 [--knob wms.ship_delay=0.5 ...]

Knob values are read as JSON when they parse (`0.5`, `true`, `{"east": {"SKU": 5}}`), else as
text. Sandbox default secrets apply to credential variables that are unset.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import sys
from collections.abc import Iterator, Sequence
from typing import Any
from urllib.parse import urlsplit

import structlog
import uvicorn

from connectors.base import SandboxOptions
from connectors.registry import connector_spec, load_connector_config, sandbox_factory
from orderloop import event_loop
from orderloop.config import ChannelConfig, ConfigError, OrderloopConfig
from orderloop.logging import configure_logging
from orderloop.sandbox_env import apply_sandbox_env
from orderloop.settings import get_settings

log = structlog.get_logger("orderloop.sandbox")


class _Server(uvicorn.Server):
    """A uvicorn server that leaves signals to this process: several servers share one loop,
    and uvicorn's own handlers would replace each other and re-raise the signal on exit."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def parse_knobs(items: Sequence[str], config: OrderloopConfig) -> dict[str, dict[str, Any]]:
    """`channel_id.name=value` pairs -> knobs per channel id."""
    knobs: dict[str, dict[str, Any]] = {}
    for item in items:
        target, sep, raw = item.partition("=")
        channel_id, dot, name = target.partition(".")
        if not sep or not dot or not channel_id or not name:
            raise ConfigError(f"knob {item!r}: expected channel_id.name=value (e.g. wms.ship_delay=0.5)")
        if not config.has_channel(channel_id):
            known = ", ".join(c.id for c in config.channels)
            raise ConfigError(f"knob {item!r}: unknown channel {channel_id!r} (configured: {known})")
        try:
            value: Any = json.loads(raw)
        except ValueError:
            value = raw
        knobs.setdefault(channel_id, {})[name] = value
    return knobs


def bind_address(channel: ChannelConfig) -> tuple[str, int]:
    url = urlsplit(channel.sandbox_base_url)
    if url.scheme != "http" or not url.hostname:
        raise ConfigError(
            f"channel {channel.id!r}: a sandbox serves plain http, not {channel.sandbox_base_url!r} "
            "(a channel whose base_url is not http names its sandbox's in sandbox_url)"
        )
    return url.hostname, url.port or 80


def build_servers(config: OrderloopConfig, gateway_url: str, knobs: dict[str, dict[str, Any]]) -> list[_Server]:
    servers = []
    for channel in config.channels:
        factory = sandbox_factory(connector_spec(channel.type))
        if factory is None:
            log.info("sandbox.none", channel=channel.id, type=channel.type)
            continue
        options = SandboxOptions(
            channel=channel,
            webhook_url=f"{gateway_url.rstrip('/')}/webhooks/{channel.id}",
            knobs=knobs.get(channel.id, {}),
            stock={loc.id: loc.seed_stock for loc in config.locations if loc.fulfillment_channel == channel.id},
        )
        try:
            app = factory(options)
        except ValueError as exc:  # pydantic's ValidationError of a sandbox's knobs
            raise ConfigError(f"channel {channel.id!r}: bad sandbox knobs: {exc}") from exc
        host, port = bind_address(channel)
        servers.append(
            _Server(uvicorn.Config(app, host=host, port=port, log_config=None, access_log=False, lifespan="on"))
        )
        log.info(
            "sandbox.serving", channel=channel.id, type=channel.type, url=channel.sandbox_base_url, knobs=options.knobs
        )
    return servers


async def serve(servers: Sequence[_Server]) -> None:
    loop = asyncio.get_running_loop()

    def stop(signame: str) -> None:
        log.info("sandbox.stopping", signal=signame)
        for server in servers:
            # A second signal skips the graceful wait for open connections.
            server.force_exit = server.should_exit
            server.should_exit = True

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop, sig.name)
    await asyncio.gather(*(server.serve() for server in servers))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m connectors.sandbox_server", description=__doc__.split("\n")[0])
    parser.add_argument("--config", default="orderloop.yaml", help="path of orderloop.yaml")
    parser.add_argument("--gateway-url", default="http://127.0.0.1:8000", help="where webhooks are delivered")
    parser.add_argument(
        "--knob", action="append", default=[], metavar="CHANNEL.NAME=VALUE", help="sandbox knob (repeatable)"
    )
    args = parser.parse_args(argv)
    settings = get_settings()
    configure_logging("sandboxes", settings.log_format, settings.log_level)
    apply_sandbox_env()
    try:
        config = load_connector_config(args.config)
        servers = build_servers(config, args.gateway_url, parse_knobs(args.knob, config))
    except ConfigError as exc:
        print(f"orderloop sandboxes: {exc}", file=sys.stderr)
        return 2
    if not servers:
        print("orderloop sandboxes: no configured channel has a sandbox", file=sys.stderr)
        return 2
    try:
        event_loop.run(serve(servers))
    except SystemExit as exc:  # uvicorn exits when a port cannot be bound
        log.error("sandbox.failed", code=exc.code)
        return 1
    log.info("sandbox.stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
