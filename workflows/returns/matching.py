"""Whether a receipt matches what was authorised: the same SKUs, every announced unit accounted
for (in any condition, `missing` included), nothing else in the parcel."""

from __future__ import annotations

from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from orderloop.returns_model import ReturnReceipt, ReturnRequest


def receipt_mismatch(request: ReturnRequest | None, receipt: ReturnReceipt) -> tuple[str, dict[str, Any]] | None:
    """(message, detail) when the receipt differs from the authorisation, else None."""
    if request is None:
        return None
    expected = request.quantities()
    got = receipt.quantities()
    problems = []
    for sku in sorted(set(expected) | set(got)):
        want, have = expected.get(sku, 0), got.get(sku, 0)
        if want == 0:
            problems.append(f"{have} {sku} received, which the return does not name")
        elif have != want:
            problems.append(f"{have} of {want} {sku} received")
    if not problems:
        return None
    return "the receipt does not match the authorisation: " + "; ".join(problems), {
        "expected": expected,
        "received": got,
    }
