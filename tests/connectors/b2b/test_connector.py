"""The B2B portal connector against its sandbox: the line decisions are acknowledged once per
order (a retry replays the first answer), the portal checks them against the order's lines,
tracking moves the portal's order status, inventory goes out per buyer account with its own
buffer and share, and the portal's rate limit and outages become the errors Temporal acts on."""

from __future__ import annotations

import base64
import io
from datetime import UTC, datetime
from typing import Any

import pytest
from pypdf import PdfReader

from connectors.b2b.mapping import map_order
from connectors.base import PermanentError, RateLimitedError, RejectedError
from orderloop.model import LineDecision, Order, Shipment, ShipmentLine
from tests.connectors.b2b.conftest import RECEIVED_AT, TENANT, Portal, portal_order


async def placed(portal: Portal, external_id: str = "B2B-10001") -> Order:
    raw = portal_order(external_id)
    response = await portal.http.post("/_sandbox/orders", json=raw)
    assert response.status_code == 202, response.text
    return map_order(
        raw, order_id=f"order/b2b/{external_id}", tenant_id=TENANT, channel_id="b2b", received_at=RECEIVED_AT
    )


def decisions(mug_accepted: int = 36) -> list[LineDecision]:
    mug = "accepted" if mug_accepted == 36 else "changed" if mug_accepted else "rejected"
    return [
        LineDecision(line_id="1", sku="TSHIRT-BLK-M", ordered=24, accepted=24, status="accepted"),
        LineDecision(line_id="2", sku="MUG-11OZ", ordered=36, accepted=mug_accepted, status=mug),
    ]


async def portal_order_state(portal: Portal, external_id: str) -> dict[str, Any]:
    response = await portal.http.get(f"/v1/orders/{external_id}", headers=portal.connector.client.auth_headers())
    state: dict[str, Any] = response.json()
    return state


async def test_the_allocation_is_acknowledged_once_and_the_portal_shows_each_lines_decision(portal: Portal) -> None:
    order = await placed(portal)

    told = await portal.connector.confirm_allocation(order, decisions(mug_accepted=24))
    again = await portal.connector.confirm_allocation(order, decisions(mug_accepted=24))

    assert told == "acknowledged: 1 accepted, 1 changed, 0 rejected"
    assert again is None
    state = await portal_order_state(portal, "B2B-10001")
    assert state["status"] == "acknowledged"
    assert [line["decision"]["accepted"] for line in state["lineItems"]] == [24, 24]
    assert len(state["acknowledgements"]) == 1
    sent = await portal.recorded("POST", "/v1/orders/B2B-10001/acknowledgement")
    assert [r["status"] for r in sent] == [201, 200]
    assert {r["headers"]["idempotency-key"] for r in sent} == {"order/b2b/B2B-10001"}


async def test_an_acknowledgement_of_lines_the_order_does_not_have_is_refused(portal: Portal) -> None:
    order = await placed(portal)
    wrong = [LineDecision(line_id="9", sku="X", ordered=1, accepted=1, status="accepted")]

    with pytest.raises(RejectedError, match=r"lineItems\[0\]\.lineId is not a line of order B2B-10001"):
        await portal.connector.confirm_allocation(order, wrong)


async def test_tracking_moves_the_portal_order_to_shipped(portal: Portal) -> None:
    order = await placed(portal)
    parcels = [
        Shipment(
            id=f"S{n}",
            shipping_request_id="order/b2b/B2B-10001/sr1",
            line_items=[ShipmentLine(sku=line.sku, quantity=line.quantity, line_id=line.id)],
            tracking_numbers=[f"1Z{n:06d}"],
            shipping_carrier="UPS",
            shipped_at=datetime(2026, 12, 8, tzinfo=UTC),
        )
        for n, line in enumerate(order.line_items, start=1)
    ]

    await portal.connector.push_shipment(order, parcels[0])
    assert (await portal_order_state(portal, "B2B-10001"))["status"] == "partially_shipped"
    await portal.connector.push_shipment(order, parcels[1])
    await portal.connector.push_shipment(order, parcels[1])

    assert (await portal_order_state(portal, "B2B-10001"))["status"] == "shipped"
    records = (await portal.http.get("/_sandbox/fulfillments", params={"order": "B2B-10001"})).json()
    assert [r["idempotencyKey"] for r in records] == ["S1", "S2"]
    assert records[0]["body"]["customerPONumber"] == "4500012345"


async def test_inventory_goes_to_each_account_with_its_buffer_and_share(portal: Portal) -> None:
    await portal.connector.push_inventory({"TSHIRT-BLK-M": 120, "MUG-11OZ": 3})

    levels = (await portal.http.get("/_sandbox/inventory")).json()["levels"]
    shown = {account: {sku: v["available"] for sku, v in skus.items()} for account, skus in levels.items()}
    assert shown == {
        "acme-retail": {"MUG-11OZ": 0, "TSHIRT-BLK-M": 58},
        "corner-shop": {"MUG-11OZ": 3, "TSHIRT-BLK-M": 120},
    }
    assert len(await portal.recorded("PUT", "/v1/accounts/")) == 2


async def test_a_cancel_by_orderloop_reaches_the_portal_once(portal: Portal) -> None:
    order = await placed(portal)

    assert await portal.connector.cancel_order(order, "case packs not amended")
    assert await portal.connector.cancel_order(order, "case packs not amended")

    state = await portal_order_state(portal, "B2B-10001")
    assert (state["status"], state["cancelReason"]) == ("cancelled", "case packs not amended")
    sent = await portal.recorded("POST", "/v1/orders/B2B-10001/cancellation")
    assert [r["status"] for r in sent] == [201, 200]


async def test_the_portals_rate_limit_is_a_rate_limited_error_with_its_retry_after(portal: Portal) -> None:
    await portal.http.post("/_sandbox/config", json={"rate_limit": 2, "rate_window": 30})
    await portal.connector.push_inventory({"MUG-11OZ": 1})  # two calls: one per account

    with pytest.raises(RateLimitedError) as error:
        await portal.connector.push_inventory({"MUG-11OZ": 1})

    assert error.value.retry_after is not None and 1 <= error.value.retry_after <= 30
    assert [r["status"] for r in await portal.recorded("PUT", "/v1/accounts/")] == [200, 200, 429]
    refused = await portal.http.get("/v1/orders", headers=portal.connector.client.auth_headers())
    assert refused.status_code == 429
    assert refused.json()["retryAfter"] == int(refused.headers["retry-after"])
    assert refused.headers["x-ratelimit-remaining"] == "0"


async def test_every_answer_carries_the_rate_limit_headers(portal: Portal) -> None:
    response = await portal.http.get("/v1/orders", headers=portal.connector.client.auth_headers())

    assert response.status_code == 200
    assert response.headers["x-ratelimit-limit"] == "120"
    assert int(response.headers["x-ratelimit-remaining"]) == 119


async def test_a_wrong_token_is_a_permanent_error(portal: Portal, monkeypatch: pytest.MonkeyPatch) -> None:
    order = await placed(portal)
    monkeypatch.setenv("ORDERLOOP_B2B_API_TOKEN", "revoked")

    with pytest.raises(PermanentError) as error:
        await portal.connector.confirm_allocation(order, decisions())

    assert error.value.status_code == 401


async def test_poll_reads_every_page_and_marks_cancelled_orders(portal: Portal) -> None:
    for n in range(5):
        await placed(portal, f"B2B-P{n}")
    await portal.http.post("/_sandbox/orders/B2B-P3/cancel", json={"reason": "budget cut"})

    orders = await portal.connector.poll_orders(datetime(2000, 1, 1, tzinfo=UTC))
    paged = await portal.connector.client.orders_since(datetime(2000, 1, 1, tzinfo=UTC), page_size=2)

    assert {o.external_id: o.cancelled for o in orders} == {f"B2B-P{n}": n == 3 for n in range(5)}
    # Oldest update first: the cancelled order comes last.
    assert [o["externalId"] for o in paged] == ["B2B-P0", "B2B-P1", "B2B-P2", "B2B-P4", "B2B-P3"]
    assert len(await portal.recorded("GET", "/v1/orders")) == 1 + 3


async def test_each_shipment_sends_its_invoice_pdf_to_the_buyer_once(portal: Portal) -> None:
    order = await placed(portal)
    parcel = Shipment(
        id="order/b2b/B2B-10001/sr1/ship1",
        shipping_request_id="order/b2b/B2B-10001/sr1",
        line_items=[ShipmentLine(sku="TSHIRT-BLK-M", quantity=24, line_id="1")],
        tracking_numbers=["1Z0001"],
        shipped_at=datetime(2026, 12, 8, tzinfo=UTC),
    )

    await portal.connector.push_shipment(order, parcel)
    await portal.connector.push_shipment(order, parcel)

    [document] = (await portal.http.get("/_sandbox/documents", params={"order": "B2B-10001"})).json()
    assert (document["kind"], document["filename"]) == ("invoice", "INV-B2B-10001-ship1.pdf")
    text = PdfReader(io.BytesIO(base64.b64decode(document["content"]))).pages[0].extract_text()
    assert "PO 4500012345" in text and "Due 2027-01-07" in text and "Total 234.00 USD" in text
