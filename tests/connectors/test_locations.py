"""The one location <-> warehouse map of the 3PL connectors (connectors/locations.py): both ways,
the errors' texts, and each 3PL's settings refusing a warehouse mapped from two locations with
the channel's ConfigError."""

from __future__ import annotations

from typing import Any

import pytest

from connectors import logiwa, rydership, shipbob, shiphero
from connectors.base import MappingError
from connectors.locations import LocationMap, check_one_location_each
from orderloop.config import ChannelConfig, ConfigError
from orderloop.model import ConnectorRole


def test_a_map_reads_both_ways_and_names_what_is_mapped() -> None:
    centers = LocationMap({"east": 8, "west": 10}, "ShipBob", "fulfillment center")
    assert (centers.warehouse_of("west"), centers.location_of(8), centers.location_of(99)) == (10, "east", None)
    assert centers.location_of(None) is None and centers.warehouses() == [8, 10]
    with pytest.raises(MappingError) as caught:
        centers.warehouse_of("north")
    assert str(caught.value) == "location 'north' has no ShipBob fulfillment center (mapped: east, west)"


def test_an_empty_map_lets_the_vendor_choose_only_where_asked() -> None:
    empty: LocationMap[str] = LocationMap({}, "ShipHero")
    assert not empty and empty.warehouse_if_mapped("east") is None
    with pytest.raises(MappingError, match=r"location 'east' has no ShipHero warehouse \(mapped: none\)"):
        empty.warehouse_of("east")
    mapped = LocationMap({"east": "V2FyZWhvdXNlOjE="}, "ShipHero")
    with pytest.raises(MappingError, match="location 'west' has no ShipHero warehouse"):
        mapped.warehouse_if_mapped("west")


def test_a_warehouse_mapped_from_two_locations_is_refused() -> None:
    check_one_location_each({"east": 1, "west": 2}, "warehouse")
    with pytest.raises(ValueError, match=r"^warehouse 1 is mapped from both 'east' and 'west'; why$"):
        check_one_location_each({"east": 1, "west": 1}, "warehouse", "; why")


@pytest.mark.parametrize(
    ("connector_type", "settings", "noun"),
    [
        ("shipbob", {"channel_id": 1, "fulfillment_centers": {"east": 8, "west": 8}}, "fulfillment center 8"),
        ("shiphero", {"warehouses": {"east": "W1", "west": "W1"}}, "warehouse W1"),
        ("logiwa", {"depositor_code": "ACME", "warehouses": {"east": "WH", "west": "WH"}}, "warehouse WH"),
        ("rydership", {"warehouses": {"east": 11, "west": 11}}, "warehouse 11"),
    ],
)
def test_each_3pl_refuses_a_warehouse_mapped_twice_with_its_channel_named(
    connector_type: str, settings: dict[str, Any], noun: str
) -> None:
    channel = ChannelConfig(
        id=f"my-{connector_type}",
        type=connector_type,
        role=ConnectorRole.FULFILLMENT,
        base_url="http://vendor.test",
        rate_limit_per_second=1,
        settings=settings,
    )
    settings_of = {
        "shipbob": shipbob.mapping.settings_of,
        "shiphero": shiphero.mapping.settings_of,
        "logiwa": logiwa.mapping.settings_of,
        "rydership": rydership.mapping.settings_of,
    }[connector_type]
    with pytest.raises(ConfigError) as caught:
        settings_of(channel)
    assert f"my-{connector_type}" in str(caught.value)
    assert f"{noun} is mapped from both 'east' and 'west'" in str(caught.value)
