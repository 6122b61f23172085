"""A TikTok Shop return through ShipBob, end to end through the real stack: a TikTok order
shipped by ShipBob, the buyer's return request on TikTok (its signed RETURN_STATUS_CHANGE
notification, delivered twice, read back through the returns search), the return workflow
(authorised by an operator: the channel has the default, review-first policy), exactly one
ShipBob return order, ShipBob's staff processing it (one unit restocked, one quarantined), the
ledger's stock back on hand at the ShipBob location, and TikTok told once: the request approved
(nobody had in Seller Center) and the received package approved, after which TikTok refunds."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from orderloop.stack import Stack
from tests.integration.stack import Api
from tests.integration.test_order_loop import base_url, completed
from tests.integration.test_returns import awaiting_review, eventually
from tests.integration.test_tiktok import logged, notified, place, tiktok  # noqa: F401 - the fixture

pytestmark = pytest.mark.integration

SKU = "TSHIRT-WHT-M"
LOCATION = "shipbob-nj"


async def test_a_tiktok_return_is_received_at_shipbob_restocked_and_its_package_approved_once(
    stack: Stack,
    api: Api,
    tiktok: httpx.AsyncClient,  # noqa: F811 - the fixture
) -> None:
    shipbob = base_url(stack, "shipbob")
    order_id = await place(tiktok)
    await notified(tiktok, order_id, "ON_HOLD")
    await tiktok.post(f"/_sandbox/orders/{order_id}/release")
    view = await api.wait_order("tiktok", order_id, completed)
    assert view["shippingRequests"][0]["request"]["locationId"] == LOCATION

    async with httpx.AsyncClient(base_url=shipbob, timeout=10) as bob:

        async def ledger() -> dict[str, Any]:
            return dict((await api.http.get(f"/api/inventory/{SKU}")).json())

        async def on_hand() -> int:
            rows = (await ledger())["locations"]
            return int(next(row["onHand"] for row in rows if row["location"] == LOCATION))

        before = await on_hand()
        asked = await tiktok.post(
            f"/_sandbox/orders/{order_id}/returns",
            params={"duplicate": "true"},
            json={"line_items": [{"sku": SKU, "quantity": 2}]},
        )
        assert asked.status_code == 201, asked.text
        return_id = str(asked.json()["return_id"])
        workflow_id = f"return/tiktok/{return_id}"

        async def the_return() -> dict[str, Any]:
            response = await api.http.get(f"/api/returns/tiktok/{return_id}")
            return dict(response.json()) if response.status_code == 200 else {}

        async def shipbob_returns() -> list[dict[str, Any]]:
            found = (await bob.get("/_sandbox/returns")).json()
            return [r for r in found if r["reference_id"] == workflow_id]

        await eventually(the_return, awaiting_review, "the return waiting for review")
        authorised = await api.http.post(f"/api/returns/tiktok/{return_id}/authorise", json={"operator": "e2e"})
        assert authorised.status_code == 200, authorised.text
        view = await eventually(the_return, lambda v: v.get("status") == "authorised", "the return authorised")
        assert view["orderWorkflowId"] == f"order/tiktok/{order_id}" and view["locationId"] == LOCATION
        assert [(line["sku"], line["quantityReturned"]) for line in view["request"]["returnLineItems"]] == [(SKU, 2)]
        [rma] = await eventually(shipbob_returns, lambda found: len(found) == 1, "the ShipBob return order")

        actions = [
            {"sku": SKU, "action": "Restock", "quantity": 1},
            {"sku": SKU, "action": "Quarantine", "quantity": 1, "reason": "Stained"},
        ]
        assert (await bob.post(f"/_sandbox/returns/{rma['id']}/arrive")).status_code == 200
        processed = await bob.post(f"/_sandbox/returns/{rma['id']}/process", json={"actions": actions})
        assert processed.status_code == 200, processed.text

        view = await eventually(the_return, lambda v: v.get("status") == "closed", "the return closed")
        assert (view["restocked"], view["nonSellable"]) == ({SKU: 1}, {SKU: 1})
        assert await on_hand() == before + 1
        assert len(await shipbob_returns()) == 1

    # TikTok told once: the request approved, then the received package; then it refunds.
    decisions = (await tiktok.get("/_sandbox/returns/decisions", params={"return_id": return_id})).json()
    assert [d["decision"] for d in decisions] == ["APPROVE_RETURN", "APPROVE_RECEIVED_PACKAGE"]
    approvals = await logged(tiktok, "POST", f"/return_refund/202309/returns/{return_id}/")
    assert [c["status"] for c in approvals] == [200, 200]
    [stored] = [r for r in (await tiktok.get("/_sandbox/returns")).json() if r["return_id"] == return_id]
    assert stored["return_status"] in ("RETURN_OR_REFUND_REQUEST_SUCCESS", "RETURN_OR_REFUND_REQUEST_COMPLETE")
