"""Configuration loading: the shipped sandbox file is valid, and a bad file is refused with the
file, the line, the field and the reason."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from orderloop.config import ConfigError, load_config, parse_config

ROOT = Path(__file__).resolve().parents[2]
SANDBOX = (ROOT / "orderloop.yaml").read_text()


def refused(text: str) -> str:
    with pytest.raises(ConfigError) as info:
        parse_config(text, "brand.yaml")
    return str(info.value)


def test_shipped_sandbox_configuration_is_valid() -> None:
    config = load_config(ROOT / "orderloop.yaml")
    assert config.channel("storefront").hold_window == timedelta(seconds=2)
    assert config.channel("storefront").ship_by_sla == timedelta(hours=48)
    assert {loc.fulfillment_channel for loc in config.locations} <= {c.id for c in config.channels}


def test_bad_duration_names_file_line_field_and_reason() -> None:
    message = refused(SANDBOX.replace("hold_window: 2s", "hold_window: soon"))
    line = next(i for i, text in enumerate(SANDBOX.splitlines(), 1) if "hold_window: 2s" in text)
    assert f"brand.yaml:{line}: channels[0].hold_window: invalid duration 'soon'" in message


def test_unknown_field_is_refused() -> None:
    message = refused(SANDBOX.replace("    rate_limit_per_second: 20\n", "    rate_limit_per_secnd: 20\n"))
    assert "channels[0].rate_limit_per_secnd: Extra inputs are not permitted" in message


def test_unknown_connector_type_is_refused() -> None:
    message = refused(SANDBOX.replace("type: storefront", "type: magento"))
    assert "channels[0].type: no connector package connectors/magento/" in message


def test_location_must_ship_through_a_fulfillment_channel() -> None:
    message = refused(
        SANDBOX.replace(
            'fulfillment_channel: wms\n    country: US\n    postal_code: "07001"',
            'fulfillment_channel: storefront\n    country: US\n    postal_code: "07001"',
        )
    )
    assert "locations[0].fulfillment_channel: channel 'storefront' is not a fulfillment channel" in message


def test_duplicate_channel_ids_are_refused() -> None:
    message = refused(SANDBOX.replace("  - id: wms\n    type: wms", "  - id: storefront\n    type: wms"))
    assert "duplicate channel id(s): storefront" in message


def test_invalid_yaml_and_missing_file_are_explained(tmp_path: Path) -> None:
    assert "not valid YAML" in refused("channels: [unclosed")
    with pytest.raises(ConfigError, match="cannot read configuration"):
        load_config(tmp_path / "absent.yaml")


def test_missing_credential_names_the_environment_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    config = parse_config(SANDBOX)
    monkeypatch.delenv("ORDERLOOP_STOREFRONT_WEBHOOK_SECRET", raising=False)
    with pytest.raises(ConfigError, match="ORDERLOOP_STOREFRONT_WEBHOOK_SECRET, which is not set"):
        config.channel("storefront").credential("webhook_secret")
    monkeypatch.setenv("ORDERLOOP_STOREFRONT_WEBHOOK_SECRET", "s3cret")
    assert config.channel("storefront").credential("webhook_secret") == "s3cret"
