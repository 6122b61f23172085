"""The value types every part of `orderloop.yaml` is written in: durations (`"48h"`), ids,
country codes, postal codes, aware datetimes, the strict model base, and the error the loader
raises, with problems that keep their own location so it can name the line."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError
from pydantic_core import InitErrorDetails, PydanticCustomError

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(value: Any) -> Any:
    """`"30s"`, `"15m"`, `"48h"`, `"2d"`, or a number of seconds."""
    if isinstance(value, bool):
        raise ValueError("a duration is a number of seconds or a string such as '30s', '15m', '48h'")
    if isinstance(value, int | float):
        return timedelta(seconds=value)
    if isinstance(value, str) and value.startswith(("P", "-P")):
        return value  # ISO 8601, as pydantic serializes a timedelta (a policy handed to a workflow)
    if isinstance(value, str):
        match = _DURATION.match(value)
        if not match:
            raise ValueError(f"invalid duration {value!r}: use a number with s, m, h or d (e.g. '48h')")
        return timedelta(seconds=float(match.group(1)) * _UNIT_SECONDS[match.group(2)])
    return value


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]
Identifier = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")]


class ConfigError(Exception):
    """The configuration cannot be used; the message says where and why."""


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def as_list(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


def aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


CountryCode = Annotated[str, Field(pattern=r"^[A-Za-z]{2}$"), AfterValidator(str.upper)]
UpperText = Annotated[str, Field(min_length=1), AfterValidator(lambda v: v.strip().upper())]
Postal = Annotated[str, Field(min_length=1), AfterValidator(lambda v: re.sub(r"[\s-]", "", v).upper())]
AwareDatetime = Annotated[datetime, AfterValidator(aware)]


def located(title: str, problems: list[tuple[tuple[Any, ...], str]]) -> ValidationError:
    """A validation error whose entries keep their own location, so the loader can name the line."""
    return ValidationError.from_exception_data(
        title,
        [
            InitErrorDetails(type=PydanticCustomError("value_error", reason), loc=loc, input=None)
            for loc, reason in problems
        ],
    )
