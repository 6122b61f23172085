"""A Walmart return through ShipBob, end to end through the real stack: a Walmart purchase order
shipped by ShipBob, a customer's return of its first line opened on Walmart (the signed
RETURN_CREATED notification, read back from the Returns API before the gateway acts), the return
workflow (authorised by an operator: the channel has the default, review-first policy), one
ShipBob return order with our return id as reference_id, ShipBob's staff processing it (one unit
restocked, one quarantined), and Walmart's refund of both units issued exactly once
(`POST /v3/returns/{id}/refund`). The intake is the gateway's, as for every channel's webhook."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from orderloop.stack import Stack
from tests.integration.stack import Api
from tests.integration.test_order_loop import base_url, completed
from tests.integration.test_returns import awaiting_review, eventually
from tests.integration.test_walmart import ADDRESS, logged

pytestmark = pytest.mark.integration

SKU = "TSHIRT-WHT-M"
LOCATION = "shipbob-nj"
ORDER = {
    "externalId": "it-walmart-return",
    "shippingCode": "standard",
    "shippingAddress": ADDRESS,
    "lineItems": [{"sku": SKU, "quantity": 2, "unitPrice": 19.0}],
}


async def test_a_walmart_return_is_received_at_shipbob_and_refunded_on_walmart_once(stack: Stack, api: Api) -> None:
    shipbob = base_url(stack, "shipbob")
    async with (
        httpx.AsyncClient(base_url=base_url(stack, "walmart"), timeout=10) as walmart,
        httpx.AsyncClient(timeout=10) as http,
    ):
        placed = await walmart.post("/_sandbox/orders", json=ORDER)
        assert placed.status_code == 200, placed.text
        po = str(placed.json()["id"])
        view = await api.wait_order("walmart", po, completed)
        assert view["shippingRequests"][0]["request"]["locationId"] == LOCATION

        lines = [{"lineNumber": "1", "quantity": 2, "reason": "WRONG_SIZE/POOR_FIT"}]
        opened = await walmart.post(f"/_sandbox/orders/{po}/returns", json={"lines": lines})
        assert opened.status_code == 200, opened.text
        return_id = str(opened.json()["returnOrderId"])

        async def the_return() -> dict[str, Any]:
            response = await api.http.get(f"/api/returns/walmart/{return_id}")
            return dict(response.json()) if response.status_code == 200 else {}

        async def shipbob_returns() -> list[dict[str, Any]]:
            found = (await http.get(f"{shipbob}/_sandbox/returns")).json()
            return [r for r in found if r["reference_id"] == f"return/walmart/{return_id}"]

        view = await eventually(the_return, awaiting_review, "the return waiting for review")
        assert [
            (ln["orderLineItemId"], ln["sku"], ln["quantityReturned"]) for ln in view["request"]["returnLineItems"]
        ] == [("1", SKU, 2)]
        assert view["orderWorkflowId"] == f"order/walmart/{po}"
        authorised = await api.http.post(f"/api/returns/walmart/{return_id}/authorise", json={"operator": "e2e"})
        assert authorised.status_code == 200, authorised.text
        [rma] = await eventually(shipbob_returns, lambda found: len(found) == 1, "the ShipBob return order")

        actions = [
            {"sku": SKU, "action": "Restock", "quantity": 1},
            {"sku": SKU, "action": "Quarantine", "quantity": 1, "reason": "Stained"},
        ]
        assert (await http.post(f"{shipbob}/_sandbox/returns/{rma['id']}/arrive")).status_code == 200
        processed = await http.post(f"{shipbob}/_sandbox/returns/{rma['id']}/process", json={"actions": actions})
        assert processed.status_code == 200, processed.text

        view = await eventually(the_return, lambda v: v.get("status") == "closed", "the return closed")
        assert (view["restocked"], view["nonSellable"]) == ({SKU: 1}, {SKU: 1})
        refunds = await logged(walmart, "POST", f"/v3/returns/{return_id}/refund")
        [stored] = [r for r in (await walmart.get("/_sandbox/returns")).json() if r["returnOrderId"] == return_id]
        assert len(await shipbob_returns()) == 1

    assert len(refunds) == 1
    assert refunds[0]["body"]["refundLines"] == [
        {"returnOrderLineNumber": 1, "quantity": {"unitOfMeasure": "EACH", "measurementValue": 2}}
    ]
    [line] = stored["returnOrderLines"]
    assert (line["refundedQty"], line["status"]) == (2, "COMPLETED")
