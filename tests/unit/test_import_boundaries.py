"""Import boundaries between the packages: a fresh interpreter imports a module and the test
reads what else it loaded, so a new path into the SQL ledger from a connector (or from the pure
routing engine) fails here, not in a deployment that ships connectors without a database."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CONNECTOR_PACKAGES = sorted(f"connectors.{init.parent.name}" for init in (ROOT / "connectors").glob("*/__init__.py"))
# A vendor's sandbox is `sandbox.py` or a `sandbox/` package inside its connector package.
SANDBOXES = sorted(
    f"{package}.sandbox"
    for package in CONNECTOR_PACKAGES
    if any((ROOT / package.replace(".", "/") / name).exists() for name in ("sandbox.py", "sandbox/__init__.py"))
)


def loaded_after_import(module: str) -> set[str]:
    """The names in `sys.modules` after a fresh interpreter imports `module`."""
    script = f"import json, sys, {module}; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True)
    return set(json.loads(out.stdout))


def test_every_connector_package_and_sandbox_is_found() -> None:
    vendors = {"shopify", "shipbob", "storefront", "wms"}
    assert {f"connectors.{v}" for v in vendors} <= set(CONNECTOR_PACKAGES)
    assert {f"connectors.{v}.sandbox" for v in vendors} <= set(SANDBOXES)


@pytest.mark.parametrize(
    "module",
    ["connectors.base", "connectors.sandbox_kit", "connectors.sandbox_server", *CONNECTOR_PACKAGES, *SANDBOXES],
)
def test_connectors_do_not_load_the_sql_ledger(module: str) -> None:
    loaded = loaded_after_import(module)
    assert "sqlalchemy" not in loaded
    assert "orderloop.ledger" not in loaded


def test_routing_package_does_not_load_the_ledger() -> None:
    files = (ROOT / "orderloop" / "routing").glob("*.py")
    modules = sorted(f"orderloop.routing.{path.stem}" for path in files if path.stem != "__init__")
    loaded = loaded_after_import(", ".join(["orderloop.routing", *modules]))
    assert "sqlalchemy" not in loaded
    assert "orderloop.ledger" not in loaded
