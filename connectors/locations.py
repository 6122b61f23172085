"""Orderloop's locations <-> a 3PL's warehouses (ShipBob's fulfillment centers, ShipHero's
warehouse ids, Logiwa's warehouse codes, Whiplash's warehouse ids): the one map each 3PL
channel's settings hold, read both ways.

A channel's settings model keeps its own field (`warehouses`, `fulfillment_centers`) and its own
id type, checks it with `check_one_location_each` in a model validator (so the ConfigError names
the field, through `connectors.base.channel_settings`), and reads it through a `LocationMap`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Generic, TypeVar

from connectors.base import MappingError

W = TypeVar("W", int, str)


def check_one_location_each(mapping: Mapping[str, W], noun: str, why: str = "") -> None:
    """Refuse a warehouse mapped from two locations (the way back would be ambiguous):
    `ValueError`, which a settings validator turns into the channel's ConfigError."""
    seen: dict[W, str] = {}
    for location, warehouse in mapping.items():
        if warehouse in seen:
            raise ValueError(f"{noun} {warehouse} is mapped from both {seen[warehouse]!r} and {location!r}{why}")
        seen[warehouse] = location


class LocationMap(Generic[W]):
    """One channel's map: `vendor` and `noun` name the vendor's side in errors ("ShipBob",
    "fulfillment center")."""

    def __init__(self, mapping: Mapping[str, W], vendor: str, noun: str = "warehouse") -> None:
        self._to_warehouse: dict[str, W] = dict(mapping)
        self._to_location: dict[W, str] = {warehouse: location for location, warehouse in mapping.items()}
        self._vendor = vendor
        self._noun = noun

    def __bool__(self) -> bool:
        return bool(self._to_warehouse)

    def warehouses(self) -> list[W]:
        return list(self._to_warehouse.values())

    def warehouse_of(self, location_id: str) -> W:
        """The warehouse a location ships from; `MappingError` naming the mapped locations."""
        warehouse = self._to_warehouse.get(location_id)
        if warehouse is None:
            known = ", ".join(sorted(self._to_warehouse)) or "none"
            raise MappingError(f"location {location_id!r} has no {self._vendor} {self._noun} (mapped: {known})")
        return warehouse

    def warehouse_if_mapped(self, location_id: str) -> W | None:
        """For a vendor that may choose the warehouse itself: None when nothing is mapped, else
        as `warehouse_of`."""
        return self.warehouse_of(location_id) if self._to_warehouse else None

    def location_of(self, warehouse: W | None) -> str | None:
        return None if warehouse is None else self._to_location.get(warehouse)
