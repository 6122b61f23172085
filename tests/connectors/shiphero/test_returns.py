"""ShipHero's returns role: the RMA input on the ShipHero order that shipped the lines, the receipt
mapped from a return shaped like ShipHero's `Return` (restocked -> sellable, the rest damaged or a
wrong item, never received -> missing), the signed Return Update webhook, and against the sandbox
an RMA created once with our id as `partner_id` (a retry after a lost answer finds it), received
by the warehouse and confirmed into a receipt."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
import pytest_asyncio

from connectors.base import InboundKind, MappingError, RejectedError, RetryableError, SignatureError
from connectors.shiphero import ShipHeroConnector
from connectors.shiphero.mapping import ShipHeroSettings
from connectors.shiphero.returns import order_for_return, receipt_from_return, return_input
from connectors.shiphero.sandbox import create_app
from connectors.shiphero.webhooks import MESSAGE_ID_HEADER, SIGNATURE_HEADER, WebhookType, signature
from orderloop.config import ChannelConfig
from orderloop.model import Address
from orderloop.returns_model import ExpectedReturn, ReturnCondition, ReturnLine, ReturnProgressKind
from tests.connectors.contract.sandbox_session import SandboxSession, open_sandbox
from tests.connectors.shiphero.conftest import WAREHOUSES, WEBHOOK_SECRET, fixture, shipping_request

SETTINGS = ShipHeroSettings(warehouses=WAREHOUSES)
RETURN_ID = "return/storefront/R-1001"


def expected(
    external_id: str = "1001", location: str = "east", lines: tuple[tuple[str, str, int], ...] = ()
) -> ExpectedReturn:
    chosen = lines or (("L1", "TSHIRT-BLK-M", 2), ("L2", "MUG-11OZ", 1))
    return ExpectedReturn(
        return_id=f"return/storefront/R-{external_id}",
        order_id=f"order/storefront/{external_id}",
        external_order_id=external_id,
        channel_id="storefront",
        fulfillment_channel_id="shiphero",
        location_id=location,
        lines=[
            ReturnLine(
                id=f"r{i}", order_line_item_id=line, sku=sku, quantity_returned=qty, return_reason="size_too_small"
            )
            for i, (line, sku, qty) in enumerate(chosen)
        ],
        from_address=Address(
            first_name="Ada", last_name="Lovelace", address1="12 Analytical Row", city="Brooklyn", country="US"
        ),
        created_at=datetime(2026, 12, 1, tzinfo=UTC),
    )


def shiphero_order(
    order_id: str, request_id: str, *lines: tuple[str, str], status: str = "fulfilled"
) -> dict[str, Any]:
    return {
        "id": order_id,
        "partner_order_id": request_id,
        "order_number": "1001",
        "fulfillment_status": status,
        "line_items": {
            "edges": [
                {
                    "node": {
                        "sku": sku,
                        "partner_line_item_id": f"{request_id}/{line}",
                        "warehouse_id": WAREHOUSES["east"],
                    }
                }
                for line, sku in lines
            ]
        },
    }


def counts(receipt: Any) -> dict[tuple[str, ReturnCondition], int]:
    return {(line.sku, line.condition): line.quantity for line in receipt.lines}


# --- mapping --------------------------------------------------------------------------------------


def test_the_return_goes_on_the_shiphero_order_that_shipped_its_lines_with_our_id_as_partner_id() -> None:
    mine = shiphero_order("T3JkZXI6MQ==", "order/storefront/1001/sr1", ("L1", "TSHIRT-BLK-M"), ("L2", "MUG-11OZ"))
    # Another channel's order with the same number, and a canceled earlier attempt: not ours.
    other = shiphero_order("T3JkZXI6Mg==", "order/shopify/1001/sr1", ("L1", "TSHIRT-BLK-M"))
    canceled = shiphero_order("T3JkZXI6Mw==", "order/storefront/1001/sr2", ("L1", "TSHIRT-BLK-M"), status="canceled")

    order = order_for_return([other, canceled, mine], expected())
    data = return_input(expected(), order, SETTINGS)

    assert order["id"] == "T3JkZXI6MQ=="
    assert data == {
        "order_id": "T3JkZXI6MQ==",
        "warehouse_id": WAREHOUSES["east"],
        "return_reason": "size too small",
        "label_type": "SELF_RETURN",
        "label_cost": "0.00",
        "address": {
            "name": "Ada Lovelace",
            "address1": "12 Analytical Row",
            "address2": None,
            "city": "Brooklyn",
            "state": None,
            "country": "US",
            "zip": None,
            "phone": None,
        },
        "dimensions": {"weight": "1", "height": "4", "width": "8", "length": "10"},
        "shipping_carrier": "Customer",
        "shipping_method": "Self Return",
        "line_items": [
            {"sku": "MUG-11OZ", "quantity": 1, "return_reason": "size too small"},
            {"sku": "TSHIRT-BLK-M", "quantity": 2, "return_reason": "size too small"},
        ],
        "partner_id": "return/storefront/R-1001",
    }


def test_lines_shipped_from_two_shiphero_orders_or_never_shipped_there_are_refused_with_the_reason() -> None:
    first = shiphero_order("A", "order/storefront/1001/sr1", ("L1", "TSHIRT-BLK-M"))
    second = shiphero_order("B", "order/storefront/1001/sr2", ("L2", "MUG-11OZ"))
    with pytest.raises(MappingError, match="shipped in ShipHero orders A, B"):
        order_for_return([first, second], expected())
    with pytest.raises(MappingError, match="has no line L2"):
        order_for_return([first], expected())
    with pytest.raises(MappingError, match="ShipHero has no order of order/storefront/1001"):
        order_for_return([shiphero_order("C", "order/shopify/1001/sr1", ("L1", "X"))], expected())


def test_receipt_counts_restocked_units_sellable_the_rest_by_condition_and_unreceived_missing() -> None:
    receipt = receipt_from_return(fixture("return_received.json"), SETTINGS, "msg-1")

    assert receipt is not None
    assert receipt.return_id == RETURN_ID and receipt.location_id == "east" and receipt.event_id == "msg-1"
    assert receipt.received_at == datetime(2026, 12, 2, 10, 15, tzinfo=UTC)
    assert counts(receipt) == {
        ("TSHIRT-BLK-M", ReturnCondition.SELLABLE): 1,
        ("TSHIRT-BLK-M", ReturnCondition.DAMAGED): 1,
        ("MUG-11OZ", ReturnCondition.MISSING): 1,
    }
    damaged = next(line for line in receipt.lines if line.condition is ReturnCondition.DAMAGED)
    assert damaged.note == "Torn seam"


def test_a_return_still_pending_has_no_receipt_and_a_wrong_item_is_named() -> None:
    pending = {**fixture("return_received.json"), "status": "pending"}
    assert receipt_from_return(pending, SETTINGS) is None

    wrong = fixture("return_received.json")
    wrong["line_items"][0].update(restock=False, condition="Wrong item: received a hoodie")
    receipt = receipt_from_return(wrong, SETTINGS)
    assert receipt is not None
    assert counts(receipt)[("TSHIRT-BLK-M", ReturnCondition.WRONG_ITEM)] == 2


def test_a_finished_return_without_our_reference_cannot_be_mapped() -> None:
    with pytest.raises(MappingError, match="partner_id"):
        receipt_from_return({**fixture("return_received.json"), "partner_id": None}, SETTINGS)


# --- webhooks --------------------------------------------------------------------------------------


def signed(body: dict[str, Any], secret: str = WEBHOOK_SECRET) -> tuple[dict[str, str], bytes]:
    raw = json.dumps(body).encode()
    return {SIGNATURE_HEADER: signature(secret, raw), MESSAGE_ID_HEADER: "msg-77"}, raw


def test_a_finished_return_update_is_a_receipt_to_confirm_and_a_pending_one_is_ignored(
    channel: ChannelConfig,
) -> None:
    connector = ShipHeroConnector(channel)
    event = connector.parse_webhook(*signed(fixture("return_update.json")))
    assert event.kind is InboundKind.RETURN_RECEIVED and event.return_receipt is None
    assert event.event_id == "msg-77"

    pending = connector.parse_webhook(*signed({**fixture("return_update.json"), "status": "pending"}))
    assert pending.kind is InboundKind.IGNORED and "is pending" in (pending.detail or "")


def test_an_unsigned_or_forged_return_update_is_refused(channel: ChannelConfig) -> None:
    connector = ShipHeroConnector(channel)
    headers, raw = signed(fixture("return_update.json"), secret="not-the-secret")
    with pytest.raises(SignatureError):
        connector.parse_webhook(headers, raw)
    with pytest.raises(SignatureError):
        connector.parse_webhook({}, raw)


# --- against the sandbox ---------------------------------------------------------------------------


@pytest_asyncio.fixture
async def session(channel: ChannelConfig) -> AsyncIterator[SandboxSession]:
    async with open_sandbox(channel, create_app, auto_ship=False) as opened:
        yield opened


@pytest_asyncio.fixture
async def connector(channel: ChannelConfig, session: SandboxSession) -> AsyncIterator[ShipHeroConnector]:
    built = ShipHeroConnector(channel, http=session.http)
    yield built
    await built.aclose()


async def shipped_order(session: SandboxSession, connector: ShipHeroConnector, external_id: str) -> str:
    request = shipping_request(external_id)
    receipt = await connector.create_shipping_request(request)
    await session.control("POST", f"/_sandbox/ship/{request.id}")
    return receipt.vendor_id


async def return_creates(session: SandboxSession) -> list[dict[str, Any]]:
    logged = await session.control("GET", "/_sandbox/requests", params={"path_prefix": "/graphql"})
    return [r for r in logged if (r["body"] or {}).get("operationName") == "ReturnCreate"]


async def test_the_rma_is_created_once_with_our_id_and_a_retry_after_a_lost_answer_finds_it(
    session: SandboxSession, connector: ShipHeroConnector
) -> None:
    order_id = await shipped_order(session, connector, "2001")
    await session.configure(lose_return_answers=1)

    with pytest.raises(RetryableError):
        await connector.create_return(expected("2001"))
    again = await connector.create_return(expected("2001"))

    [rma] = await session.control("GET", "/_sandbox/returns")
    assert again.duplicate and again.vendor_id == rma["id"]
    assert rma["partner_id"] == "return/storefront/R-2001" and rma["order_id"] == order_id
    assert rma["status"] == "pending" and rma["label_type"] == "SELF_RETURN"
    assert {(i["line_item"]["sku"], i["quantity"]) for i in rma["line_items"]} == {("TSHIRT-BLK-M", 2), ("MUG-11OZ", 1)}
    assert len(await return_creates(session)) == 1


async def test_a_return_of_more_than_shipped_or_of_an_order_shiphero_never_had_is_rejected(
    session: SandboxSession, connector: ShipHeroConnector
) -> None:
    await shipped_order(session, connector, "2002")
    await connector.create_return(expected("2002", lines=(("L1", "TSHIRT-BLK-M", 2),)))

    with pytest.raises(RejectedError, match="0 unit"):
        await connector.create_return(
            expected("2002", lines=(("L1", "TSHIRT-BLK-M", 1),)).model_copy(update={"return_id": "return/x/other"})
        )
    with pytest.raises(RejectedError, match="ShipHero has no order"):
        await connector.create_return(expected("2999"))


async def test_the_received_return_update_is_confirmed_into_a_receipt_with_each_units_condition(
    session: SandboxSession, connector: ShipHeroConnector
) -> None:
    await shipped_order(session, connector, "2003")
    mark = session.mark()
    created = await connector.create_return(expected("2003", lines=(("L1", "TSHIRT-BLK-M", 2),)))
    assert await connector.fetch_return_receipt("return/storefront/R-2003", created.vendor_id) is None
    stock_before = (await session.control("GET", "/_sandbox/stock"))["stock"][WAREHOUSES["east"]]["TSHIRT-BLK-M"]

    lines = [
        {"sku": "TSHIRT-BLK-M", "quantity": 1, "restock": True, "condition": "Good"},
        {"sku": "TSHIRT-BLK-M", "quantity": 1, "restock": False, "condition": "Stained"},
    ]
    await session.control("POST", "/_sandbox/returns/return/storefront/R-2003/receive", json={"lines": lines})
    # One Return Update when the RMA was created (pending), one when it was received.
    updates = await session.webhooks_since(mark, WebhookType.RETURN_UPDATE.value, count=2)
    by_status = {json.loads(w.body)["status"]: w for w in updates}
    assert by_status.keys() == {"pending", "warehouse complete"}
    delivery = by_status["warehouse complete"]

    event = await connector.confirm_event(connector.parse_webhook(delivery.headers, delivery.body))
    assert event.kind is InboundKind.RETURN_RECEIVED and event.return_receipt is not None
    receipt = event.return_receipt
    assert receipt.return_id == "return/storefront/R-2003" and receipt.location_id == "east"
    assert counts(receipt) == {
        ("TSHIRT-BLK-M", ReturnCondition.SELLABLE): 1,
        ("TSHIRT-BLK-M", ReturnCondition.DAMAGED): 1,
    }
    # The poll backstop reads the same receipt, by ShipHero's id or by our reference alone.
    assert await connector.fetch_return_receipt(receipt.return_id, created.vendor_id) == receipt.model_copy(
        update={"event_id": None}
    )
    by_reference = await connector.fetch_return_receipt(receipt.return_id, None)
    assert by_reference is not None and counts(by_reference) == counts(receipt)
    # The restocked unit is back on hand at the warehouse; the stained one is not.
    stock = (await session.control("GET", "/_sandbox/stock"))["stock"][WAREHOUSES["east"]]["TSHIRT-BLK-M"]
    assert stock == stock_before + 1


async def test_a_return_update_while_the_warehouse_is_still_receiving_starts_nothing(
    session: SandboxSession, connector: ShipHeroConnector
) -> None:
    await shipped_order(session, connector, "2004")
    mark = session.mark()
    await connector.create_return(expected("2004", lines=(("L1", "TSHIRT-BLK-M", 2),)))
    body = {"lines": [{"sku": "TSHIRT-BLK-M", "quantity": 1}], "complete": False}
    await session.control("POST", "/_sandbox/returns/return/storefront/R-2004/receive", json=body)
    updates = await session.webhooks_since(mark, WebhookType.RETURN_UPDATE.value, count=2)
    [delivery] = [w for w in updates if json.loads(w.body)["items"][0]["quantity_received"] == 1]

    event = await connector.confirm_event(connector.parse_webhook(delivery.headers, delivery.body))
    assert event.kind is InboundKind.IGNORED


async def test_the_parcel_picked_up_is_confirmed_as_in_transit_with_its_tracking(
    session: SandboxSession, connector: ShipHeroConnector
) -> None:
    await shipped_order(session, connector, "2005")
    mark = session.mark()
    await connector.create_return(expected("2005", lines=(("L1", "TSHIRT-BLK-M", 1),)))
    body = {"tracking_number": "9400111899223100000001", "carrier": "USPS"}
    await session.control("POST", "/_sandbox/returns/return/storefront/R-2005/ship", json=body)
    updates = await session.webhooks_since(mark, WebhookType.RETURN_UPDATE.value, count=2)
    [delivery] = [w for w in updates if json.loads(w.body)["picked_up"]]

    event = await connector.confirm_event(connector.parse_webhook(delivery.headers, delivery.body))

    assert event.kind is InboundKind.RETURN_PROGRESS and event.return_progress is not None
    progress = event.return_progress
    assert progress.return_id == "return/storefront/R-2005" and progress.kind is ReturnProgressKind.IN_TRANSIT
    assert progress.label is not None
    assert (progress.label.carrier, progress.label.tracking_number) == ("USPS", "9400111899223100000001")
