"""The connector registry's check of a configuration: every channel's `type` names a connector
package, refused with the file, the field and the reason (the configuration loader itself knows
no connector package by name)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from connectors.registry import check_connector_types
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
