"""The drills' double-send checks can fail: fed request logs with a second accepted create, a
retry under another idempotency key, a lost create, or two inventory pushers, they report it."""

from __future__ import annotations

from typing import Any

from tests.faults.sends import inventory_push_problems, sent_once_problems


def call(ident: str, key: str, status: int, at: float = 0.0, field: str = "externalId") -> dict[str, Any]:
    return {
        "method": "POST",
        "path": "/shipping-requests",
        "query": "",
        "headers": {"idempotency-key": key, "content-type": "application/json"},
        "body": {field: ident, "lineItems": [{"sku": "MUG-11OZ", "quantity": 1}]},
        "status": status,
        "at": at,
    }


def push(at: float, *skus: str, status: int = 200) -> dict[str, Any]:
    body = {"items": [{"sku": sku, "available": 5} for sku in skus]}
    return {
        "method": "POST",
        "path": "/inventory",
        "query": "",
        "headers": {},
        "body": body,
        "status": status,
        "at": at,
    }


def test_one_create_with_its_retries_under_one_key_passes() -> None:
    log = [call("r-1", "k-1", 503), call("r-1", "k-1", 201), call("r-1", "k-1", 200), call("r-2", "k-2", 201)]
    assert sent_once_problems(log, ["r-1", "r-2"], "externalId") == []


def test_a_second_create_under_another_key_fails() -> None:
    # The WMS's store dedupes this by externalId, so a count of its store sees one request.
    log = [call("r-1", "k-1", 201), call("r-1", "k-other", 200)]
    assert sent_once_problems(log, ["r-1"], "externalId") == ["r-1: sent under 2 idempotency keys ['k-1', 'k-other']"]


def test_a_second_accepted_create_fails() -> None:
    log = [call("r-1", "k-1", 201), call("r-1", "k-1", 201)]
    assert sent_once_problems(log, ["r-1"], "externalId") == [
        "r-1: 2 accepted creates (statuses of its 2 calls: [201, 201])"
    ]


def test_a_create_never_accepted_fails() -> None:
    log = [call("r-1", "k-1", 503), call("r-1", "k-1", 429)]
    assert sent_once_problems(log, ["r-1"], "externalId") == [
        "r-1: 0 accepted creates (statuses of its 2 calls: [503, 429])"
    ]


def test_tracking_pushes_are_matched_by_their_shipment_id() -> None:
    log = [call("SHP-1", "SHP-1", 201, field="id"), call("SHP-1", "SHP-1-again", 201, field="id")]
    problems = sent_once_problems(log, ["SHP-1"], "id")
    assert len(problems) == 2 and problems[0].startswith("SHP-1: 2 accepted creates")


def test_calls_for_other_ids_are_not_counted() -> None:
    log = [call("someone-else", "k-9", 201), call("someone-else", "k-10", 201), call("r-1", "k-1", 201)]
    assert sent_once_problems(log, ["r-1"], "externalId") == []


def test_inventory_pushes_one_gap_apart_pass() -> None:
    log = [push(10.0, "A", "B"), push(10.1, "A"), push(10.15, "B", status=503), push(10.3, "B")]
    assert inventory_push_problems(log, 0.1) == []


def test_two_inventory_pushers_fail() -> None:
    log = [push(10.0, "A"), push(10.02, "A"), push(10.5, "B", "B")]
    assert inventory_push_problems(log, 0.1) == [
        "push at 10.500 names ['B'] more than once",
        "two accepted pushes 20 ms apart (the channel's gap is 0.1s)",
    ]
