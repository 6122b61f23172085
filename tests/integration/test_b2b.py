"""The loop through the B2B portal over the real stack: a portal order (delivered twice, signed
by Standard Webhooks) starts one wholesale order, routed from the East DC by the
`b2b-wholesale-from-the-dc` rule card; the portal is told each line's decision once; the WMS
gets one shipping request carrying the PO number, the packing slip and a GS1-128 label per
carton (valid SSCCs); every parcel is one tracking record and one invoice PDF at the portal. A
portal order with a line off its case pack waits in `case_pack_violation` with the reason, and
the buyer's amended PO (order.updated) sends it on. Call counts come from the sandboxes' logs."""

from __future__ import annotations

import base64
import io
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio
from pypdf import PdfReader

from orderloop.documents.sscc import is_valid_sscc
from orderloop.stack import Stack
from tests.integration.stack import Api, base_url, logged, open_exception
from tests.integration.test_order_loop import completed

pytestmark = pytest.mark.integration

ADDRESS = {
    "company": "Acme Retail DC",
    "firstName": "Receiving",
    "lastName": "Dock 4",
    "address1": "1 Distribution Way",
    "city": "Columbus",
    "stateOrProvince": "OH",
    "zipCodeOrPostalCode": "43219",
    "country": "US",
}


@pytest_asyncio.fixture
async def portal(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=base_url(stack, "b2b"), timeout=10) as http:
        yield http


@pytest_asyncio.fixture
async def wms(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=base_url(stack, "wms"), timeout=10) as http:
        yield http


def portal_order(external_id: str, mugs: int = 24) -> dict[str, Any]:
    return {
        "externalId": external_id,
        "currency": "USD",
        "customerPONumber": f"PO-{external_id}",
        "account": {"id": "acme-retail", "name": "Acme Retail Inc."},
        "paymentTerms": {"code": "NET30", "netDays": 30},
        "shipComplete": True,
        "markforAddress": {"locationIdentifier": "0457", "name": "Acme Store 457"},
        "shippingAddress": ADDRESS,
        "lineItems": [
            {"id": "1", "sku": "TSHIRT-BLK-M", "quantity": 12, "casePack": 6, "unitPrice": 9.75},
            {"id": "2", "sku": "MUG-11OZ", "quantity": mugs, "casePack": 12, "unitPrice": 4.2},
        ],
    }


async def place(portal: httpx.AsyncClient, body: dict[str, Any], **params: str) -> None:
    placed = await portal.post("/_sandbox/orders", json=body, params=params)
    assert placed.status_code == 202, placed.text


async def test_a_portal_order_ships_from_the_dc_with_its_documents_and_tracking_and_invoices_go_back(
    stack: Stack, api: Api, portal: httpx.AsyncClient, wms: httpx.AsyncClient
) -> None:
    external_id = f"B2B-{uuid.uuid4().hex[:8]}"
    await place(portal, portal_order(external_id), duplicate="true")

    view = await api.wait_order("b2b", external_id, completed)

    assert view["allocation"]["rule"] == "b2b-wholesale-from-the-dc"
    [request] = view["shippingRequests"]
    assert request["request"]["locationId"] == "east"
    # One acknowledgement with each line's decision, before the request went out.
    acks = await logged(portal, "POST", f"/v1/orders/{external_id}/acknowledgement")
    assert [r["status"] for r in acks] == [201]
    state = (await portal.get("/_sandbox/orders")).json()
    [order] = [o for o in state if o["externalId"] == external_id]
    assert [(line["decision"]["status"], line["decision"]["accepted"]) for line in order["lineItems"]] == [
        ("accepted", 12),
        ("accepted", 24),
    ]
    assert order["status"] == "shipped"
    # The WMS got one request, with the PO and the documents: 2 + 2 cartons, 4 valid SSCCs.
    at_wms = [
        r for r in (await wms.get("/_sandbox/shipping-requests")).json() if r["externalId"] == request["request"]["id"]
    ]
    assert len(at_wms) == 1 and at_wms[0]["customerPONumber"] == f"PO-{external_id}"
    kinds = {doc["kind"]: doc for doc in at_wms[0]["documents"]}
    assert set(kinds) == {"packing_slip", "carton_labels"}
    ssccs = kinds["carton_labels"]["ssccs"]
    assert len(ssccs) == 4 and all(is_valid_sscc(code) for code in ssccs)
    assert [d["ssccs"] for d in request["documents"]] == [ssccs, ssccs]
    # Each parcel: one tracking record and one invoice at the portal.
    parcels = len(view["shipments"])
    fulfillments = (await portal.get("/_sandbox/fulfillments", params={"order": external_id})).json()
    invoices = (await portal.get("/_sandbox/documents", params={"order": external_id})).json()
    assert len(fulfillments) == len(invoices) == parcels >= 1
    assert {f["body"]["customerPONumber"] for f in fulfillments} == {f"PO-{external_id}"}
    text = PdfReader(io.BytesIO(base64.b64decode(invoices[0]["content"]))).pages[0].extract_text()
    assert f"PO PO-{external_id}" in text and "Terms NET30" in text


async def test_a_portal_order_off_its_case_pack_waits_with_the_reason_until_the_buyer_amends_it(
    stack: Stack, api: Api, portal: httpx.AsyncClient
) -> None:
    external_id = f"B2B-{uuid.uuid4().hex[:8]}"
    await place(portal, portal_order(external_id, mugs=20))

    view = await api.wait_order("b2b", external_id, open_exception("case_pack_violation"))

    [exc] = [e for e in view["exceptions"] if e["kind"] == "case_pack_violation"]
    assert exc["message"] == "line 2 (MUG-11OZ) orders 20, not a multiple of its case pack of 12"
    assert view["shippingRequests"] == []
    assert await logged(portal, "POST", f"/v1/orders/{external_id}/acknowledgement") == []

    amended = await portal.post(
        f"/_sandbox/orders/{external_id}/edit", json={"lineItems": portal_order(external_id)["lineItems"]}
    )
    assert amended.status_code == 202, amended.text
    view = await api.wait_order("b2b", external_id, completed)
    assert [line["ordered"] for line in view["lines"]] == [12, 24]
