"""Reading the loosely typed values of vendors' JSON the same way in every connector: text
from any scalar, amounts as `Decimal`, times in UTC (the canonical model's, as onX wants)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from connectors.base import MappingError
from connectors.signing import json_type

CENT = Decimal("0.01")


def text(value: Any) -> str | None:
    """A scalar as trimmed text (a zip code or an id may arrive as a number); else None."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    trimmed = str(value).strip()
    return trimmed or None


def money(value: Any, where: str) -> Decimal | None:
    """An amount (number or numeric string) as `Decimal`; `MappingError` naming `where`."""
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise MappingError(f"{where} must be a number, not {json_type(value)}")
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise MappingError(f"{where} must be a number, got {value!r}") from None
    if not amount.is_finite():
        raise MappingError(f"{where} must be a finite number, got {value!r}")
    return amount


def utc_time(value: Any) -> datetime | None:
    """An ISO 8601 time in UTC: an offset is converted, a time without one is read as UTC;
    None when absent or unreadable (a bad timestamp is not worth refusing a payload over)."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def integer(value: Any) -> int | None:
    """A whole number from an int, an integral float or a digit string (a quantity or an id may
    arrive as any); None for anything else, booleans included."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return None


def line_amounts(
    unit_price: Decimal | None, discount: Decimal, ordered: int, quantity: int
) -> tuple[Decimal | None, Decimal | None]:
    """A line's unit discount (its whole `discount` spread over the `ordered` units) and its total
    (the `quantity` still to ship at the discounted unit price), to the cent; None where unknown."""
    unit_discount = (discount / max(1, ordered)).quantize(CENT, ROUND_HALF_UP) if discount else None
    if unit_price is None:
        return unit_discount, None
    return unit_discount, ((unit_price - (unit_discount or Decimal(0))) * quantity).quantize(CENT, ROUND_HALF_UP)
