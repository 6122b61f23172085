"""The routing engine: which fulfillment location ships which lines of an order, and why.

Rule cards from `orderloop.yaml` (see docs/routing.md) are compiled once per configuration;
`route` is pure (configuration, stock, order and context in, a decision with its trace out), so
the order workflow records its result through an activity and the same inputs always give the
same decision.
"""

from orderloop.routing.context import RoutingContext
from orderloop.routing.engine import Decision, route, stock_keys
from orderloop.routing.facts import Stock
from orderloop.routing.plan import RoutingPlan, compile_plan, plan_for
from orderloop.routing.rules import OrderCondition
from orderloop.routing.trace import RoutingOutcome, RoutingTrace, StepTrace, render
from orderloop.routing_rules import LocationFilter, SortStrategy, SplitPolicy

__all__ = [
    "Decision",
    "LocationFilter",
    "OrderCondition",
    "RoutingContext",
    "RoutingOutcome",
    "RoutingPlan",
    "RoutingTrace",
    "SortStrategy",
    "SplitPolicy",
    "StepTrace",
    "Stock",
    "compile_plan",
    "plan_for",
    "render",
    "route",
    "stock_keys",
]
