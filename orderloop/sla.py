"""The ship-by clock: by when an order must have shipped, and when to warn before it, counted in
calendar hours or over a channel's business days (weekdays that are not its holidays).

Pure functions of their arguments: the order workflow passes `workflow.info().start_time` and
`workflow.now()`, so the same history always yields the same deadlines. Days are UTC days.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from pydantic import BaseModel, ConfigDict, Field


class ShipByCalendar(BaseModel):
    """How a channel counts its ship-by SLA: calendar hours (the default), or only the hours of
    business days, Monday to Friday except `holidays`."""

    model_config = ConfigDict(frozen=True)

    business_days: bool = False
    holidays: frozenset[date] = Field(default_factory=frozenset)

    def is_business_day(self, day: date) -> bool:
        return not self.business_days or (day.weekday() < 5 and day not in self.holidays)


def _start_of_next_day(at: datetime) -> datetime:
    return datetime.combine(at.astimezone(UTC).date() + timedelta(days=1), time(), tzinfo=UTC)


def add_business_time(start: datetime, duration: timedelta, calendar: ShipByCalendar) -> datetime:
    """`start` plus `duration`, counting only the hours of the calendar's business days (an order
    accepted on a Saturday starts counting on Monday at 00:00 UTC)."""
    if not calendar.business_days:
        return start + duration
    at, remaining = start.astimezone(UTC), duration
    # A calendar without any business day would loop for ever: ten years of days is the bound.
    for _ in range(366 * 10):
        day_end = _start_of_next_day(at)
        if calendar.is_business_day(at.date()):
            if at + remaining <= day_end:
                return at + remaining
            remaining -= day_end - at
        at = day_end
    raise ValueError("the ship-by calendar has no business day in ten years")


def ship_by_deadline(
    accepted_at: datetime, sla: timedelta, calendar: ShipByCalendar, channel_ship_by: datetime | None = None
) -> datetime:
    """When the order must have shipped: the channel's own ship-by date where it gives one (a
    marketplace's, already in its business days), else `sla` after the order was accepted."""
    if channel_ship_by is not None:
        return channel_ship_by if channel_ship_by.tzinfo else channel_ship_by.replace(tzinfo=UTC)
    return add_business_time(accepted_at, sla, calendar)


def warning_at(deadline: datetime, lead: timedelta | None) -> datetime | None:
    """When to warn that the deadline is near (None: the channel wants no warning)."""
    return deadline - lead if lead else None
