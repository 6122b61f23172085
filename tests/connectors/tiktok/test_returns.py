"""TikTok Shop's returns role: a return shaped like TikTok's search-returns-202309 reference mapped
to the canonical return (one line per SKU, onX-valid), the RETURN_STATUS_CHANGE notification
parsed and confirmed by the return read back, the decisions "received" needs per status, and
against the sandbox a buyer's return through to the received package approved exactly once."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from connectors.base import InboundEvent, InboundKind, MappingError, PayloadError, PermanentError, RejectedError
from connectors.tiktok import returns
from connectors.tiktok.client import TikTokCode
from connectors.tiktok.webhooks import NotificationType, confirmed_return, parse_webhook
from orderloop.contracts.returns import return_workflow_id
from orderloop.returns_model import ReceivedUnits, ReturnCondition, ReturnProgressKind, ReturnReceipt, ReturnRequest
from tests.connectors.contract.steps import shipment_of
from tests.connectors.tiktok.conftest import APP_KEY, APP_SECRET, RECEIVED_AT, SHOP_ID, TENANT, payload, raw_payload
from tests.connectors.tiktok.test_sandbox import Pair, delivered, mapped, place
from tests.connectors.tiktok.test_webhooks import signed
from tests.onx.test_conformance import validate

RETURN_ID = "return/tiktok/4035633475056536357"
LONG_AGO = datetime(2000, 1, 1, tzinfo=UTC)


def returned(**changes: Any) -> dict[str, Any]:
    raw = copy.deepcopy(payload("return.json"))
    raw.update(changes)
    return raw


def map_it(raw: dict[str, Any]) -> ReturnRequest:
    return returns.map_return(
        raw,
        return_id=RETURN_ID,
        tenant_id=TENANT,
        channel_id="tiktok",
        order_id="order/tiktok/576461413038785752",
        received_at=RECEIVED_AT,
    )


def test_a_return_maps_its_single_unit_line_items_to_one_line_per_order_line_and_is_onx_valid() -> None:
    request = map_it(returned())

    assert (request.external_id, request.external_order_id) == ("4035633475056536357", "576461413038785752")
    # The order's lines are keyed by sku_id (connectors.tiktok.mapping): so are the return's.
    assert [(ln.id, ln.order_line_item_id, ln.sku, ln.quantity_returned, ln.return_reason)
            for ln in request.return_line_items] == [
        ("4035633476000000011", "1729386000000000001", "TSHIRT-BLK-M", 2,
         "ecom_order_delivered_refund_and_return_reason_wrong_size"),
        ("4035633476000000013", "1729386000000000003", "MUG-11OZ", 1,
         "ecom_order_delivered_refund_and_return_reason_wrong_size"),
    ]  # fmt: skip
    assert request.created_at == datetime.fromtimestamp(1764331200, UTC)
    assert request.customer_note == "Wrong size" and request.status == "BUYER_SHIPPED_ITEM"
    assert [(label.carrier, label.tracking_number) for label in request.labels] == [("USPS", "9400111899223197428490")]
    validate(request.to_onx(), "return")


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"return_type": "REFUND"}, "only RETURN_AND_REFUND brings goods back"),
        ({"order_id": None}, "order_id is missing"),
        ({"return_id": "R-1"}, "return_id is missing or not a TikTok return id"),
        ({"return_line_items": []}, "return_line_items is missing or empty"),
        ({"return_line_items": [{"return_line_item_id": "1", "sku_id": "2"}]}, "has no seller_sku"),
    ],
)
def test_a_return_that_cannot_be_mapped_says_why(change: dict[str, Any], reason: str) -> None:
    with pytest.raises(MappingError, match=reason):
        map_it(returned(**change))


def notification(**data: Any) -> bytes:
    body = json.loads(raw_payload("return_status_change.json"))
    body["data"].update(data)
    return json.dumps(body).encode()


def parsed(body: bytes) -> InboundEvent:
    return parse_webhook(APP_KEY, APP_SECRET, signed(body), body, SHOP_ID)


def test_a_return_status_change_is_a_return_request_to_confirm_keyed_by_the_return() -> None:
    event = parsed(raw_payload("return_status_change.json"))

    assert event.kind is InboundKind.RETURN_REQUESTED
    assert (event.event_id, event.external_return_id, event.external_order_id) == (
        "7327112000000000004",
        "4035633475056536357",
        "576461413038785752",
    )


@pytest.mark.parametrize(
    ("data", "detail"),
    [
        ({"return_type": "REFUND"}, "a REFUND request brings nothing back"),
        ({"return_type": "REPLACEMENT", "return_status": "REPLACEMENT_REQUEST_PENDING"}, "brings nothing back"),
        ({"return_status": "RETURN_OR_REFUND_REQUEST_COMPLETE"}, "nothing to do"),
    ],
)
def test_notifications_nothing_can_come_of_are_ignored_without_a_read(data: dict[str, Any], detail: str) -> None:
    event = parsed(notification(**data))

    assert event.kind is InboundKind.IGNORED and detail in str(event.detail)


def test_a_return_notification_without_its_return_id_is_refused() -> None:
    with pytest.raises(PayloadError, match=r"data\.return_id is missing"):
        parsed(notification(return_id=None))


@pytest.mark.parametrize(
    ("status", "kind", "progress"),
    [
        ("RETURN_OR_REFUND_REQUEST_PENDING", InboundKind.RETURN_REQUESTED, None),
        ("AWAITING_BUYER_SHIP", InboundKind.RETURN_REQUESTED, None),
        ("BUYER_SHIPPED_ITEM", InboundKind.RETURN_PROGRESS, ReturnProgressKind.IN_TRANSIT),
        ("RETURN_OR_REFUND_REQUEST_CANCEL", InboundKind.RETURN_PROGRESS, ReturnProgressKind.CANCELLED),
        ("REFUND_OR_RETURN_REQUEST_REJECT", InboundKind.RETURN_PROGRESS, ReturnProgressKind.CANCELLED),
        ("RETURN_OR_REFUND_REQUEST_SUCCESS", InboundKind.IGNORED, None),
    ],
)
def test_the_return_read_back_decides_the_event(
    status: str, kind: InboundKind, progress: ReturnProgressKind | None
) -> None:
    hint = parsed(raw_payload("return_status_change.json"))

    event = confirmed_return(hint, returned(return_status=status), "tiktok")

    assert event.kind is kind and event.payload["return_status"] == status
    if progress is None:
        assert event.return_progress is None
        return
    assert event.return_progress is not None
    assert (event.return_progress.return_id, event.return_progress.kind) == (RETURN_ID, progress)
    assert event.return_progress.event_id == "7327112000000000004"
    if progress is ReturnProgressKind.IN_TRANSIT:
        assert event.return_progress.label is not None
        assert event.return_progress.label.tracking_number == "9400111899223197428490"


def test_a_return_tiktok_no_longer_has_is_ignored() -> None:
    event = confirmed_return(parsed(raw_payload("return_status_change.json")), None, "tiktok")
    assert event.kind is InboundKind.IGNORED and "TikTok has no return 4035633475056536357" in str(event.detail)


@pytest.mark.parametrize(
    ("status", "decisions"),
    [
        ("RETURN_OR_REFUND_REQUEST_PENDING", ["APPROVE_RETURN", "APPROVE_RECEIVED_PACKAGE"]),
        ("AWAITING_BUYER_SHIP", ["APPROVE_RECEIVED_PACKAGE"]),
        ("BUYER_SHIPPED_ITEM", ["APPROVE_RECEIVED_PACKAGE"]),
        ("RETURN_OR_REFUND_REQUEST_SUCCESS", []),
        ("RETURN_OR_REFUND_REQUEST_COMPLETE", []),
        ("RETURN_OR_REFUND_REQUEST_CANCEL", None),
        ("REJECT_RECEIVE_PACKAGE", None),
    ],
)
def test_received_asks_tiktok_only_for_the_decisions_the_return_still_lacks(
    status: str, decisions: list[str] | None
) -> None:
    found = returns.received_decisions(returned(return_status=status))
    assert (None if found is None else [d.value for d in found]) == decisions


# --- against the sandbox ------------------------------------------------------------------------


async def shipped_order_returned(pair: Pair, body: dict[str, Any] | None = None) -> tuple[ReturnRequest, str]:
    """An order placed, shipped in one package, and its buyer's return request as the gateway would
    see it (notification verified, parsed, confirmed) mapped to our return."""
    session, connector = pair
    mark = session.mark()
    await place(session)
    [event] = await delivered(pair, mark, NotificationType.ORDER_STATUS_CHANGE)
    order = mapped(connector, event)
    await connector.push_shipment(order, shipment_of(order, "S1", slice(None)))
    mark = session.mark()
    await session.control("POST", f"/_sandbox/orders/{order.external_id}/returns", json=body or {})
    [requested] = await delivered(pair, mark, NotificationType.RETURN_STATUS_CHANGE)
    assert requested.kind is InboundKind.RETURN_REQUESTED and requested.external_return_id
    return_id = return_workflow_id("tiktok", requested.external_return_id)
    request = connector.map_return(
        requested.payload, return_id=return_id, tenant_id=TENANT, order_id=order.id, received_at=RECEIVED_AT
    )
    return request, requested.external_return_id


def all_sellable(request: ReturnRequest) -> ReturnReceipt:
    units = [
        ReceivedUnits(sku=s, quantity=q, condition=ReturnCondition.SELLABLE) for s, q in request.quantities().items()
    ]
    return ReturnReceipt(return_id=request.id, lines=units)


async def test_a_pending_return_received_is_approved_then_its_package_once_and_tiktok_refunds(tiktok: Pair) -> None:
    session, connector = tiktok
    request, tiktok_id = await shipped_order_returned(tiktok)
    assert request.quantities() == {"TSHIRT-BLK-M": 2, "MUG-11OZ": 1}

    first = await connector.push_return_received(request, all_sellable(request))
    again = await connector.push_return_received(request, all_sellable(request))

    assert first == again == tiktok_id
    decisions = await session.control("GET", "/_sandbox/returns/decisions", params={"return_id": tiktok_id})
    assert [d["decision"] for d in decisions] == ["APPROVE_RETURN", "APPROVE_RECEIVED_PACKAGE"]
    approvals = await session.control("GET", "/_sandbox/requests", params={"path_prefix": "/return_refund/"})
    assert sum(1 for c in approvals if c["path"].endswith("/approve")) == 2, "the second push asked for nothing"
    found = await connector.client.get_return(tiktok_id)
    assert found is not None and found["return_status"] in (
        "RETURN_OR_REFUND_REQUEST_SUCCESS",
        "RETURN_OR_REFUND_REQUEST_COMPLETE",
    )


async def test_the_buyer_shipping_it_back_moves_the_return_in_transit_with_its_tracking(tiktok: Pair) -> None:
    session, connector = tiktok
    request, tiktok_id = await shipped_order_returned(tiktok, {"line_items": [{"sku": "MUG-11OZ", "quantity": 1}]})
    assert request.quantities() == {"MUG-11OZ": 1}
    mark = session.mark()
    # The seller approves it in Seller Center; the buyer ships it back.
    await connector.client.approve_return(tiktok_id, "APPROVE_RETURN", "seller-center-1")
    [approved] = await delivered(tiktok, mark, NotificationType.RETURN_STATUS_CHANGE)
    await session.control("POST", f"/_sandbox/returns/{tiktok_id}/ship", json={"tracking_number": "9400TEST"})

    _, shipped = await delivered(tiktok, mark, NotificationType.RETURN_STATUS_CHANGE, 2)
    # Approved: the same return requested again (its workflow id starts it once).
    assert (approved.kind, approved.external_return_id) == (InboundKind.RETURN_REQUESTED, tiktok_id)
    assert shipped.kind is InboundKind.RETURN_PROGRESS and shipped.return_progress is not None
    assert (shipped.return_progress.return_id, shipped.return_progress.kind) == (
        request.id,
        ReturnProgressKind.IN_TRANSIT,
    )
    assert shipped.return_progress.label is not None and shipped.return_progress.label.tracking_number == "9400TEST"
    await connector.push_return_received(request, all_sellable(request))
    decisions = await session.control("GET", "/_sandbox/returns/decisions", params={"return_id": tiktok_id})
    assert [d["decision"] for d in decisions] == ["APPROVE_RETURN", "APPROVE_RECEIVED_PACKAGE"]


async def test_a_withdrawn_return_is_its_cancel_and_cannot_be_reported_received(tiktok: Pair) -> None:
    session, connector = tiktok
    request, tiktok_id = await shipped_order_returned(tiktok)
    mark = session.mark()

    await session.control("POST", f"/_sandbox/returns/{tiktok_id}/cancel")

    [withdrawn] = await delivered(tiktok, mark, NotificationType.RETURN_STATUS_CHANGE)
    assert withdrawn.return_progress is not None and withdrawn.return_progress.kind is ReturnProgressKind.CANCELLED
    with pytest.raises(RejectedError, match="RETURN_OR_REFUND_REQUEST_CANCEL"):
        await connector.push_return_received(request, all_sellable(request))
    assert await session.control("GET", "/_sandbox/returns/decisions") == []


async def test_the_poll_finds_the_open_returns_of_goods_only(tiktok: Pair) -> None:
    session, connector = tiktok
    _, open_id = await shipped_order_returned(tiktok)
    _, withdrawn_id = await shipped_order_returned(tiktok)
    await session.control("POST", f"/_sandbox/returns/{withdrawn_id}/cancel")
    mark = session.mark()
    await place(session)
    [event] = await delivered(tiktok, mark, NotificationType.ORDER_STATUS_CHANGE)
    order = mapped(connector, event)
    await connector.push_shipment(order, shipment_of(order, "S1", slice(None)))
    refund_only = await session.control(
        "POST", f"/_sandbox/orders/{order.external_id}/returns", json={"return_type": "REFUND"}
    )
    refund_only_id = refund_only["return_id"]

    polled = await connector.poll_returns(LONG_AGO)

    assert [p.external_id for p in polled] == [open_id]
    assert polled[0].external_order_id == polled[0].payload["order_id"]
    assert refund_only_id not in [p.external_id for p in polled]


async def test_the_sandbox_refuses_decisions_as_tiktok_does(tiktok: Pair) -> None:
    session, connector = tiktok
    _, tiktok_id = await shipped_order_returned(tiktok)

    with pytest.raises(RejectedError, match=f"TikTok code {TikTokCode.RETURN_STATUS_NOT_ALLOWED}"):
        await connector.client.approve_return(tiktok_id, "APPROVE_RECEIVED_PACKAGE", "k1")
    await connector.client.reject_return(tiktok_id, "REJECT_RETURN", "seller_reject_apply_product_damaged", "", "k2")
    # The same key and decision again: answered as the first time, nothing changes.
    await connector.client.reject_return(tiktok_id, "REJECT_RETURN", "seller_reject_apply_product_damaged", "", "k2")
    found = await connector.client.get_return(tiktok_id)
    assert found is not None and found["return_status"] == "REFUND_OR_RETURN_REQUEST_REJECT"
    decisions = await session.control("GET", "/_sandbox/returns/decisions")
    assert [d["decision"] for d in decisions] == ["REJECT_RETURN"]

    # The returns search takes 10-50 rows a page; an error is TikTok's {code, message, request_id}.
    with pytest.raises(PermanentError, match="page_size must be a whole number from 10 to 50") as refused:
        await connector.client.call(
            "POST", "/return_refund/202309/returns/search", "search", params={"page_size": 5}, body={}
        )
    assert refused.value.status_code == 400
    assert refused.value.body["code"] == TikTokCode.INVALID_PARAMS and refused.value.body["request_id"]


async def test_a_buyer_cannot_return_what_did_not_ship(tiktok: Pair) -> None:
    session, _ = tiktok
    order = await place(session)

    answer = await session.http.post(f"/_sandbox/orders/{order['id']}/returns", json={})

    assert answer.status_code == 409 and "no shipped line item" in answer.text
