"""The `operations:` block of orderloop.yaml: how long the operations record is kept, what an
operator hour costs, the handling minutes each operator action kind takes, and the go-live
readiness window and thresholds (orderloop.readiness). Validated at load like the rest of the
file (a bad value is refused naming its line).

    operations:
      retention_days: 90
      hourly_cost: 45.00
      currency: USD
      handling_minutes: {retry: 3, reroute: 8, cancel: 4, amend_address: 6, mark_shipped: 5}
      readiness:
        window: 48h
        min_orders: 20
        max_push_latency_p99_seconds: 300
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import Field

from orderloop.config_values import Duration, Strict

# The operator API's actions (orderloop.contracts.Updates), as `handling_minutes` keys.
ActionKind = Literal["retry", "reroute", "cancel", "amend_address", "mark_shipped"]


class ReadinessThresholds(Strict):
    """What a channel in its monitoring window must show to be ready to expand."""

    # How long a channel is watched after it went live (its rollout's first change).
    window: Duration = timedelta(hours=48)
    min_orders: int = Field(default=20, ge=0)
    # Share of the channel's inventory pushes the channel accepted.
    min_pushes_in_sync: float = Field(default=0.99, ge=0, le=1)
    max_push_latency_p99_seconds: float = Field(default=300, gt=0)
    # SKUs whose published quantity reconciliation found off from the ledger's.
    max_drift: int = Field(default=0, ge=0)
    # Share of orders routed on their first allocation (no stock or routing exception, no reroute).
    min_routed_first_try: float = Field(default=0.95, ge=0, le=1)
    max_unroutable: int = Field(default=0, ge=0)
    # Exceptions per 100 orders may be at most this multiple of the other channels' over the
    # same window, and never less than the floor (a baseline of zero would allow nothing).
    max_exceptions_vs_baseline: float = Field(default=1.5, gt=0)
    exceptions_per_100_floor: float = Field(default=5.0, ge=0)
    # Share of orders shipped without an SLA breach.
    min_sla_adherence: float = Field(default=0.95, ge=0, le=1)


class OperationsConfig(Strict):
    retention_days: int = Field(default=90, ge=1, le=3650)
    hourly_cost: Decimal = Field(default=Decimal("45.00"), ge=0, max_digits=12, decimal_places=2)
    currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$")
    # Minutes of operator time each action takes, beyond the raise-to-resolve wait.
    handling_minutes: dict[ActionKind, Annotated[float, Field(ge=0)]] = Field(default_factory=dict)
    # For an action kind `handling_minutes` does not name.
    default_handling_minutes: float = Field(default=5.0, ge=0)
    readiness: ReadinessThresholds = ReadinessThresholds()

    def minutes_for(self, action: str) -> float:
        for kind, minutes in self.handling_minutes.items():
            if kind == action:
                return minutes
        return self.default_handling_minutes
