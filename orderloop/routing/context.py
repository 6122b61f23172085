"""What a routing decision reads besides the order, the configuration and the stock."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class RoutingContext:
    # The decision's time (the workflow's clock): outage windows are judged against it.
    now: datetime
    # Orders already placed today per location id, for `daily_order_capacity`.
    orders_today: dict[str, int] = field(default_factory=dict)
    # An operator's reroute: ship from this location whatever the rules say (stock still counts).
    force_location: str | None = None
    # Locations whose fulfillment channel refused this order's shipping request.
    exclude_locations: list[str] = field(default_factory=list)
