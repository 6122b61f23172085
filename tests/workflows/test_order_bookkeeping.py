"""The order workflow's bookkeeping over `OrderView`, without Temporal: shipments counted
against lines, what is open or unassigned, the manual shipment, search attributes changed."""

from __future__ import annotations

from datetime import UTC, datetime

from orderloop.contracts import LOCATIONS_REVISION, NO_EXCEPTION, MarkShippedRequest, SearchAttributes
from orderloop.model import (
    Address,
    AllocatedLine,
    Allocation,
    ExceptionKind,
    LocationAssignment,
    Order,
    OrderException,
    OrderLine,
    OrderStatus,
    OrderView,
    RequestLine,
    Shipment,
    ShipmentLine,
    ShippingRequest,
    ShippingRequestState,
    ShippingRequestView,
)
from workflows.order import bookkeeping

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
WORKFLOW_ID = "order/shop/1001"


def view_of(lines: list[tuple[str, int]]) -> OrderView:
    order = Order(
        id=WORKFLOW_ID,
        external_id="1001",
        tenant_id="test",
        created_at=NOW,
        updated_at=NOW,
        channel_id="shop",
        line_items=[OrderLine(id=str(i + 1), sku=sku, quantity=qty) for i, (sku, qty) in enumerate(lines)],
    )
    view = OrderView(
        workflow_id=WORKFLOW_ID, channel_id="shop", external_id="1001", status=OrderStatus.RECEIVED, received_at=NOW
    )
    view.order = order
    view.lines = bookkeeping.line_progress(order)
    return view


def send(view: OrderView, location_id: str, line_ids: list[str]) -> ShippingRequestView:
    progress = {p.line_id: p for p in view.lines}
    request = ShippingRequest(
        id=ShippingRequest.request_id(WORKFLOW_ID, len(view.shipping_requests) + 1),
        idempotency_key="key",
        order_id=WORKFLOW_ID,
        channel_id="shop",
        external_order_id="1001",
        fulfillment_channel_id="wms",
        location_id=location_id,
        line_items=[RequestLine(line_id=i, sku=progress[i].sku, quantity=progress[i].ordered) for i in line_ids],
        shipping_address=Address(address1="1 Main St"),
        created_at=NOW,
    )
    sent = ShippingRequestView(request=request, state=ShippingRequestState.SENT)
    view.shipping_requests.append(sent)
    return sent


def shipment(request_id: str, lines: list[tuple[str, int]], n: int = 1) -> Shipment:
    return Shipment(
        id=f"{request_id}/ship{n}",
        shipping_request_id=request_id,
        line_items=[ShipmentLine(sku=sku, quantity=qty) for sku, qty in lines],
    )


def test_partial_shipment_counts_against_lines_and_leaves_the_request_partly_shipped() -> None:
    view = view_of([("A", 3), ("B", 1)])
    sent = send(view, "east", ["1", "2"])
    items = bookkeeping.apply_shipment(view, shipment(sent.request.id, [("A", 2)]))
    assert items == [RequestLine(line_id="1", sku="A", quantity=2)]
    assert bookkeeping.open_units(view) == 2
    assert sent.state is ShippingRequestState.PARTIALLY_SHIPPED
    bookkeeping.apply_shipment(view, shipment(sent.request.id, [("A", 1), ("B", 1)], n=2))
    assert bookkeeping.open_units(view) == 0
    assert sent.state is ShippingRequestState.SHIPPED


def test_shipment_claiming_more_than_is_open_ships_only_the_open_units() -> None:
    view = view_of([("A", 2)])
    sent = send(view, "east", ["1"])
    items = bookkeeping.apply_shipment(view, shipment(sent.request.id, [("A", 5), ("Z", 1)]))
    assert items == [RequestLine(line_id="1", sku="A", quantity=2)]
    assert view.lines[0].shipped == 2


def test_shipment_of_one_request_does_not_touch_lines_of_another() -> None:
    view = view_of([("A", 1), ("A", 1)])
    first = send(view, "east", ["1"])
    send(view, "west", ["2"])
    bookkeeping.apply_shipment(view, shipment(first.request.id, [("A", 2)]))
    assert [p.shipped for p in view.lines] == [1, 0]


def test_unassigned_lines_skip_live_requests_but_not_rejected_or_cancelled_ones() -> None:
    view = view_of([("A", 1), ("B", 1), ("C", 1)])
    send(view, "east", ["1"])
    rejected = send(view, "west", ["2"])
    rejected.state = ShippingRequestState.REJECTED
    assert bookkeeping.unassigned_line_ids(view) == ["2", "3"]
    view.lines[2].cancelled = 1
    assert bookkeeping.unassigned_line_ids(view) == ["2"]


def test_open_part_cuts_lines_to_their_unshipped_units_and_keeps_the_order_when_nothing_shipped() -> None:
    view = view_of([("A", 3), ("B", 1)])
    assert bookkeeping.open_part(view, ["1", "2"]) is view.order
    view.lines[0].shipped = 2
    part = bookkeeping.open_part(view, ["1"])
    assert [(line.sku, line.quantity) for line in part.line_items] == [("A", 1), ("B", 1)]
    assert view.order is not None and view.order.line_items[0].quantity == 3


def test_manual_shipment_ships_every_open_unit_on_the_first_open_request() -> None:
    view = view_of([("A", 2), ("B", 1)])
    sent = send(view, "east", ["1", "2"])
    view.lines[0].shipped = 1
    request = MarkShippedRequest(tracking_numbers=["1Z1"], shipping_carrier="UPS")
    manual = bookkeeping.manual_shipment(view, request, NOW)
    assert manual.id == f"{WORKFLOW_ID}/manual1"
    assert manual.shipping_request_id == sent.request.id
    assert [(line.sku, line.quantity, line.line_id) for line in manual.line_items] == [("A", 1, "1"), ("B", 1, "2")]
    assert manual.tracking_numbers == ["1Z1"] and manual.shipped_at == NOW


def test_manual_shipment_without_a_sent_request_names_the_orders_first_request_id() -> None:
    view = view_of([("A", 1)])
    manual = bookkeeping.manual_shipment(view, MarkShippedRequest(), NOW)
    assert manual.shipping_request_id == ShippingRequest.request_id(WORKFLOW_ID, 0)


def test_merged_allocation_keeps_the_earlier_assignments_first() -> None:
    def assignment(location_id: str) -> LocationAssignment:
        return LocationAssignment(
            location_id=location_id,
            fulfillment_channel_id="wms",
            line_items=[AllocatedLine(line_id="1", sku="A", quantity=1)],
        )

    first = Allocation(assignments=[assignment("east")], rule="nearest")
    second = Allocation(assignments=[assignment("west")], rule="fallback")
    assert bookkeeping.merged_allocation(None, first) is first
    merged = bookkeeping.merged_allocation(first, second)
    assert [a.location_id for a in merged.assignments] == ["east", "west"] and merged.rule == "fallback"


def test_search_attribute_changes_name_only_what_differs_from_the_published_values() -> None:
    view = view_of([("A", 1)])
    old = SearchAttributes.written_by(LOCATIONS_REVISION - 1)
    everything = bookkeeping.search_attribute_changes(view, {}, old)
    assert everything == {
        SearchAttributes.CHANNEL.name: "shop",
        SearchAttributes.STATUS.name: str(OrderStatus.RECEIVED),
        SearchAttributes.EXCEPTION.name: NO_EXCEPTION,
        SearchAttributes.LOCATION.name: "",
    }
    send(view, "west", ["1"])
    view.exceptions.append(OrderException(kind=ExceptionKind.SLA_BREACH, message="late", raised_at=NOW))
    changes = bookkeeping.search_attribute_changes(view, everything, old)
    assert changes == {
        SearchAttributes.EXCEPTION.name: str(ExceptionKind.SLA_BREACH),
        SearchAttributes.LOCATION.name: "west",
    }
    assert list(changes) == [key.name for key in old if key.name in changes]


def test_todays_orders_write_their_locations_as_a_keyword_list() -> None:
    view = view_of([("A", 1), ("B", 1)])
    published = bookkeeping.search_attribute_changes(view, {}, SearchAttributes.ALL)
    assert published[SearchAttributes.LOCATIONS.name] == [] and SearchAttributes.LOCATION.name not in published
    send(view, "west", ["1"])
    send(view, "east", ["2"])
    changes = bookkeeping.search_attribute_changes(view, published, SearchAttributes.ALL)
    assert changes == {SearchAttributes.LOCATIONS.name: ["east", "west"]}


def test_locations_fall_back_to_the_allocation_when_no_request_is_open() -> None:
    view = view_of([("A", 1)])
    view.allocation = Allocation(
        assignments=[
            LocationAssignment(location_id=loc, fulfillment_channel_id="wms", line_items=[]) for loc in ("west", "east")
        ]
    )
    values = bookkeeping.search_attribute_values(view)
    assert values[SearchAttributes.LOCATION.name] == "east,west"
    assert values[SearchAttributes.LOCATIONS.name] == ["east", "west"]


def test_edit_diff_names_changed_added_and_removed_lines_and_the_address() -> None:
    before = view_of([("TSHIRT", 2), ("MUG", 1)]).order
    assert before is not None
    after = before.model_copy(
        update={
            "line_items": [OrderLine(id="1", sku="TSHIRT", quantity=3), OrderLine(id="3", sku="CAP", quantity=1)],
            "shipping_address": Address(address1="2 Elm St"),
        }
    )
    diff = bookkeeping.edit_diff(before, after)
    assert diff["lines"] == [
        {"lineId": "1", "before": {"sku": "TSHIRT", "quantity": 2}, "after": {"sku": "TSHIRT", "quantity": 3}},
        {"lineId": "2", "before": {"sku": "MUG", "quantity": 1}, "after": None},
        {"lineId": "3", "before": None, "after": {"sku": "CAP", "quantity": 1}},
    ]
    assert diff["shippingAddress"]["before"] is None and diff["shippingAddress"]["after"]["address1"] == "2 Elm St"
    assert bookkeeping.edit_diff(before, before.model_copy()) == {}


def test_an_order_is_released_while_a_request_is_live_or_once_something_shipped() -> None:
    view = view_of([("TSHIRT", 2)])
    assert not bookkeeping.released(view)
    sent = send(view, "east", ["1"])
    assert bookkeeping.released(view)
    sent.state = ShippingRequestState.REJECTED
    assert not bookkeeping.released(view)
    view.shipments.append(shipment(sent.request.id, [("TSHIRT", 1)]))
    assert bookkeeping.released(view)
