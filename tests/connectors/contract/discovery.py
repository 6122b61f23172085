"""Which connector packages exist, which roles each declares, and the harness opener each one's
`tests/connectors/<vendor>/contract_harness.py` gives for a role: a new package under
`connectors/` joins the contract suite by existing (and fails it until its harness exists)."""

from __future__ import annotations

import importlib
from typing import Any

import pytest

from connectors.registry import connector_spec, connector_types
from orderloop.model import ConnectorRole
from tests.connectors.contract.roles import FILE_OPENERS, OPENERS


def connector_packages() -> list[str]:
    """Every connector package `connectors/<vendor>/` (one whose `__init__` defines a SPEC), by name."""
    return connector_types()


def packages_of(role: ConnectorRole, *, files: bool = False) -> list[str]:
    """The packages of `role` that speak HTTP (webhooks, an API), or with `files` those whose
    documents travel as files (`ConnectorSpec.speaks_files`): each kind has its own cases."""
    return [
        vendor
        for vendor in connector_packages()
        if role in connector_spec(vendor).roles and connector_spec(vendor).speaks_files is files
    ]


def harness_module_name(vendor: str) -> str:
    return f"tests.connectors.{vendor}.contract_harness"


def opener_of(vendor: str, role: ConnectorRole) -> tuple[str, type]:
    """The opener's name and the harness Protocol of `vendor` in `role`."""
    return (FILE_OPENERS if connector_spec(vendor).speaks_files else OPENERS)[role]


def opener(vendor: str, role: ConnectorRole) -> Any:
    """The harness opener of `vendor` for `role`; a missing harness fails the test saying what to add."""
    name, protocol = opener_of(vendor, role) if vendor in connector_packages() else OPENERS[role]
    module_name = harness_module_name(vendor)
    what = (
        f"tests/connectors/{vendor}/contract_harness.py defining `{name}(monkeypatch)`, an async "
        f"context manager yielding a {protocol.__name__} (see tests/connectors/contract/roles.py)"
    )
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name not in (module_name, f"tests.connectors.{vendor}"):
            raise
        pytest.fail(f"connectors/{vendor} is a {role} connector without a contract harness: add {what}")
    found = getattr(module, name, None)
    if found is None:
        pytest.fail(f"connectors/{vendor} is a {role} connector but its harness has no `{name}`: add {what}")
    return found
