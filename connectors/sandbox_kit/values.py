"""Reading the bodies of a sandbox's controls (the demo's onX-ish orders) the same way in every
sandbox: the first of several names a value goes by, whole numbers and amounts, refused with a
422 naming the field."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from connectors.sandbox_kit.errors import SandboxError
from connectors.signing import json_type


def pick(data: Mapping[str, Any], *names: str) -> Any:
    """The value of the first of `names` that `data` has (not None): a vendor's name or onX's."""
    return next((data[n] for n in names if data.get(n) is not None), None)


def positive_int(value: Any, where: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise SandboxError(422, f"{where} must be an integer >= {minimum}, got {value!r}")
    return value


def decimal_amount(value: Any, where: str) -> Decimal | None:
    """A non-negative amount (number or numeric string); None when absent."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise SandboxError(422, f"{where} must be an amount, not {json_type(value)}")
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise SandboxError(422, f"{where} must be an amount, got {value!r}") from None
    if not amount.is_finite() or amount < 0:
        raise SandboxError(422, f"{where} must be a non-negative amount, got {value!r}")
    return amount
