"""The ship-by clock's deadlines: calendar hours, business days, holidays, the channel's own
date, and the warning before the breach."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from orderloop.config import ConfigError, parse_config
from orderloop.sla import ShipByCalendar, add_business_time, ship_by_deadline, warning_at

# 2026-12-04 is a Friday.
FRIDAY_3PM = datetime(2026, 12, 4, 15, 0, tzinfo=UTC)
BUSINESS = ShipByCalendar(business_days=True)
SANDBOX = (Path(__file__).resolve().parents[2] / "orderloop.yaml").read_text()


def test_calendar_hours_are_the_default() -> None:
    assert ship_by_deadline(FRIDAY_3PM, timedelta(hours=48), ShipByCalendar()) == FRIDAY_3PM + timedelta(hours=48)


def test_business_days_skip_the_weekend() -> None:
    # Friday 15:00 + 48 business hours: 9 h on Friday, 24 h on Monday, 15 h on Tuesday.
    assert add_business_time(FRIDAY_3PM, timedelta(hours=48), BUSINESS) == datetime(2026, 12, 8, 15, tzinfo=UTC)


def test_an_order_accepted_on_a_weekend_starts_counting_on_monday() -> None:
    saturday = datetime(2026, 12, 5, 10, tzinfo=UTC)
    assert add_business_time(saturday, timedelta(hours=2), BUSINESS) == datetime(2026, 12, 7, 2, tzinfo=UTC)


def test_holidays_do_not_count() -> None:
    calendar = ShipByCalendar(business_days=True, holidays=frozenset({date(2026, 12, 7)}))
    # Friday 9 h, Monday a holiday, Tuesday 15 h.
    assert add_business_time(FRIDAY_3PM, timedelta(hours=24), calendar) == datetime(2026, 12, 8, 15, tzinfo=UTC)


def test_a_deadline_ending_at_midnight_stays_on_its_day() -> None:
    assert add_business_time(FRIDAY_3PM, timedelta(hours=9), BUSINESS) == datetime(2026, 12, 5, tzinfo=UTC)


def test_a_calendar_without_business_days_is_refused() -> None:
    every_day = frozenset(date(2026, 12, 5) + timedelta(days=i) for i in range(366 * 11))
    with pytest.raises(ValueError):
        add_business_time(FRIDAY_3PM, timedelta(hours=24), ShipByCalendar(business_days=True, holidays=every_day))


def test_the_channels_own_ship_by_date_wins() -> None:
    channel_date = datetime(2026, 12, 5, 12, tzinfo=UTC)
    assert ship_by_deadline(FRIDAY_3PM, timedelta(hours=48), BUSINESS, channel_date) == channel_date
    naive = datetime(2026, 12, 5, 12)
    assert ship_by_deadline(FRIDAY_3PM, timedelta(hours=48), BUSINESS, naive) == channel_date


def test_the_warning_comes_its_lead_time_before_the_deadline() -> None:
    deadline = FRIDAY_3PM + timedelta(hours=48)
    assert warning_at(deadline, timedelta(hours=4)) == deadline - timedelta(hours=4)
    assert warning_at(deadline, None) is None


def test_a_channels_sla_settings_make_its_calendar() -> None:
    text = SANDBOX.replace("ship_by_business_days: false", "ship_by_business_days: true").replace(
        "ship_by_holidays: []", "ship_by_holidays: [2026-12-25]"
    )
    channel = parse_config(text, "brand.yaml").channel("storefront")
    assert channel.ship_by_warning == timedelta(hours=4)
    assert channel.ship_by_calendar == ShipByCalendar(business_days=True, holidays=frozenset({date(2026, 12, 25)}))


def test_a_warning_not_before_the_deadline_is_refused() -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(SANDBOX.replace("ship_by_warning: 4h", "ship_by_warning: 48h"), "brand.yaml")
    assert "ship_by_warning (2 days, 0:00:00) must be shorter than ship_by_sla" in str(info.value)
