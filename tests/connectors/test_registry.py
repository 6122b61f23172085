"""The connector registry's check of a configuration: every channel's `type` names a connector
package, refused with the file, the field and the reason (the configuration loader itself knows
no connector package by name)."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest

from connectors.base import ConnectorSpec
from connectors.registry import check_connector_types, load_connector_config
from orderloop.config import ConfigError, parse_config
from orderloop.stack import check_connector_types as stack_check

ROOT = Path(__file__).resolve().parents[2]
SANDBOX = (ROOT / "orderloop.yaml").read_text()


def test_shipped_configuration_names_existing_connectors() -> None:
    check_connector_types(parse_config(SANDBOX, "orderloop.yaml"))


def test_unknown_connector_type_is_refused() -> None:
    config = parse_config(SANDBOX.replace("type: storefront", "type: magento"), "brand.yaml")
    with pytest.raises(ConfigError) as info:
        check_connector_types(config, "brand.yaml")
    message = str(info.value)
    assert message.startswith("invalid configuration\n  brand.yaml: ")
    assert "channels[0].type: no connector package connectors/magento/" in message


def test_check_command_refuses_an_unknown_type(tmp_path: Path) -> None:
    bad = tmp_path / "brand.yaml"
    bad.write_text(SANDBOX.replace("type: storefront", "type: magento"))
    for path, code in ((ROOT / "orderloop.yaml", 0), (bad, 2)):
        done = subprocess.run(
            [sys.executable, "-m", "connectors.registry", str(path)], cwd=ROOT, capture_output=True, text=True
        )
        assert done.returncode == code, done.stderr
    assert "channels[0].type: no connector package connectors/magento/" in done.stderr


def test_the_stack_and_check_config_refuse_an_unknown_type_through_the_registry(tmp_path: Path) -> None:
    bad = tmp_path / "brand.yaml"
    bad.write_text(SANDBOX.replace("type: storefront", "type: magento"))
    with pytest.raises(ConfigError) as info:
        stack_check(bad)
    assert "channels[0].type: no connector package connectors/magento/" in str(info.value)
    stack_check(ROOT / "orderloop.yaml")


KIND_PLAYBOOK = """playbooks:
  - name: claims
    channels: [storefront]
    kinds: [a_to_z_claim]
"""


def test_a_playbook_may_name_the_kinds_its_channels_connectors_declare(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import connectors.registry as registry

    real = registry.connector_spec

    def spec_with_claims(connector_type: str) -> ConnectorSpec:
        spec = real(connector_type)
        if connector_type != "storefront":
            return spec
        return dataclasses.replace(spec, exception_kinds={"a_to_z_claim": "the buyer opened an A-to-z claim"})

    path = tmp_path / "brand.yaml"
    text = SANDBOX.replace("playbooks: []\n", KIND_PLAYBOOK)
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_connector_config(path)
    line = text.splitlines().index("    kinds: [a_to_z_claim]") + 1
    assert f"{path}:{line}: playbooks[0].kinds[0]: unknown exception kind 'a_to_z_claim'" in str(info.value)
    monkeypatch.setattr(registry, "connector_spec", spec_with_claims)
    assert load_connector_config(path).playbooks[0].kinds == ["a_to_z_claim"]
    # Declared by the storefront connector, not by the channels a playbook for wms covers.
    path.write_text(text.replace("channels: [storefront]", "channels: [wms]"))
    with pytest.raises(ConfigError):
        load_connector_config(path)
