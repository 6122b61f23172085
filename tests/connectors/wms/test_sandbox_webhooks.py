"""A fault drill on the WMS sandbox's webhooks: the shipment reports of a split shipment are held,
released newest first and one is delivered again, and the WMS connector accepts every one of them
as signed, each naming its own parcel."""

from __future__ import annotations

import json

from connectors.base import InboundKind
from orderloop.contracts import FulfillmentStatus
from tests.connectors.wms.conftest import REQUEST_ID, WebhookReceiver, Wms, shipping_request


async def test_split_shipment_reports_arrive_reversed_and_one_twice(wms: Wms, receiver: WebhookReceiver) -> None:
    receipt = await wms.connector.create_shipping_request(shipping_request())
    hold = await wms.http.post("/_sandbox/webhooks/hold", params={"topic": "shipment.created"})
    assert hold.json()["hold_topics"] == ["shipment.created"]
    shipped = await wms.http.post(f"/_sandbox/ship/{receipt.vendor_id}", params={"parts": 2})
    parcels = [s["id"] for s in shipped.json()["shipments"]]
    # Only shipment reports are held: a stock report goes out at once.
    await wms.http.post("/_sandbox/stock", json={"east": {"POSTER-A2": 4}})
    await wms.webhooks_sent()
    assert receiver.topics() == ["inventory.updated"]
    held = (await wms.http.get("/_sandbox/webhooks/held")).json()
    assert [json.loads(h["body"])["id"] for h in held] == parcels
    first_id, second_id = (h["webhook_id"] for h in held)

    released = await wms.http.post("/_sandbox/webhooks/release", params={"order": "reverse"})
    await wms.webhooks_sent()
    redelivered = await wms.http.post(f"/_sandbox/webhooks/{first_id}/redeliver")
    await wms.webhooks_sent()

    assert [w["webhook_id"] for w in released.json()["released"]] == [second_id, first_id]
    assert redelivered.status_code == 200
    reports = receiver.received[1:]
    events = [wms.connector.parse_webhook(d.headers, d.body) for d in reports]
    assert [e.kind for e in events] == [InboundKind.SHIPMENT] * 3
    assert [e.event_id for e in events] == [second_id, first_id, first_id]
    assert [e.shipment.id for e in events if e.shipment] == [parcels[1], parcels[0], parcels[0]]
    assert {e.shipment.shipping_request_id for e in events if e.shipment} == {REQUEST_ID}
    # The redelivery is the first report again, byte for byte and with its signature.
    assert reports[2].body == reports[1].body and reports[2].headers == reports[1].headers
    assert [events[1].shipment, events[0].shipment] == await wms.connector.fetch_shipments(
        shipping_request(), receipt.vendor_id
    )
    log = (await wms.http.get("/_sandbox/webhooks", params={"topic": "shipment.created"})).json()
    assert [(w["webhook_id"], w["sends"], w["state"]) for w in log] == [
        (first_id, 2, "delivered"),
        (second_id, 1, "delivered"),
    ]


async def test_the_wms_reports_a_hold_its_release_and_the_delivery_of_a_request(
    wms: Wms, receiver: WebhookReceiver
) -> None:
    await wms.http.post("/_sandbox/config", json={"auto_ship": False})
    receipt = await wms.connector.create_shipping_request(shipping_request())
    held = await wms.http.post(f"/_sandbox/hold/{receipt.vendor_id}", json={"reason": "address to check"})
    assert held.json()["hold"] == "address to check"
    refused = await wms.http.post(f"/_sandbox/ship/{receipt.vendor_id}")
    assert refused.json()["shipments"] == []  # a held request does not ship
    await wms.http.post(f"/_sandbox/hold/{REQUEST_ID}", json={"reason": "short at bin A3", "exception": True})
    await wms.http.post(f"/_sandbox/release/{REQUEST_ID}")
    await wms.http.post(f"/_sandbox/ship/{REQUEST_ID}")
    await wms.http.post(f"/_sandbox/deliver/{REQUEST_ID}")
    await wms.webhooks_sent()

    events = [wms.connector.parse_webhook(d.headers, d.body) for d in receiver.received]
    assert receiver.topics() == [
        "request.on_hold",
        "request.exception",
        "request.released",
        "shipment.created",
        "request.delivered",
    ]
    updates = [e.fulfillment for e in events if e.kind is InboundKind.FULFILLMENT_UPDATE]
    assert [(u.request_id, u.status, u.reason) for u in updates if u] == [
        (REQUEST_ID, FulfillmentStatus.ON_HOLD, "address to check"),
        (REQUEST_ID, FulfillmentStatus.EXCEPTION, "short at bin A3"),
        (REQUEST_ID, FulfillmentStatus.RELEASED, None),
        (REQUEST_ID, FulfillmentStatus.DELIVERED, None),
    ]
    assert all(u is not None and u.at is not None for u in updates)
