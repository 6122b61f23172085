"""Every connector names its sandbox by a dotted path the registry imports on use: importing a
connector package (as workers and the gateway do) loads no sandbox, and each path builds an app."""

from __future__ import annotations

import subprocess
import sys

import pytest

from connectors.registry import connector_spec, sandbox_factory

CONNECTORS = ("shopify", "shipbob", "storefront", "wms")


def test_importing_a_connector_loads_no_sandbox() -> None:
    code = (
        "import sys\n"
        + "".join(f"import connectors.{name}\n" for name in CONNECTORS)
        + "print(sorted(m for m in sys.modules if m.endswith('sandbox') or '.sandbox.' in m or 'sandbox_kit' in m))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize("name", CONNECTORS)
def test_registry_resolves_each_sandbox_path(name: str) -> None:
    spec = connector_spec(name)
    assert spec.sandbox == f"connectors.{name}.sandbox:create_app"
    factory = sandbox_factory(spec)
    assert callable(factory) and factory.__name__ == "create_app"
