"""A Walmart channel's `requirements.ship_methods` are the methods it serves and the carriers
each may use (the table routing checks locations against), replacing `settings.ship_methods`;
a carrier Walmart does not list is refused when the connector is built."""

from __future__ import annotations

from typing import Any

import pytest

from connectors.base import MappingError
from connectors.walmart import WalmartConnector
from orderloop.config import ChannelConfig, ConfigError
from tests.connectors.walmart.conftest import RECEIVED_AT, TENANT, channel_fields, payload


def channel_with(requirements: dict[str, Any] | None) -> ChannelConfig:
    fields = channel_fields()
    if requirements is not None:
        fields["requirements"] = requirements
    return ChannelConfig.model_validate(fields)


def mapped(connector: WalmartConnector, method: str) -> Any:
    raw = payload("purchase_order.json")
    raw["order"]["shippingInfo"]["methodCode"] = method
    return connector.map_order(raw, order_id="order/walmart/1", tenant_id=TENANT, received_at=RECEIVED_AT)


def test_the_requirements_are_the_methods_walmart_orders_may_have() -> None:
    connector = WalmartConnector(channel_with({"ship_methods": {"OneDay": {"carriers": ["UPS", "fedex"]}}}))

    assert connector.ship_methods == {"OneDay": ["UPS", "fedex"]}
    assert mapped(connector, "OneDay").shipping_code == "OneDay"
    with pytest.raises(MappingError, match=r"ship method 'Standard' maps to no Walmart carrier .*serves OneDay"):
        mapped(connector, "Standard")


def test_a_method_without_carriers_takes_the_channels() -> None:
    requirements = {"carriers": ["USPS"], "ship_methods": {"Value": {"packaging_notes": "Poly mailer"}}}
    assert WalmartConnector(channel_with(requirements)).ship_methods == {"Value": ["USPS"]}


def test_without_requirements_the_settings_serve() -> None:
    served = WalmartConnector(channel_with(None)).ship_methods
    assert set(served) == {"Value", "Standard", "Express", "OneDay", "Freight"}


def test_a_carrier_walmart_does_not_list_is_refused() -> None:
    with pytest.raises(ConfigError, match="requirements name carrier\\(s\\) Walmart does not list: Pony Express"):
        WalmartConnector(channel_with({"ship_methods": {"OneDay": {"carriers": ["UPS", "Pony Express"]}}}))
