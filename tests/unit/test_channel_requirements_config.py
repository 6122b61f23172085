"""A channel's `requirements` block and a location's `carriers` / `ship_methods`: what the
shipped file declares for Walmart, how an order's ship method resolves, and the mistakes refused
at load with the file, the line and the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from orderloop.channel_requirements import ShippingRequirements
from orderloop.config import ConfigError, load_config, parse_config

ROOT = Path(__file__).resolve().parents[2]

BASE = """\
tenant_id: brand
locations:
  - id: east
    fulfillment_channel: wms
    carriers: [UPS, FedEx]
channels:
  - id: walmart
    type: walmart
    role: selling
    base_url: http://walmart.invalid
    requirements:
      carriers: [UPS, USPS]
      ship_methods:
        OneDay: {carriers: [UPS, FedEx], method: Overnight}
        Value: {packaging_notes: Poly mailer only}
      packaging_notes: No inserts
  - id: wms
    type: wms
    role: fulfillment
    base_url: http://wms.invalid
"""


def refused(text: str) -> str:
    with pytest.raises(ConfigError) as info:
        parse_config(text, "brand.yaml")
    return str(info.value)


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def test_an_orders_ship_method_resolves_to_its_requirements() -> None:
    walmart = parse_config(BASE).channel("walmart")
    assert walmart.shipping_requirements("oneday") == ShippingRequirements(
        channel_id="walmart",
        shipping_code="OneDay",
        carriers=("UPS", "FedEx"),
        method="Overnight",
        packaging_notes="No inserts",
    )
    # A method without its own carriers takes the channel's; its own notes replace the channel's.
    value = walmart.shipping_requirements("Value")
    assert value.carriers == ("UPS", "USPS") and value.packaging_notes == "Poly mailer only" and value.method is None
    other = walmart.shipping_requirements(None)
    assert other.carriers == ("UPS", "USPS") and other.method is None and not other.empty


def test_a_channel_without_requirements_requires_nothing() -> None:
    wms = parse_config(BASE).channel("wms")
    assert wms.requirements is None and wms.shipping_requirements("express").empty


def test_shipped_sandbox_declares_walmarts_methods_and_the_locations_carriers() -> None:
    config = load_config(ROOT / "orderloop.yaml")
    walmart = config.channel("walmart")
    assert walmart.requirements is not None
    assert set(walmart.requirements.ship_methods) == {"Value", "Standard", "Express", "OneDay", "Freight"}
    assert walmart.shipping_requirements("OneDay").carriers == ("UPS", "FedEx")
    assert config.location("shipbob-nj").carriers == ["USPS", "UPS", "FedEx"]
    # Other channels declare none, so their routing cannot change.
    assert [c.id for c in config.channels if c.requirements is not None] == ["walmart"]


def test_requirements_on_a_fulfillment_channel_are_refused_at_their_line() -> None:
    text = BASE + "    requirements: {carriers: [UPS]}\n"
    message = refused(text)
    line = len(text.splitlines())
    assert f"brand.yaml:{line}: channels[1].requirements: requirements belong to a selling channel" in message


def test_an_empty_carrier_list_is_refused() -> None:
    text = BASE.replace("carriers: [UPS, USPS]", "carriers: []")
    message = refused(text)
    assert f"brand.yaml:{line_of(text, 'carriers: []')}: channels[0].requirements.carriers:" in message
    assert "at least 1 item" in message


def test_a_ship_method_listed_twice_in_another_case_is_refused() -> None:
    text = BASE.replace("        Value: {", "        oneday: {carriers: [UPS]}\n        Value: {")
    message = refused(text)
    assert "channels[0].requirements: ship method(s) oneday listed twice (ship methods ignore case)" in message


def test_an_unknown_requirement_field_is_refused() -> None:
    text = BASE.replace("method: Overnight", "service: Overnight")
    message = refused(text)
    assert (
        f"brand.yaml:{line_of(text, 'service: Overnight')}: "
        "channels[0].requirements.ship_methods.OneDay.service: Extra inputs are not permitted"
    ) in message


def test_a_location_with_an_empty_carrier_list_is_refused() -> None:
    text = BASE.replace("    carriers: [UPS, FedEx]\nchannels", "    carriers: []\nchannels")
    message = refused(text)
    assert f"brand.yaml:{line_of(text, 'carriers: []')}: locations[0].carriers:" in message
