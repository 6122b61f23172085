"""Operators by name through the real stack (dev server, worker, gateway, sandboxes): a named
operator's actions are recorded under their name on the order (in the timeline and
the exception's `resolvedBy`), whatever the request body says; a read-only colleague
reads the same order but is refused the action; a revoked token is refused."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from orderloop.ledger import Ledger, OperatorRole
from orderloop.stack import Stack
from tests.integration.stack import Api, base_url, named_operator
from tests.integration.test_order_loop import order_body

pytestmark = pytest.mark.integration


def in_exception(kind: str) -> Any:
    return lambda v: any(e["kind"] == kind and not e.get("resolvedAt") for e in v["exceptions"])


async def test_a_named_operators_cancel_names_them_on_the_order(stack: Stack, api: Api) -> None:
    external_id = f"ops-{uuid.uuid4().hex[:10]}"
    ada, rita = f"ada-{external_id}", f"rita-{external_id}"
    as_ada = await named_operator(stack, ada)
    as_rita = await named_operator(stack, rita, OperatorRole.READ)
    body = order_body(external_id)
    body["shippingAddress"].pop("address1")  # no street: the order waits in invalid_address
    async with httpx.AsyncClient(timeout=10) as http:
        placed = await http.post(f"{base_url(stack, 'storefront')}/_sandbox/orders", json=body)
    assert placed.status_code in (200, 201, 202), placed.text
    await api.wait_order("storefront", external_id, in_exception("invalid_address"))

    path = f"/api/orders/storefront/{external_id}"
    read = await api.http.get(path, headers=as_rita)
    refused = await api.http.post(f"{path}/cancel", json={"reason": "duplicate order"}, headers=as_rita)
    cancelled = await api.http.post(
        f"{path}/cancel", json={"reason": "duplicate order", "operator": "somebody else"}, headers=as_ada
    )

    assert read.status_code == 200 and read.json()["status"] != "cancelled"
    assert refused.status_code == 403 and refused.json()["error"] == f"operator {rita} is read-only"
    assert cancelled.status_code == 200, cancelled.text
    view = await api.wait_order("storefront", external_id, lambda v: v["status"] == "cancelled")
    [exception] = [e for e in view["exceptions"] if e["kind"] == "invalid_address"]
    assert exception["resolvedBy"] == f"operator {ada}"
    named = [e["event"] for e in view["timeline"] if f"operator {ada}" in (e.get("detail") or "")]
    assert named, view["timeline"]  # the exception's resolution, "(by operator <name>)"
    assert "somebody else" not in str(view)

    ledger = await Ledger.open(stack.ledger_url)
    try:
        await ledger.revoke_operator(ada)
        [row] = [r for r in await ledger.list_operators() if r.name == ada]
    finally:
        await ledger.close()
    assert row.last_used_at is not None  # the gateway marked the credential used
    revoked = await api.http.get(path, headers=as_ada)
    assert revoked.status_code == 401 and "revoked" in revoked.json()["error"]
