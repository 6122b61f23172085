"""Find a connector package by the channel's `type` and build its client or its sandbox."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterable
from typing import Any

from connectors.base import Connector, ConnectorSpec, FulfillmentConnector, SandboxOptions, SellingConnector
from orderloop.config import ChannelConfig, ConfigError
from orderloop.model import ConnectorRole


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
        raise ConfigError(
            f"channel {channel.id!r}: connector {channel.type!r} cannot act as a {channel.role} channel"
        )
    factory = spec.selling if channel.role is ConnectorRole.SELLING else spec.fulfillment
    assert factory is not None
    return factory(channel)


def build_connectors(channels: Iterable[ChannelConfig]) -> dict[str, Connector]:
    return {channel.id: build_connector(channel) for channel in channels}


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
