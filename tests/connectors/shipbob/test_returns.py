"""ShipBob's returns role: the return order body, the receipt mapped from a return order shaped
like ShipBob's documented `ReturnOrder` (actions taken -> conditions), and against the sandbox a
return created once with our id as `reference_id` (a retry finds it), arriving and processed,
its signed `return.completed` webhook confirmed into a receipt."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from connectors.base import InboundKind, MappingError, RejectedError, SignatureError
from connectors.shipbob import ShipBobConnector
from connectors.shipbob.mapping import ShipBobSettings
from connectors.shipbob.returns import receipt_from_return, return_body
from orderloop.config import ChannelConfig
from orderloop.returns_model import ExpectedReturn, ReturnCondition, ReturnLine, ReturnProgressKind
from tests.connectors.shipbob.conftest import BASE_URL, Harness, fixture

RETURN_ID = "return/shopify/9876543210"
SETTINGS = ShipBobSettings(channel_id=341234, fulfillment_centers={"east": 8, "west": 10})


def expected(return_id: str = RETURN_ID, location: str = "east", **quantities: int) -> ExpectedReturn:
    wanted = quantities or {"TSHIRT-BLK-M": 2, "MUG-11OZ": 1}
    return ExpectedReturn(
        return_id=return_id,
        order_id="order/shopify/5700000001",
        external_order_id="5700000001",
        channel_id="shopify",
        fulfillment_channel_id="shipbob",
        location_id=location,
        lines=[
            ReturnLine(id=f"r{i}", order_line_item_id=f"l{i}", sku=sku.replace("_", "-"), quantity_returned=qty)
            for i, (sku, qty) in enumerate(sorted(wanted.items()))
        ],
        created_at=datetime(2026, 12, 1, tzinfo=UTC),
    )


def counts(receipt: Any) -> dict[tuple[str, ReturnCondition], int]:
    return {(line.sku, line.condition): line.quantity for line in receipt.lines}


def test_return_body_names_inventory_ids_once_each_at_the_locations_center() -> None:
    body = return_body(
        expected().model_copy(
            update={
                "lines": [
                    ReturnLine(id="a", order_line_item_id="1", sku="TSHIRT-BLK-M", quantity_returned=1),
                    ReturnLine(id="b", order_line_item_id="2", sku="TSHIRT-BLK-M", quantity_returned=2),
                ]
            }
        ),
        SETTINGS,
        {"TSHIRT-BLK-M": 301000001},
    )
    assert body == {
        "reference_id": RETURN_ID,
        "fulfillment_center": {"id": 8},
        "inventory": [{"id": 301000001, "quantity": 3, "requested_action": "Default"}],
    }


def test_a_return_to_an_unmapped_location_or_of_an_unknown_sku_is_refused_with_the_reason() -> None:
    with pytest.raises(MappingError, match="has no ShipBob fulfillment center"):
        return_body(expected(location="north"), SETTINGS, {"TSHIRT-BLK-M": 1, "MUG-11OZ": 2})
    with pytest.raises(MappingError, match="no inventory item for MUG-11OZ"):
        return_body(expected(), SETTINGS, {"TSHIRT-BLK-M": 1})


def test_receipt_maps_actions_taken_to_conditions_and_unprocessed_units_to_missing() -> None:
    receipt = receipt_from_return(
        fixture("return_order_completed.json"), SETTINGS, {301000001: "TSHIRT-BLK-M", 301000003: "MUG-11OZ"}, "evt-1"
    )
    assert receipt is not None
    assert receipt.return_id == RETURN_ID
    assert receipt.location_id == "east"
    assert receipt.event_id == "evt-1"
    assert receipt.received_at == datetime(2026, 12, 2, 10, 41, 9, 441000, tzinfo=UTC)
    assert counts(receipt) == {
        ("TSHIRT-BLK-M", ReturnCondition.SELLABLE): 1,
        ("TSHIRT-BLK-M", ReturnCondition.DAMAGED): 1,
        ("MUG-11OZ", ReturnCondition.WRONG_ITEM): 1,
        ("MUG-11OZ", ReturnCondition.MISSING): 1,
    }
    damaged = next(line for line in receipt.lines if line.condition is ReturnCondition.DAMAGED)
    assert damaged.note == "Torn seam"


def test_a_return_not_processed_yet_has_no_receipt_and_one_without_reference_is_refused() -> None:

    arrived = fixture("return_order_completed.json") | {"status": "Arrived"}
    for item in arrived["inventory"]:
        item["action_taken"] = []
    assert receipt_from_return(arrived, SETTINGS, {}) is None
    with pytest.raises(MappingError, match="reference_id"):
        receipt_from_return({"id": 1, "inventory": []}, SETTINGS, {})


async def test_create_return_once_then_arrival_and_processing_give_a_signed_receipt(harness: Harness) -> None:
    connector = harness.connector
    created = await connector.create_return(expected())
    again = await connector.create_return(expected())
    assert again.duplicate and again.vendor_id == created.vendor_id and not created.duplicate
    assert len(harness.requests("POST", "/2026-01/return")) == 1
    [stored] = await harness.control("GET", "returns")
    assert stored["reference_id"] == RETURN_ID and stored["status"] == "AwaitingArrival"
    assert stored["fulfillment_center"]["id"] == 8
    assert {i["name"]: i["quantity"] for i in stored["inventory"]} == {"TSHIRT-BLK-M": 2, "MUG-11OZ": 1}
    assert await connector.fetch_return_receipt(RETURN_ID, None) is None

    before = harness.sandbox.stock[8]["TSHIRT-BLK-M"]
    await harness.control("POST", f"returns/{RETURN_ID}/arrive")
    actions = [
        {"sku": "TSHIRT-BLK-M", "action": "Restock", "quantity": 1},
        {"sku": "TSHIRT-BLK-M", "action": "Quarantine", "quantity": 1, "reason": "Stained"},
    ]
    await harness.control("POST", f"returns/{RETURN_ID}/process", json={"actions": actions})
    assert harness.sandbox.stock[8]["TSHIRT-BLK-M"] == before + 1

    deliveries = await harness.receiver.wait_for(3)
    topics = [d.headers["x-webhook-topic"] for d in deliveries]
    assert topics == ["return.created", "return.updated", "return.completed"]
    created_event = connector.parse_webhook(deliveries[0].headers, deliveries[0].body)
    assert created_event.kind is InboundKind.IGNORED
    completed = deliveries[2]
    event = connector.parse_webhook(completed.headers, completed.body)
    assert event.kind is InboundKind.RETURN_RECEIVED and event.return_receipt is None
    confirmed = await connector.confirm_event(event)
    assert confirmed.kind is InboundKind.RETURN_RECEIVED
    assert confirmed.return_receipt is not None
    assert confirmed.return_receipt.event_id == completed.headers["webhook-id"]
    assert counts(confirmed.return_receipt) == {
        ("TSHIRT-BLK-M", ReturnCondition.SELLABLE): 1,
        ("TSHIRT-BLK-M", ReturnCondition.DAMAGED): 1,
        ("MUG-11OZ", ReturnCondition.MISSING): 1,
    }
    assert confirmed.return_receipt.location_id == "east"
    polled = await connector.fetch_return_receipt(RETURN_ID, created.vendor_id)
    assert polled is not None and counts(polled) == counts(confirmed.return_receipt)


async def test_a_forged_or_tampered_return_webhook_is_refused(harness: Harness) -> None:

    await harness.connector.create_return(expected())
    [delivery] = await harness.receiver.wait_for(1)
    tampered = delivery.body.replace(b"AwaitingArrival", b"Completed")
    with pytest.raises(SignatureError):
        harness.connector.parse_webhook(delivery.headers, tampered)


async def test_a_return_cancelled_at_shipbob_is_progress_cancelled(harness: Harness) -> None:
    body = json.dumps(fixture("return_order_completed.json") | {"status": "Cancelled"}).encode()
    from connectors.signing import standard_webhook_signature
    from tests.connectors.shipbob.conftest import WEBHOOK_SECRET

    stamp = int(datetime.now(UTC).timestamp())
    headers = {
        "webhook-id": "msg_cancel",
        "webhook-timestamp": str(stamp),
        "webhook-signature": standard_webhook_signature(WEBHOOK_SECRET, "msg_cancel", stamp, body),
        "x-webhook-topic": "return.updated",
    }
    event = harness.connector.parse_webhook(headers, body)
    assert event.kind is InboundKind.RETURN_PROGRESS
    assert event.return_progress is not None
    assert event.return_progress.kind is ReturnProgressKind.CANCELLED
    assert event.return_progress.return_id == RETURN_ID


async def test_the_sandbox_refuses_a_second_return_with_the_same_reference_and_bad_inventory(harness: Harness) -> None:
    await harness.connector.create_return(expected())
    headers = {"Authorization": "Bearer shipbob-test-personal-access-token", "shipbob_channel_id": "341234"}
    [stored] = await harness.control("GET", "returns")
    item = stored["inventory"][0]["id"]
    body = {"reference_id": RETURN_ID, "fulfillment_center": {"id": 8}, "inventory": [{"id": item, "quantity": 1}]}
    again = await harness.http.post("/2026-01/return", json=body, headers=headers)
    assert again.status_code == 422 and "already exists" in again.json()["reference_id"][0]
    twice = body | {"reference_id": "other", "inventory": [{"id": item, "quantity": 1}, {"id": item, "quantity": 1}]}
    answer = await harness.http.post("/2026-01/return", json=twice, headers=headers)
    assert answer.status_code == 422 and "more than once" in answer.json()["inventory[1].id"][0]
    unknown = body | {"reference_id": "other", "inventory": [{"id": 12345, "quantity": 1}]}
    answer = await harness.http.post("/2026-01/return", json=unknown, headers=headers)
    assert answer.status_code == 422


async def test_a_create_refused_as_duplicate_after_a_lost_answer_finds_the_existing_return(
    channel: ChannelConfig,
) -> None:
    """The first attempt's answer was lost: the pre-check finds nothing yet, ShipBob then says
    422 duplicate, and the return is looked up again instead of failing."""
    lookups: list[str] = []
    existing = fixture("return_order_completed.json") | {"status": "AwaitingArrival"}

    def handler(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path.endswith("/inventory-level/locations"):
            items = [{"inventory_id": 301000001, "sku": "TSHIRT-BLK-M", "locations": []},
                     {"inventory_id": 301000003, "sku": "MUG-11OZ", "locations": []}]  # fmt: skip
            return httpx.Response(200, json={"items": items, "next": None})
        if request.method == "GET" and path.endswith("/return"):
            lookups.append(request.url.params["ReferenceIds"])
            return httpx.Response(200, json=[existing] if len(lookups) > 1 else [])
        if request.method == "POST" and path.endswith("/return"):
            return httpx.Response(422, json={"reference_id": ["A return with reference_id already exists."]})
        return httpx.Response(404, json={"message": "not found"})

    http = httpx.AsyncClient(transport=httpx.MockTransport(handler), base_url=BASE_URL)
    connector = ShipBobConnector(channel, http=http)
    receipt = await connector.create_return(expected())
    assert receipt.duplicate and receipt.vendor_id == "400000117"
    assert lookups == [RETURN_ID, RETURN_ID]
    with pytest.raises(RejectedError, match="has no ShipBob fulfillment center"):
        await connector.create_return(expected(return_id="return/shopify/2", location="north"))
    await http.aclose()
