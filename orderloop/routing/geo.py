"""Straight-line distances between postal codes, offline.

US ZIP coordinates come from `data/us_zip_coordinates.csv`, a table generated from the
`zipcodes` package (`python -m orderloop.routing.geo` regenerates it). Parsing the table takes
about 30 ms on the first lookup; building the same mapping from `zipcodes.list_all()` takes
about 600 ms, and `zipcodes.matching()` costs ~0.4 ms per call, which is several decisions'
worth of time. A ZIP missing from the table falls back to the centroid of its 3-digit area.
"""

from __future__ import annotations

import functools
import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

EARTH_RADIUS_KM = 6371.0088
_DIAMETER_KM = 2 * EARTH_RADIUS_KM
TABLE = Path(__file__).resolve().parent / "data" / "us_zip_coordinates.csv"
# Countries whose addresses carry US ZIP codes (the US and its territories).
ZIP_COUNTRIES = frozenset({"US", "PR", "VI", "GU", "AS", "MP"})


@dataclass(frozen=True, slots=True)
class Point:
    """A place on the unit sphere, with where its coordinates came from (said in the trace).

    Comparing places by the dot product of their unit vectors orders them exactly as the
    great-circle distance does, with three multiplications and no trigonometry per location;
    kilometres are only computed for the distances a trace shows.
    """

    x: float
    y: float
    z: float
    source: str

    @classmethod
    def from_degrees(cls, lat: float, lon: float, source: str) -> Point:
        rlat, rlon = math.radians(lat), math.radians(lon)
        return cls(math.cos(rlat) * math.cos(rlon), math.cos(rlat) * math.sin(rlon), math.sin(rlat), source)

    def dot(self, other: Point) -> float:
        return self.x * other.x + self.y * other.y + self.z * other.z

    def km_to(self, other: Point) -> float:
        return km_from_dot(self.dot(other))


def km_from_dot(dot: float, _asin: Any = math.asin, _sqrt: Any = math.sqrt) -> float:
    """Great-circle distance between two unit vectors with this dot product."""
    half_chord_squared = (1.0 - dot) / 2.0
    if half_chord_squared <= 0.0:
        return 0.0
    return _DIAMETER_KM * _asin(min(1.0, _sqrt(half_chord_squared)))


def normalise_postal(value: str | None) -> str:
    """Upper case without spaces or dashes: `"10118-0110"` -> `"101180110"`, `"sw1a 1aa"` -> `"SW1A1AA"`."""
    if not value:
        return ""
    return value.replace(" ", "").replace("-", "").upper()


@functools.cache
def _tables() -> tuple[dict[str, tuple[float, float]], dict[str, tuple[float, float]]]:
    """(ZIP -> (lat, lon), 3-digit area -> centroid), parsed once per process."""
    zips: dict[str, tuple[float, float]] = {}
    areas: dict[str, list[float]] = {}
    with TABLE.open(encoding="ascii") as rows:
        for row in rows:
            if row.startswith(("#", "zip")):
                continue
            code, lat, lon = row.rstrip("\n").split(",")
            point = (float(lat), float(lon))
            zips[code] = point
            area = areas.setdefault(code[:3], [0.0, 0.0, 0.0])
            area[0] += point[0]
            area[1] += point[1]
            area[2] += 1
    return zips, {code: (s[0] / s[2], s[1] / s[2]) for code, s in areas.items()}


@functools.lru_cache(maxsize=65_536)
def locate(country: str, postal: str) -> Point | None:
    """The coordinates of a normalised postal code, or None when the package has none for it
    (only US ZIP codes are shipped)."""
    if country not in ZIP_COUNTRIES or len(postal) < 5 or not postal[:5].isdigit():
        return None
    zips, areas = _tables()
    exact = zips.get(postal[:5])
    if exact is not None:
        return Point.from_degrees(*exact, source=f"ZIP {postal[:5]}")
    area = areas.get(postal[:3])
    if area is not None:
        return Point.from_degrees(*area, source=f"ZIP area {postal[:3]} (centroid; {postal[:5]} not in the table)")
    return None


def shared_prefix(a: str, b: str) -> int:
    """Length of the common prefix of two postal codes: the fallback nearness without coordinates."""
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def write_table(path: Path = TABLE) -> int:
    """Regenerate the shipped table from the installed `zipcodes` package; returns the row count."""
    import zipcodes

    rows = sorted(
        (z["zip_code"], float(z["lat"]), float(z["long"])) for z in zipcodes.list_all() if z["lat"] and z["long"]
    )
    with path.open("w", encoding="ascii", newline="\n") as out:
        out.write(f"# US ZIP code coordinates (degrees, 2 decimals ~1 km) from zipcodes {zipcodes.__version__} (MIT)\n")
        out.write("zip,lat,lon\n")
        for code, lat, lon in rows:
            out.write(f"{code},{lat:.2f},{lon:.2f}\n")
    return len(rows)


if __name__ == "__main__":
    count = write_table(Path(sys.argv[1]) if len(sys.argv) > 1 else TABLE)
    print(f"wrote {count} ZIP codes")
