"""Find a connector package by the channel's `type` and build its client or its sandbox; check that
every channel of a configuration names one (`python -m connectors.registry orderloop.yaml` runs the
check for processes that do not import connectors, such as the `orderloop` CLI)."""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from connectors.base import Connector, ConnectorSpec, FulfillmentConnector, SandboxOptions, SellingConnector
from connectors.http import VendorClient
from orderloop.config import (
    GENERIC_KINDS,
    ChannelConfig,
    ConfigError,
    OrderloopConfig,
    load_config,
    located_messages,
    playbook_kinds,
)
from orderloop.edi_records import EdiRecords
from orderloop.exchange_log import ExchangeRecorder
from orderloop.model import ConnectorRole
from orderloop.tokens import TokenStore


def check_connector_types(config: OrderloopConfig, source: str = "orderloop.yaml", text: str | None = None) -> None:
    """Refuse a configuration whose channels name a connector package that does not exist, or
    whose playbooks name an exception kind that is neither generic nor raised by a connector
    of the channels they cover (`text`, the file's, lets the message name the line)."""
    problems = [
        f"{source}: channels[{i}].type: no connector package connectors/{channel.type}/"
        for i, channel in enumerate(config.channels)
        if importlib.util.find_spec(f"connectors.{channel.type}") is None
    ]
    if problems:
        raise ConfigError("invalid configuration\n  " + "\n  ".join(problems))
    unknown = _unknown_kinds(config)
    if unknown:
        messages = (
            located_messages(text, source, unknown) if text is not None else [f"{source}: {r}" for _, r in unknown]
        )
        raise ConfigError("invalid configuration\n  " + "\n  ".join(messages))


def _unknown_kinds(config: OrderloopConfig) -> list[tuple[tuple[Any, ...], str]]:
    declared = {channel.id: set(connector_spec(channel.type).exception_kinds) for channel in config.channels}
    problems: list[tuple[tuple[Any, ...], str]] = []
    for at, kind, channels in playbook_kinds(config):
        scope = channels if channels is not None else list(declared)
        known = GENERIC_KINDS.union(*(declared.get(c, set()) for c in scope))
        if kind not in known:
            problems.append((at, f"unknown exception kind {kind!r}; kinds: {', '.join(sorted(known))}"))
    return problems


def load_connector_config(path: str | Path) -> OrderloopConfig:
    """The configuration at `path`, loaded and checked against the connector packages."""
    config = load_config(path)
    check_connector_types(config, str(path), Path(path).read_text(encoding="utf-8"))
    return config


def connector_spec(connector_type: str) -> ConnectorSpec:
    try:
        module = importlib.import_module(f"connectors.{connector_type}")
    except ModuleNotFoundError as exc:
        raise ConfigError(f"no connector package connectors/{connector_type}/") from exc
    spec = getattr(module, "SPEC", None)
    if not isinstance(spec, ConnectorSpec):
        raise ConfigError(f"connectors/{connector_type}/__init__.py defines no SPEC")
    return spec


def connector_types() -> list[str]:
    """Every connector package under `connectors/`, by type: a subpackage whose `__init__` defines
    a `SPEC` (support packages such as the sandbox kit define none)."""
    import connectors

    packages = (info.name for info in pkgutil.iter_modules(connectors.__path__) if info.ispkg)
    return sorted(
        name
        for name in packages
        if isinstance(getattr(importlib.import_module(f"connectors.{name}"), "SPEC", None), ConnectorSpec)
    )


def sandbox_factory(spec: ConnectorSpec) -> Callable[[SandboxOptions], Any] | None:
    """The function building the connector's sandbox app (None when it has none), imported now."""
    if spec.sandbox is None:
        return None
    module_name, sep, name = spec.sandbox.partition(":")
    factory = getattr(importlib.import_module(module_name), name, None) if sep else None
    if not callable(factory):
        raise ConfigError(f"connector {spec.type!r}: sandbox {spec.sandbox!r} is not a module:function")
    return factory


def build_connector(channel: ChannelConfig) -> Connector:
    spec = connector_spec(channel.type)
    if channel.role not in spec.roles:
        raise ConfigError(f"channel {channel.id!r}: connector {channel.type!r} cannot act as a {channel.role} channel")
    factory = spec.selling if channel.role is ConnectorRole.SELLING else spec.fulfillment
    assert factory is not None
    return factory(channel)


def build_connectors(
    channels: Iterable[ChannelConfig],
    token_store: TokenStore | None = None,
    exchange_log: ExchangeRecorder | None = None,
    records: EdiRecords | None = None,
) -> dict[str, Connector]:
    """One connector per channel; with `token_store` (the ledger), connectors whose refresh
    token rotates keep it there (`Connector.share_tokens`); with `exchange_log`, every vendor
    call of theirs is recorded in it (orderloop.exchange_log); with `records` (the ledger), the
    file-speaking connectors keep what they received and sent there (`Connector.share_records`)."""
    built = {channel.id: build_connector(channel) for channel in channels}
    for channel_id, connector in built.items():
        client = getattr(connector, "client", None)
        if isinstance(client, VendorClient):
            client.channel = channel_id  # the `channel` label of its vendor call metrics
            client.exchange_log = exchange_log
    if token_store is not None:
        for connector in built.values():
            connector.share_tokens(token_store)
    if records is not None:
        for connector in built.values():
            connector.share_records(records)
    return built


def selling(connectors: dict[str, Connector], channel_id: str) -> SellingConnector:
    connector = connectors[channel_id]
    if not isinstance(connector, SellingConnector):
        raise ConfigError(f"channel {channel_id!r} is not a selling channel")
    return connector


def fulfillment(connectors: dict[str, Connector], channel_id: str) -> FulfillmentConnector:
    connector = connectors[channel_id]
    if not isinstance(connector, FulfillmentConnector):
        raise ConfigError(f"channel {channel_id!r} is not a fulfillment channel")
    return connector


def main(argv: list[str] | None = None) -> int:
    """Check the configuration file given as the only argument; exit 2 with the reason if bad."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m connectors.registry CONFIG", file=sys.stderr)
        return 2
    try:
        load_connector_config(args[0])
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
