"""The routing trace: what a decision looked at and why, stored on the order (`Allocation.trace`).

The engine writes it as plain dicts (cheap, JSON-ready); `RoutingTrace` is its typed shape for
readers, and `render` turns it into the lines `orderloop route` and `orderloop orders show`
print. Its size is bounded: per step one entry per candidate location at most, rankings cut at
`RANKING_LISTED`, stock shortfalls at `split.SHORT_LISTED`, skipped rules at `RULES_LISTED`.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from orderloop.routing.facts import describe_missing
from orderloop.routing_rules import SortStrategy, SplitPolicy

TRACE_VERSION = 1
RANKING_LISTED = 10
RULES_LISTED = 20
# How many skipped or short locations the explanation names (the trace has them all).
EXPLAINED = 3


class RoutingOutcome(StrEnum):
    ROUTED = "routed"
    # A rule matched and some location may ship, but none has the stock: wait for a restock.
    OUT_OF_STOCK = "out_of_stock"
    # No rule matches, or every candidate location is filtered out (paused, full, closed...).
    UNROUTABLE = "unroutable"


class StepTrace(BaseModel):
    """One step of the matched rule (the rule itself, then each fallback)."""

    model_config = ConfigDict(extra="forbid")

    step: str
    sort: list[SortStrategy]
    split: SplitPolicy
    candidates: int
    # Location -> "filter: reason" for the candidates filtered out before stock was read.
    skipped: dict[str, str] = Field(default_factory=dict)
    # The locations that passed the filters, best first: [id, score per sort strategy...].
    ranking: list[list[str | float | int]] = Field(default_factory=list)
    ranking_not_listed: int = 0
    # Location -> [sku, units wanted, units free] per SKU it lacks, for the locations whose
    # stock was read and fell short.
    short: dict[str, list[tuple[str, int, int]]] = Field(default_factory=dict)
    short_not_listed: int = 0
    result: str


class RoutingTrace(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int = TRACE_VERSION
    channel: str
    order_type: str
    destination: str
    # Where the destination's coordinates came from, when a step sorted by distance.
    geo: str | None = None
    rule: str | None = None
    # 1-based position of the matched rule among the rules that apply to the channel.
    rule_position: int | None = None
    # Rules before the match that did not match, and why.
    rules_skipped: dict[str, str] = Field(default_factory=dict)
    rules_not_listed: int = 0
    forced: str | None = None
    steps: list[StepTrace] = Field(default_factory=list)
    outcome: RoutingOutcome
    # Location -> the line ids it ships.
    assignments: dict[str, list[str]] = Field(default_factory=dict)
    reason: str | None = None
    notes: list[str] = Field(default_factory=list)
    # A multi-address order: each address part's own trace, in the order routed (see
    # `orderloop.routing.parts`); a part's trace names its address reference and its lines.
    parts: list[RoutingTrace] = Field(default_factory=list)
    address_ref: str | None = None
    lines: list[str] = Field(default_factory=list)


def part_label(trace: dict[str, Any]) -> str:
    """ "address 51": a multi-address order's part, by its trace, as explanations name it."""
    ref = trace.get("address_ref")
    return f"address {ref}" if ref else "shipping address"


def explain(trace: dict[str, Any]) -> list[str]:
    """The decision in a few sentences (`Allocation.explanation`), read off the trace."""
    if trace.get("parts"):
        out = list(trace["notes"])
        for i, part in enumerate(trace["parts"], 1):
            out.extend(f"part {i} ({part_label(part)}): {line}" for line in explain(part))
        return out
    out = []
    if trace["forced"]:
        out.append(f"operator reroute to {trace['forced']}: routing rules not applied")
        out.extend(trace["notes"])
    elif trace["rule"]:
        out.append(f"rule {trace['rule']!r} matched (rule {trace['rule_position']} for channel {trace['channel']})")
    steps = trace["steps"]
    routed = trace["outcome"] == RoutingOutcome.ROUTED
    for step in steps[:-1] if routed else steps:
        out.append(f"{step['step']}: {step['result']}")
    if not routed:
        out.append(trace["reason"])
        return out
    last = steps[-1]
    out.extend(f"{loc} skipped: {why}" for loc, why in list(last["skipped"].items())[:EXPLAINED])
    assignments = trace["assignments"]
    if len(assignments) == 1:
        # Why better-placed locations were passed over; a split's result says it already.
        out.extend(
            f"{loc} short: {describe_missing(missing)}" for loc, missing in list(last["short"].items())[:EXPLAINED]
        )
    out.extend(
        f"{loc} ships line(s) {', '.join(lines)} ({last['step']}: {last['result']})"
        for loc, lines in assignments.items()
    )
    return out


def render(trace: dict[str, Any]) -> list[str]:
    """The trace as indented lines for a terminal."""
    t = RoutingTrace.model_validate(trace)
    out = [f"outcome: {t.outcome}"] + ([f"  why: {t.reason}"] if t.reason else [])
    if t.parts:
        out.extend(t.notes)
        for i, part in enumerate(trace["parts"], 1):
            out.append(f"part {i}: {part_label(part)} (line(s) {', '.join(part.get('lines') or [])})")
            out.extend(f"  {line}" for line in render(part))
        return out
    if t.forced:
        out.append(f"operator reroute to {t.forced}: rules not applied")
    elif t.rule:
        out.append(f"rule: {t.rule} (rule {t.rule_position} for channel {t.channel}, order type {t.order_type})")
    else:
        out.append(f"rule: none matched (channel {t.channel}, order type {t.order_type})")
    for name, why in t.rules_skipped.items():
        out.append(f"  rule {name} did not match: {why}")
    if t.rules_not_listed:
        out.append(f"  ... {t.rules_not_listed} more rule(s) did not match")
    out.append(f"destination: {t.destination}" + (f" ({t.geo})" if t.geo else ""))
    for step in t.steps:
        out.append(f"{step.step}: sort {', '.join(step.sort)}, split {step.split}, {step.candidates} candidate(s)")
        for location, why in step.skipped.items():
            out.append(f"  skipped {location}: {why}")
        if step.ranking:
            scores = "; ".join(f"{r[0]} {', '.join(str(v) for v in r[1:])}" for r in step.ranking)
            more = f" (+{step.ranking_not_listed} more)" if step.ranking_not_listed else ""
            out.append(f"  ranking ({', '.join(step.sort)}): {scores}{more}")
        for location, missing in step.short.items():
            out.append(f"  short at {location}: {describe_missing([list(m) for m in missing])}")
        if step.short_not_listed:
            out.append(f"  ... {step.short_not_listed} more location(s) short")
        out.append(f"  -> {step.result}")
    for location, lines in t.assignments.items():
        out.append(f"ships from {location}: line(s) {', '.join(lines)}")
    out.extend(f"note: {note}" for note in t.notes)
    return out


def stored_trace_lines(trace: Any) -> list[str]:
    """`render` for a trace read back from an order view; nothing for an absent or older trace."""
    if not isinstance(trace, dict) or not trace:
        return []
    try:
        return render(trace)
    except ValidationError:
        return [f"(routing trace in an unknown shape: {', '.join(sorted(trace))})"]
