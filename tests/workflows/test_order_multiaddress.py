"""Multi-address orders in the order workflow: each address part's shipping request goes to
that part's address, an incomplete part's address holds the order in invalid_address naming
the part, and an operator's amended address replaces the part the exception is about (never
the other recipients')."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio.testing import WorkflowEnvironment

from orderloop.contracts import Activities, AmendAddressRequest, Signals, Updates
from orderloop.model import Address, ExceptionKind, OrderStatus
from tests.workflows.fakes import ADDRESS, FakeWorld, onx_order, shipment_for
from tests.workflows.helpers import in_exception, sent_request, update, view_of, wait_for

GRACE = {**ADDRESS, "firstName": "Grace", "lastName": "Hopper", "address1": "1 Navy Yard", "city": "Arlington"}


def two_address_order(external_id: str, second: dict[str, Any] = GRACE) -> dict[str, Any]:
    """Two lines for Ada (address ref 51), one for Grace (ref 52)."""
    payload = onx_order(external_id, [("TSHIRT", 1), ("MUG", 2), ("POSTER", 1)])
    refs = ["51", "52", "51"]
    addresses = [ADDRESS, second, ADDRESS]
    for line, ref, address in zip(payload["lineItems"], refs, addresses, strict=True):
        line.update(shippingAddress=address, addressRef=ref)
    return payload


async def test_a_two_address_order_gives_two_shipping_requests_each_with_its_address(
    ts_env: WorkflowEnvironment, world: FakeWorld
) -> None:
    async with world.worker(ts_env.client):
        handle = await world.start(ts_env.client, two_address_order("3001"))
        await sent_request(handle, 2)
        view = await view_of(handle)

        ada, grace = (v.request for v in view.shipping_requests)
        assert [(ln.line_id, ln.sku) for ln in ada.line_items] == [("1", "TSHIRT"), ("3", "POSTER")]
        assert [(ln.line_id, ln.sku) for ln in grace.line_items] == [("2", "MUG")]
        assert (ada.shipping_address.first_name, ada.shipping_address.address1) == ("Ada", "1 Main St")
        assert (grace.shipping_address.first_name, grace.shipping_address.address1) == ("Grace", "1 Navy Yard")
        # Both parts ship from the one stocked location, still as two requests.
        assert ada.location_id == grace.location_id == "east"
        for n, sent in enumerate(view.shipping_requests, start=1):
            await handle.signal(Signals.SHIPMENT, shipment_for(sent.request, n=n))
        done = await handle.result()

    assert done.status is OrderStatus.COMPLETED
    assert [p.shipment.shipping_request_id for p in world.of(Activities.PUSH_TRACKING)] == [ada.id, grace.id]


async def test_an_incomplete_part_address_waits_and_the_amendment_replaces_only_that_part(
    ts_env: WorkflowEnvironment, world: FakeWorld
) -> None:
    async with world.worker(ts_env.client):
        handle = await world.start(ts_env.client, two_address_order("3002", {**GRACE, "city": ""}))
        view = await wait_for(handle, in_exception(ExceptionKind.INVALID_ADDRESS), "invalid_address")
        assert view.open_exception is not None
        assert view.open_exception.message == "address 52 (line(s) 2) lacks city"
        assert world.of("allocate") == []

        fixed = Address(
            first_name="Grace", address1="1 Navy Yard", city="Arlington", zip_code_or_postal_code="22202", country="US"
        )
        answer = await update(handle, Updates.AMEND_ADDRESS, AmendAddressRequest(address=fixed))
        await sent_request(handle, 2)
        view = await view_of(handle)

    assert answer.message == "sent to fulfillment"
    ada, grace = (v.request for v in view.shipping_requests)
    assert (grace.shipping_address.city, [ln.line_id for ln in grace.line_items]) == ("Arlington", ["2"])
    assert (ada.shipping_address.first_name, ada.shipping_address.city) == ("Ada", "Springfield")
    assert view.order is not None and view.order.shipping_address is not None
    assert view.order.shipping_address.first_name == "Ada"
    assert [line.address_ref for line in view.order.line_items] == ["51", "52", "51"]


async def test_an_amendment_of_a_multi_address_order_with_no_part_in_question_is_not_applied(
    ts_env: WorkflowEnvironment, world: FakeWorld
) -> None:
    world.configure(hold_window=timedelta(hours=1))
    async with world.worker(ts_env.client):
        handle = await world.start(ts_env.client, two_address_order("3003"))
        await wait_for(handle, lambda v: v.status is OrderStatus.IN_HOLD_WINDOW, "in hold window")
        elsewhere = Address(address1="9 Elm St", city="Boston", zip_code_or_postal_code="02108", country="US")

        answer = await update(handle, Updates.AMEND_ADDRESS, AmendAddressRequest(address=elsewhere))
        view = await view_of(handle)

    assert answer.message.startswith("shipping address not amended: the order ships to 2 addresses")
    assert view.order is not None
    assert [ln.shipping_address.city for ln in view.order.line_items if ln.shipping_address] == [
        "Springfield",
        "Arlington",
        "Springfield",
    ]
