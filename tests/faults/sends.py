"""Double-send checks over the sandboxes' raw request logs (`GET /_sandbox/requests`), which keep
every call a vendor received, the ones its store deduplicated included: a shipping request
created once, a tracking push accepted once, each retried under the same idempotency key, and
inventory pushes from one sync process at a time."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from itertools import pairwise
from typing import Any

import httpx

# Recorded request = the sandbox kit's `RecordedRequest` as JSON: method, path, query, headers
# (lower-case names), body (parsed JSON), status, at (epoch seconds when the answer started).
Recorded = Mapping[str, Any]

# A 201 is the one answer that means "created now"; a replay of a known key answers 200.
CREATED = 201


async def recorded(http: httpx.AsyncClient, base_url: str, method: str, path_prefix: str) -> list[dict[str, Any]]:
    """The calls a sandbox received under `path_prefix`, oldest first."""
    response = await http.get(
        f"{base_url.rstrip('/')}/_sandbox/requests", params={"method": method, "path_prefix": path_prefix}
    )
    response.raise_for_status()
    calls: list[dict[str, Any]] = response.json()
    return calls


def sent_once_problems(calls: Iterable[Recorded], ids: Iterable[str], id_field: str) -> list[str]:
    """For each id in `ids`: the calls whose body's `id_field` is that id were answered 201
    exactly once, and all of them carried one `Idempotency-Key`. Returns what is wrong."""
    wanted = set(ids)
    by_id: dict[str, list[Recorded]] = defaultdict(list)
    for call in calls:
        body = call.get("body")
        if isinstance(body, dict) and body.get(id_field) in wanted:
            by_id[str(body[id_field])].append(call)
    problems: list[str] = []
    for ident in sorted(wanted):
        mine = by_id.get(ident, [])
        created = sum(1 for c in mine if c["status"] == CREATED)
        keys = sorted({str(c["headers"].get("idempotency-key")) for c in mine})
        if created != 1:
            statuses = [c["status"] for c in mine]
            problems.append(f"{ident}: {created} accepted creates (statuses of its {len(mine)} calls: {statuses})")
        if len(keys) > 1:
            problems.append(f"{ident}: sent under {len(keys)} idempotency keys {keys}")
    return problems


def inventory_push_problems(calls: Iterable[Recorded], min_gap: float) -> list[str]:
    """Accepted inventory pushes (2xx) come from one sync process at a time: no SKU twice in one
    push, and no two accepted pushes closer than the channel's push gap (`min_gap` seconds; a
    second process pushing the same channel, or a push re-sent by a racing retry, breaks it)."""
    accepted = sorted((c for c in calls if 200 <= c["status"] < 300), key=lambda c: float(c["at"]))
    problems: list[str] = []
    for call in accepted:
        items = call["body"].get("items", []) if isinstance(call.get("body"), dict) else []
        skus = [item.get("sku") for item in items]
        doubled = sorted({sku for sku in skus if skus.count(sku) > 1})
        if doubled:
            problems.append(f"push at {call['at']:.3f} names {doubled} more than once")
    # A 10 ms allowance: the sandbox stamps a call when it answers, the pusher waits from
    # when it saw the answer.
    for before, after in pairwise(accepted):
        gap = float(after["at"]) - float(before["at"])
        if gap < min_gap - 0.01:
            problems.append(f"two accepted pushes {gap * 1000:.0f} ms apart (the channel's gap is {min_gap}s)")
    return problems
