"""Offline distances: the shipped ZIP table agrees with the `zipcodes` package it was built from."""

from __future__ import annotations

import random

import pytest
import zipcodes

from orderloop.routing.geo import Point, _tables, locate, normalise_postal, shared_prefix


def test_shipped_table_matches_the_zipcodes_package() -> None:
    every = [z for z in zipcodes.list_all() if z["lat"] and z["long"]]
    table, _ = _tables()
    assert len(table) == len({z["zip_code"] for z in every})
    for z in random.Random(3).sample(every, 300):
        lat, lon = table[z["zip_code"]]
        assert abs(lat - float(z["lat"])) <= 0.005 and abs(lon - float(z["long"])) <= 0.005


def test_great_circle_distance_between_known_places() -> None:
    nyc, la = locate("US", "10118"), locate("US", "90012")
    assert nyc is not None and la is not None
    assert nyc.km_to(la) == pytest.approx(3936, rel=0.01)
    assert nyc.km_to(nyc) == 0.0
    assert Point.from_degrees(0, 0, "a").km_to(Point.from_degrees(0, 180, "b")) == pytest.approx(20015, rel=0.001)


def test_lookup_normalises_and_falls_back_to_the_area() -> None:
    assert normalise_postal("10118-0110") == "101180110"
    assert normalise_postal(" sw1a 1aa ") == "SW1A1AA"
    exact = locate("US", "101180110")
    assert exact is not None and exact.source == "ZIP 10118"
    area = locate("US", "10049")
    assert area is not None and area.source.startswith("ZIP area 100 (centroid")
    assert locate("PR", "00601") is not None
    assert locate("CA", "M5V2T6") is None and locate("US", "ABCDE") is None and locate("US", "123") is None


def test_shared_prefix() -> None:
    assert shared_prefix("M44BF", "M11AE") == 1 and shared_prefix("EC1A", "M1") == 0
