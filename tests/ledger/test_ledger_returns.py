"""Returns in the ledger: the record joined to its order, no line returned beyond what it shipped,
and a receipt that puts sellable units back on hand (with outbox rows) and damaged ones apart,
never available; on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable

from orderloop.ledger import Cause, EventKind, Ledger, Product, ReservationLine
from orderloop.ledger.types import CauseKind, ReceiptRow, ReturnRecordLine
from orderloop.returns_model import ReturnStatus

Uid = Callable[[str], str]


async def shipped_order(ledger: Ledger, uid: Uid, cause: Cause, sku: str, quantity: int = 2) -> str:
    """An order of `quantity` units of `sku` (line "1"), reserved at east and shipped whole."""
    order = uid("order/storefront/o")
    await ledger.receive(sku, "east", 10, cause)
    await ledger.reserve(order, [ReservationLine(line_id="1", sku=sku, location_id="east", quantity=quantity)], cause)
    assert await ledger.commit_shipment(order, "ship-1", [("1", quantity)], cause)
    return order


def lines(sku: str, quantity: int, order_line: str = "1") -> list[ReturnRecordLine]:
    return [ReturnRecordLine(line_id="r1", order_line_id=order_line, sku=sku, quantity=quantity)]


async def on_hand_and_available(ledger: Ledger, sku: str, location: str = "east") -> tuple[int, int]:
    level = next(s for s in await ledger.stock(sku) if s.location_id == location)
    return level.on_hand, level.available


async def test_a_return_is_recorded_once_and_joined_to_its_order(ledger: Ledger, uid: Uid, cause: Cause) -> None:
    sku = uid("tee")
    order = await shipped_order(ledger, uid, cause, sku)
    return_id = uid("return/storefront/r1")
    first = await ledger.record_return(
        return_id, "storefront", "R-1", order, lines(sku, 2), status=ReturnStatus.AUTHORISED, location_id="east"
    )
    again = await ledger.record_return(
        return_id, "storefront", "R-1", order, lines(sku, 1), status=ReturnStatus.REQUESTED
    )
    assert first == again
    assert (first.status, first.order_id, first.shipment_ids, first.location_id) == (
        "authorised",
        order,
        ["ship-1"],
        "east",
    )
    assert [r.return_id for r in await ledger.returns_for_order(order)] == [return_id]
    shipped = await ledger.shipped_lines(order)
    assert [(s.line_id, s.sku, s.location_id, s.shipped, s.returned) for s in shipped] == [("1", sku, "east", 2, 2)]


async def test_a_line_is_never_returned_beyond_what_it_shipped(ledger: Ledger, uid: Uid, cause: Cause) -> None:
    sku = uid("tee")
    order = await shipped_order(ledger, uid, cause, sku)
    too_many = await ledger.record_return(
        uid("return/storefront/r2"), "storefront", "R-2", order, lines(sku, 3), status=ReturnStatus.AUTHORISED
    )
    assert too_many.status == "rejected"
    assert too_many.reason == f"cannot return beyond what shipped: order line 1 ({sku}): 3 to return but 2 shipped"
    # A rejected return claims nothing: two units are still returnable, once.
    ok = await ledger.record_return(
        uid("return/storefront/r3"), "storefront", "R-3", order, lines(sku, 2), status=ReturnStatus.AUTHORISED
    )
    assert ok.status == "authorised"
    again = await ledger.record_return(
        uid("return/storefront/r4"), "storefront", "R-4", order, lines(sku, 1), status=ReturnStatus.AUTHORISED
    )
    assert again.status == "rejected"
    assert again.reason is not None and "1 to return but 2 shipped, 2 already returned" in again.reason
    never = await ledger.record_return(
        uid("return/storefront/r5"), "storefront", "R-5", order, lines(sku, 1, "9"), status=ReturnStatus.AUTHORISED
    )
    assert never.reason == f"cannot return beyond what shipped: order line 9 ({sku}) never shipped"


async def test_a_return_of_an_unknown_order_is_kept(ledger: Ledger, uid: Uid) -> None:
    return_id = uid("return/storefront/r6")
    record = await ledger.record_return(
        return_id, "storefront", "R-6", None, lines("ANY", 1), status=ReturnStatus.EXCEPTION, reason="unknown order"
    )
    assert (record.status, record.order_id, record.reason) == ("exception", None, "unknown order")
    assert return_id in [r.return_id for r in await ledger.list_returns(channel_id="storefront", status="exception")]


async def test_a_receipt_restocks_sellable_units_and_keeps_damaged_ones_apart(
    ledger: Ledger, uid: Uid, cause: Cause
) -> None:
    sku = uid("tee")
    order = await shipped_order(ledger, uid, cause, sku)
    return_id = uid("return/storefront/r7")
    await ledger.record_return(return_id, "storefront", "R-7", order, lines(sku, 2), status=ReturnStatus.AUTHORISED)
    before = await on_hand_and_available(ledger, sku)
    head = await ledger.outbox_head()
    receipt = [
        ReceiptRow(sku=sku, condition="sellable", disposition="restock", quantity=1),
        ReceiptRow(sku=sku, condition="damaged", disposition="non_sellable", quantity=1),
    ]
    assert await ledger.receive_return(return_id, "east", receipt)
    assert await on_hand_and_available(ledger, sku) == (before[0] + 1, before[1] + 1)
    assert await ledger.non_sellable(sku) == {("east", "damaged"): 1}
    # One outbox row for the SKU, so every selling channel's available-to-sell follows.
    assert [row.sku for row in await ledger.outbox_after(head, 10)] == [sku]
    returned = Cause(kind=CauseKind.RETURN, ref=return_id)
    moves = [(e.kind, e.delta, e.cause) for e in await ledger.events(sku) if e.cause.kind is CauseKind.RETURN]
    assert sorted(moves) == sorted([(EventKind.RECEIVE, 1, returned), (EventKind.NON_SELLABLE, 1, returned)])
    record = await ledger.return_record(return_id)
    assert record is not None and record.status == "received" and record.location_id == "east"
    assert {(r.condition, r.quantity) for r in record.receipt} == {("sellable", 1), ("damaged", 1)}
    # A retried receipt changes nothing.
    assert not await ledger.receive_return(return_id, "east", receipt)
    assert await on_hand_and_available(ledger, sku) == (before[0] + 1, before[1] + 1)
    assert await ledger.non_sellable(sku) == {("east", "damaged"): 1}
    assert await ledger.check_invariants() == []


async def test_a_returned_bundle_restocks_its_components(ledger: Ledger, uid: Uid, cause: Cause) -> None:
    tee, mug, kit = uid("tee"), uid("mug"), uid("kit")
    await ledger.define_products([Product(sku=kit, components={tee: 1, mug: 2})])
    await ledger.receive(tee, "west", 5, cause)
    await ledger.receive(mug, "west", 5, cause)
    order = uid("order/storefront/o")
    await ledger.reserve(order, [ReservationLine(line_id="1", sku=kit, location_id="west", quantity=1)], cause)
    assert await ledger.commit_shipment(order, "s", [("1", 1)], cause)
    return_id = uid("return/storefront/r8")
    record = await ledger.record_return(
        return_id, "storefront", "R-8", order, lines(kit, 1), status=ReturnStatus.AUTHORISED
    )
    assert record.status == "authorised"
    assert await ledger.receive_return(
        return_id, "west", [ReceiptRow(sku=kit, condition="sellable", disposition="restock", quantity=1)]
    )
    assert await on_hand_and_available(ledger, tee, "west") == (5, 5)
    assert await on_hand_and_available(ledger, mug, "west") == (5, 5)


async def test_status_follows_the_workflow(ledger: Ledger, uid: Uid, cause: Cause) -> None:
    sku = uid("tee")
    order = await shipped_order(ledger, uid, cause, sku)
    return_id = uid("return/storefront/r9")
    await ledger.record_return(return_id, "storefront", "R-9", order, lines(sku, 1), status=ReturnStatus.REQUESTED)
    await ledger.set_return_status(return_id, ReturnStatus.CANCELLED, reason="customer cancelled")
    record = await ledger.return_record(return_id)
    assert record is not None and (record.status, record.reason) == ("cancelled", "customer cancelled")
    # A cancelled return claims nothing.
    assert [s.returned for s in await ledger.shipped_lines(order)] == [0]
