"""The order workflow in the time-skipping environment, with activities replaced by name."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from temporalio.client import WorkflowHandle
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from orderloop.activity_models import AllocateOutcome, NotificationLevel
from orderloop.contracts import (
    LOCATIONS_REVISION,
    Activities,
    AmendAddressRequest,
    CancelRequest,
    ChannelCancel,
    ChannelEdit,
    ErrorTypes,
    FulfillmentCancel,
    MarkShippedRequest,
    OperatorRequest,
    RerouteRequest,
    RetryRequest,
    SearchAttributes,
    Signals,
    StockArrived,
    Updates,
)
from orderloop.model import Address, ExceptionKind, OrderStatus, OrderView, ShippingRequest
from tests.workflows.fakes import ADDRESS, FakeWorld, onx_order, shipment_for
from tests.workflows.helpers import in_exception, refused, sent_request, until_notified, update, view_of, wait_for

pytestmark = pytest.mark.asyncio


async def test_order_ships_and_completes_after_the_hold_window(ts_env: WorkflowEnvironment, world: FakeWorld) -> None:
    world.configure(hold_window=timedelta(minutes=10))
    async with world.worker(ts_env.client):
        handle = await world.start(ts_env.client, onx_order("1001", [("TSHIRT", 2), ("MUG", 1)]))
        view = await wait_for(handle, lambda v: v.status is OrderStatus.IN_HOLD_WINDOW, "hold window")
        assert not world.of(Activities.ALLOCATE)
        await ts_env.sleep(timedelta(minutes=11))
        request = await sent_request(handle)
        assert [(line.sku, line.quantity) for line in request.line_items] == [("TSHIRT", 2), ("MUG", 1)]
        assert request.idempotency_key and request.id == ShippingRequest.request_id(handle.id, 1)
        await handle.signal(Signals.SHIPMENT, shipment_for(request))
        view = await handle.result()
    assert view.status is OrderStatus.COMPLETED
    assert all(line.shipped == line.ordered for line in view.lines)
    assert len(world.of(Activities.PUSH_TRACKING)) == 1
    assert [c.items[0].quantity for c in world.of(Activities.COMMIT_SHIPMENT)] == [2]
    desc = await handle.describe()
    assert desc.typed_search_attributes.get(SearchAttributes.STATUS) == "completed"
    assert desc.typed_search_attributes.get(SearchAttributes.LOCATIONS) == ["east"]


async def upserted(handle: WorkflowHandle[Any, OrderView]) -> list[list[str]]:
    """The search attributes each upsert event of the order's history set, in order."""
    history = await handle.fetch_history()
    return [
        sorted(e.upsert_workflow_search_attributes_event_attributes.search_attributes.indexed_fields)
        for e in history.events
        if e.HasField("upsert_workflow_search_attributes_event_attributes")
    ]


@pytest.mark.parametrize("revision", [0, 1, 2, 3])
async def test_an_order_upserts_only_what_its_start_did_not_set(
    ts_env: WorkflowEnvironment, world: FakeWorld, revision: int
) -> None:
    world.configure(revision=revision, shipment_poll_every=timedelta(minutes=30))
    async with world.worker(ts_env.client):
        handle = await world.start(ts_env.client, onx_order("1002", [("TSHIRT", 1)]))
        await handle.signal(Signals.SHIPMENT, shipment_for(await sent_request(handle)))
        view = await handle.result()
    assert view.status is OrderStatus.COMPLETED
    statuses = [SearchAttributes.STATUS.name]
    # From LOCATIONS_REVISION on, the locations are a KeywordList under their own name.
    location = SearchAttributes.LOCATIONS if revision >= LOCATIONS_REVISION else SearchAttributes.LOCATION
    allocated = sorted([location.name, SearchAttributes.STATUS.name])
    if revision == 0:  # started without search attributes, polling behind a patch marker
        first = sorted(key.name for key in SearchAttributes.written_by(revision))
        assert await upserted(handle) == [first, allocated, statuses, ["TemporalChangeVersion"], statuses]
    else:  # started as the gateway starts it: allocated, sent, completed
        assert await upserted(handle) == [allocated, statuses, statuses]
    found = (await handle.describe()).typed_search_attributes
    assert found.get(SearchAttributes.CHANNEL) == "storefront"
    assert found.get(SearchAttributes.STATUS) == "completed"
    assert found.get(SearchAttributes.EXCEPTION) == "none"
    assert found.get(location) == ("east" if location is SearchAttributes.LOCATION else ["east"])


async def test_edit_during_hold_window_changes_what_is_allocated(ts_env: WorkflowEnvironment, world: FakeWorld) -> None:
    world.configure(hold_window=timedelta(minutes=10))
    async with world.worker(ts_env.client):
        handle = await world.start(ts_env.client, onx_order("1002", [("TSHIRT", 2)]))
        await wait_for(handle, lambda v: v.status is OrderStatus.IN_HOLD_WINDOW, "hold window")
        edited = onx_order("1002", [("TSHIRT", 1), ("HOODIE", 3)])
        await handle.signal(Signals.CHANNEL_EDIT, ChannelEdit(raw_payload=edited))
        await wait_for(handle, lambda v: any(t.event == "edit applied" for t in v.timeline), "edit applied")
        await ts_env.sleep(timedelta(minutes=11))
        request = await sent_request(handle)
    assert [(line.sku, line.quantity) for line in request.line_items] == [("TSHIRT", 1), ("HOODIE", 3)]


async def test_cancel_during_hold_window_sends_nothing(ts_env: WorkflowEnvironment, world: FakeWorld) -> None:
    world.configure(hold_window=timedelta(minutes=10))
    async with world.worker(ts_env.client):
        handle = await world.start(ts_env.client, onx_order("1003", [("TSHIRT", 2)]))
        await wait_for(handle, lambda v: v.status is OrderStatus.IN_HOLD_WINDOW, "hold window")
        await handle.signal(Signals.CHANNEL_CANCEL, ChannelCancel(reason="customer changed their mind"))
        view = await handle.result()
    assert view.status is OrderStatus.CANCELLED
    assert not world.of(Activities.SEND_SHIPPING_REQUEST)
    assert world.of(Activities.RELEASE)[0].line_ids is None
    assert view.lines[0].cancelled == 2


async def test_cancel_after_send_cancels_at_the_wms_and_releases_stock(
    ts_env: WorkflowEnvironment, world: FakeWorld
) -> None:
    async with world.worker(ts_env.client):
        handle = await world.start(ts_env.client, onx_order("1004", [("TSHIRT", 2)]))
        request = await sent_request(handle)
        result = await update(handle, Updates.CANCEL, CancelRequest(reason="fraud suspected"))
        assert result.view.status is OrderStatus.CANCELLED
        view = await handle.result()
    assert view.status is OrderStatus.CANCELLED
    assert world.of(Activities.CANCEL_SHIPPING_REQUEST)[0].request.id == request.id
    assert world.of(Activities.RELEASE)
    assert view.shipping_requests[0].state == "cancelled"


async def test_cancel_after_ship_raises_exception_and_mark_shipped_completes(
    ts_env: WorkflowEnvironment, world: FakeWorld
) -> None:
    world.configure(cancel_too_late=True)
    async with world.worker(ts_env.client):
        handle = await world.start(ts_env.client, onx_order("1005", [("TSHIRT", 1)]))
        await sent_request(handle)
        await handle.signal(Signals.CHANNEL_CANCEL, ChannelCancel())
        view = await wait_for(handle, in_exception(ExceptionKind.CANCEL_AFTER_SHIP), "cancel_after_ship")
        assert view.status is OrderStatus.EXCEPTION
        desc = await handle.describe()
        assert desc.typed_search_attributes.get(SearchAttributes.EXCEPTION) == "cancel_after_ship"
        result = await update(
            handle, Updates.MARK_SHIPPED, MarkShippedRequest(tracking_numbers=["1ZMANUAL"], shipping_carrier="UPS")
        )
        assert result.accepted
        view = await handle.result()
    assert view.status is OrderStatus.COMPLETED
    assert view.shipments[0].tracking_numbers == ["1ZMANUAL"]
    assert world.of(Activities.PUSH_TRACKING)[0].shipment.tracking_numbers == ["1ZMANUAL"]


async def test_partial_shipments_complete_the_order_and_duplicates_are_ignored(
    ts_env: WorkflowEnvironment, world: FakeWorld
) -> None:
    async with world.worker(ts_env.client):
        handle = await world.start(ts_env.client, onx_order("1006", [("TSHIRT", 3), ("MUG", 1)]))
        request = await sent_request(handle)
        first = shipment_for(request, [("TSHIRT", 2)], n=1)
        await handle.signal(Signals.SHIPMENT, first)
        await handle.signal(Signals.SHIPMENT, first)
        view = await wait_for(handle, lambda v: v.status is OrderStatus.PARTIALLY_SHIPPED, "partially shipped")
        assert view.lines[0].shipped == 2 and view.lines[1].shipped == 0
        await handle.signal(Signals.SHIPMENT, shipment_for(request, [("TSHIRT", 1), ("MUG", 1)], n=2))
        view = await handle.result()
    assert view.status is OrderStatus.COMPLETED
    assert len(view.shipments) == 2
    assert len(world.of(Activities.PUSH_TRACKING)) == 2
    assert any(t.event == "duplicate shipment ignored" for t in view.timeline)


async def test_sla_breach_after_48_hours_escalates_and_clears_on_shipment(
    ts_env: WorkflowEnvironment, world: FakeWorld
) -> None:
    async with world.worker(ts_env.client):
        handle = await world.start(ts_env.client, onx_order("1007", [("TSHIRT", 1)]))
        request = await sent_request(handle)
        await ts_env.sleep(timedelta(hours=47))
        assert (await view_of(handle)).open_exception is None
        await ts_env.sleep(timedelta(hours=2))
        view = await wait_for(handle, in_exception(ExceptionKind.SLA_BREACH), "sla breach")
        assert view.open_exception is not None and view.open_exception.escalated_at is None
        await ts_env.sleep(timedelta(hours=4, minutes=1))
        view = await wait_for(
            handle, lambda v: v.open_exception is not None and v.open_exception.escalated_at is not None, "escalated"
        )
        await until_notified(world, 2, "the breach and its escalation notified")
        levels = [(n.level, n.kind) for n in world.of(Activities.NOTIFY)]
        assert levels == [
            (NotificationLevel.EXCEPTION, ExceptionKind.SLA_BREACH),
            (NotificationLevel.ESCALATION, ExceptionKind.SLA_BREACH),
        ]
        await handle.signal(Signals.SHIPMENT, shipment_for(request))
        view = await handle.result()
    assert view.status is OrderStatus.COMPLETED
    assert view.exceptions[0].resolution == "shipment received"


async def test_out_of_stock_rechecks_on_a_backoff_timer(ts_env: WorkflowEnvironment, world: FakeWorld) -> None:
    world.configure(allocations=[AllocateOutcome.OUT_OF_STOCK, AllocateOutcome.OUT_OF_STOCK])
    async with world.worker(ts_env.client):
        handle = await world.start(ts_env.client, onx_order("1008", [("POSTER", 1)]))
        await wait_for(handle, in_exception(ExceptionKind.OUT_OF_STOCK), "out of stock")
        await ts_env.sleep(timedelta(minutes=16))
        await wait_for(handle, lambda v: len(world.of(Activities.ALLOCATE)) == 2, "second check")
        # The second re-check waits twice as long.
        await ts_env.sleep(timedelta(minutes=20))
        assert len(world.of(Activities.ALLOCATE)) == 2
        await ts_env.sleep(timedelta(minutes=11))
        view = await wait_for(handle, lambda v: v.status is OrderStatus.SENT_TO_FULFILLMENT, "sent")
    assert view.exceptions[0].kind is ExceptionKind.OUT_OF_STOCK and view.exceptions[0].resolved_at is not None
    # The exception's notice, and the record-only notice of its resolution by the order's own
    # progress (no playbook names a sink for it), for the operations record.
    await until_notified(world, 2, "the exception and its resolution notified")
    raised, resolved = world.of(Activities.NOTIFY)
    assert raised.level is NotificationLevel.EXCEPTION and not raised.record_only
    assert resolved.level is NotificationLevel.RESOLVED and resolved.record_only and resolved.resolved_by is None


async def test_unroutable_order_is_rerouted_when_stock_arrives_for_its_sku(
    ts_env: WorkflowEnvironment, world: FakeWorld
) -> None:
    world.configure(allocations=[AllocateOutcome.UNROUTABLE])
    async with world.worker(ts_env.client):
        handle = await world.start(ts_env.client, onx_order("1020", [("LAMP", 1)]))
        await wait_for(handle, in_exception(ExceptionKind.UNROUTABLE), "unroutable")
        # Stock of another SKU moves nothing: no second allocation, still waiting.
        await handle.signal(Signals.STOCK_ARRIVED, StockArrived(skus=["MUG"]))
        await asyncio.sleep(0.3)
        assert len(world.of(Activities.ALLOCATE)) == 1
        assert (await view_of(handle)).open_exception is not None
        await handle.signal(Signals.STOCK_ARRIVED, StockArrived(skus=["MUG", "LAMP"]))
        request = await sent_request(handle)
        view = await view_of(handle)
        assert len(world.of(Activities.ALLOCATE)) == 2
        assert [t.detail for t in view.timeline if t.event == "stock arrived"] == ["LAMP"]
        assert view.exceptions[0].kind is ExceptionKind.UNROUTABLE and view.exceptions[0].resolved_at is not None
        await handle.signal(Signals.SHIPMENT, shipment_for(request))
        view = await handle.result()
    assert view.status is OrderStatus.COMPLETED


async def test_out_of_stock_order_retries_at_once_when_stock_arrives(
    ts_env: WorkflowEnvironment, world: FakeWorld
) -> None:
    world.configure(allocations=[AllocateOutcome.OUT_OF_STOCK, AllocateOutcome.OUT_OF_STOCK])
    async with world.worker(ts_env.client):
        handle = await world.start(ts_env.client, onx_order("1021", [("POSTER", 2)]))
        await wait_for(handle, in_exception(ExceptionKind.OUT_OF_STOCK), "out of stock")
        # Not enough arrived: the retry finds it short again and the order keeps waiting.
        await handle.signal(Signals.STOCK_ARRIVED, StockArrived(skus=["POSTER"]))
        await wait_for(handle, lambda v: len(world.of(Activities.ALLOCATE)) == 2, "second check")
        view = await wait_for(handle, in_exception(ExceptionKind.OUT_OF_STOCK), "still out of stock")
        assert len(view.exceptions) == 1 and len(world.of(Activities.NOTIFY)) == 1
        await handle.signal(Signals.STOCK_ARRIVED, StockArrived(skus=["POSTER"]))
        await sent_request(handle)
    assert len(world.of(Activities.ALLOCATE)) == 3


async def test_a_shipment_whose_webhook_never_came_is_found_by_polling(
    ts_env: WorkflowEnvironment, world: FakeWorld
) -> None:
    world.configure(shipment_poll_every=timedelta(hours=1))
    async with world.worker(ts_env.client):
        handle = await world.start(ts_env.client, onx_order("1022", [("MUG", 2)]))
        request = await sent_request(handle)
        # The first poll finds nothing yet; the webhook of the shipment is then lost.
        await ts_env.sleep(timedelta(minutes=61))
        await wait_for(handle, lambda v: len(world.of(Activities.FETCH_SHIPMENTS)) == 1, "first poll")
        assert (await view_of(handle)).status is OrderStatus.SENT_TO_FULFILLMENT
        world.polled[request.id] = [shipment_for(request)]
        await ts_env.sleep(timedelta(minutes=61))
        view = await handle.result()
    assert view.status is OrderStatus.COMPLETED
    assert [t.event for t in view.timeline].count("shipments found by polling") == 1
    assert len(world.of(Activities.PUSH_TRACKING)) == 1 and len(world.of(Activities.COMMIT_SHIPMENT)) == 1


async def test_a_polled_shipment_already_reported_by_webhook_counts_once(
    ts_env: WorkflowEnvironment, world: FakeWorld
) -> None:
    world.configure(shipment_poll_every=timedelta(hours=1))
    async with world.worker(ts_env.client):
        handle = await world.start(ts_env.client, onx_order("1023", [("MUG", 2)]))
        request = await sent_request(handle)
        first = shipment_for(request, [("MUG", 1)], n=1)
        await handle.signal(Signals.SHIPMENT, first)
        await wait_for(handle, lambda v: v.status is OrderStatus.PARTIALLY_SHIPPED, "partially shipped")
        # The poll reports the same parcel again plus the second one the webhook missed.
        world.polled[request.id] = [first, shipment_for(request, [("MUG", 1)], n=2)]
        await ts_env.sleep(timedelta(minutes=61))
        view = await handle.result()
    assert view.status is OrderStatus.COMPLETED
    assert [s.id for s in view.shipments] == [first.id, f"{request.id}/ship2"]
    assert len(world.of(Activities.PUSH_TRACKING)) == 2


async def test_a_request_the_3pl_cancels_waits_for_the_operator_and_is_rerouted(
    ts_env: WorkflowEnvironment, world: FakeWorld
) -> None:
    async with world.worker(ts_env.client):
        handle = await world.start(ts_env.client, onx_order("1024", [("MUG", 2)]))
        request = await sent_request(handle)
        await handle.signal(Signals.SHIPMENT, shipment_for(request, [("MUG", 1)]))
        await wait_for(handle, lambda v: v.status is OrderStatus.PARTIALLY_SHIPPED, "partially shipped")
        await handle.signal(
            Signals.SHIPPING_REQUEST_CANCELLED, FulfillmentCancel(request_id=request.id, reason="damaged stock")
        )
        view = await wait_for(handle, in_exception(ExceptionKind.SHIPPING_REQUEST_REJECTED), "vendor cancel")
        assert "damaged stock" in view.open_exception.message  # type: ignore[union-attr]
        assert view.shipping_requests[0].state.value == "cancelled"
        # Only the unit that did not ship is released; nothing is re-sent without the operator.
        [release] = world.of(Activities.RELEASE)
        assert release.line_ids == ["1"]
        assert len(world.of(Activities.SEND_SHIPPING_REQUEST)) == 1
        await update(handle, Updates.REROUTE, RerouteRequest(location_id="west"))
        second = await sent_request(handle, 2)
        # The reroute sends only what did not ship.
        assert second.location_id == "west" and [(ln.sku, ln.quantity) for ln in second.line_items] == [("MUG", 1)]
        await handle.signal(Signals.SHIPMENT, shipment_for(second, [("MUG", 1)], n=2))
        view = await handle.result()
    assert view.status is OrderStatus.COMPLETED
    assert [p.shipped for p in view.lines] == [2]


async def test_invalid_order_keeps_the_raw_payload_and_can_be_cancelled(
    ts_env: WorkflowEnvironment, world: FakeWorld
) -> None:
    async with world.worker(ts_env.client):
        payload = {"externalId": "1009", "items": "not onx"}
        handle = await world.start(ts_env.client, payload)
        view = await wait_for(handle, in_exception(ExceptionKind.INVALID_ORDER), "invalid order")
        assert view.raw_payload == payload and view.order is None
        assert "lineItems" in view.open_exception.message  # type: ignore[union-attr]
        refusal = await refused(handle, Updates.MARK_SHIPPED, MarkShippedRequest())
        assert refusal.type == ErrorTypes.ACTION_NOT_APPLICABLE
        result = await update(handle, Updates.CANCEL, CancelRequest())
        view = await handle.result()
    assert result.view.status is OrderStatus.CANCELLED
    assert view.status is OrderStatus.CANCELLED


async def test_unknown_sku_reroute_validation_and_retry(ts_env: WorkflowEnvironment, world: FakeWorld) -> None:
    world.configure(allocations=[AllocateOutcome.UNKNOWN_SKU])
    async with world.worker(ts_env.client):
        handle = await world.start(ts_env.client, onx_order("1010", [("NOPE", 1)]))
        await wait_for(handle, in_exception(ExceptionKind.UNKNOWN_SKU), "unknown sku")
        refusal = await refused(handle, Updates.REROUTE, RerouteRequest(location_id="mars"))
        assert refusal.type == ErrorTypes.INVALID_REQUEST and "mars" in refusal.message
        result = await update(handle, Updates.RETRY, RetryRequest(operator="sam"))
        assert result.view.status is OrderStatus.SENT_TO_FULFILLMENT
        assert result.view.exceptions[0].resolved_at is not None


async def test_rejected_request_is_rerouted_by_an_operator(ts_env: WorkflowEnvironment, world: FakeWorld) -> None:
    world.configure(rejections=["east cannot ship hazmat"])
    async with world.worker(ts_env.client):
        handle = await world.start(ts_env.client, onx_order("1011", [("TSHIRT", 1)]))
        view = await wait_for(handle, in_exception(ExceptionKind.SHIPPING_REQUEST_REJECTED), "rejected")
        assert "hazmat" in view.open_exception.message  # type: ignore[union-attr]
        assert world.of(Activities.RELEASE)[0].line_ids == ["1"]
        result = await update(handle, Updates.REROUTE, RerouteRequest(location_id="west"))
    assert result.view.status is OrderStatus.SENT_TO_FULFILLMENT
    requests = result.view.shipping_requests
    assert [(r.request.location_id, r.state) for r in requests] == [("east", "rejected"), ("west", "sent")]
    assert requests[0].request.idempotency_key != requests[1].request.idempotency_key


async def test_invalid_address_is_resolved_by_amending_it(ts_env: WorkflowEnvironment, world: FakeWorld) -> None:
    async with world.worker(ts_env.client):
        payload = onx_order("1012", [("TSHIRT", 1)], shippingAddress={"city": "Springfield", "country": "US"})
        handle = await world.start(ts_env.client, payload)
        view = await wait_for(handle, in_exception(ExceptionKind.INVALID_ADDRESS), "invalid address")
        assert "address1" in view.open_exception.message  # type: ignore[union-attr]
        refusal = await refused(handle, Updates.AMEND_ADDRESS, AmendAddressRequest(address=Address(city="X")))
        assert refusal.type == ErrorTypes.INVALID_REQUEST
        result = await update(
            handle, Updates.AMEND_ADDRESS, AmendAddressRequest(address=Address.model_validate(ADDRESS))
        )
    assert result.view.status is OrderStatus.SENT_TO_FULFILLMENT
    assert result.view.shipping_requests[0].request.shipping_address.address1 == "1 Main St"


async def test_operator_actions_are_refused_when_they_do_not_apply(
    ts_env: WorkflowEnvironment, world: FakeWorld
) -> None:
    world.configure(hold_window=timedelta(hours=1))
    async with world.worker(ts_env.client):
        handle = await world.start(ts_env.client, onx_order("1013", [("TSHIRT", 1)]))
        await wait_for(handle, lambda v: v.status is OrderStatus.IN_HOLD_WINDOW, "hold window")
        refusals: list[tuple[Updates, OperatorRequest]] = [
            (Updates.MARK_SHIPPED, MarkShippedRequest()),
            (Updates.RETRY, RetryRequest()),
        ]
        for name, action in refusals:
            refusal = await refused(handle, name, action)
            assert refusal.type == ErrorTypes.ACTION_NOT_APPLICABLE
            assert "in_hold_window" in refusal.message
        result = await update(handle, Updates.REROUTE, RerouteRequest(location_id="west"))
        assert result.message == "rerouting to west"
        await ts_env.sleep(timedelta(hours=1, minutes=1))
        request = await sent_request(handle)
        assert request.location_id == "west"
        await handle.signal(Signals.SHIPMENT, shipment_for(request))
        await handle.result()


async def test_tracking_rejected_by_channel_is_retried_by_an_operator(
    ts_env: WorkflowEnvironment, world: FakeWorld
) -> None:
    rejection = ApplicationError("order is archived", type=ErrorTypes.CHANNEL_REJECTED, non_retryable=True)
    world.configure(push_failures=[rejection])
    async with world.worker(ts_env.client):
        handle = await world.start(ts_env.client, onx_order("1014", [("TSHIRT", 1)]))
        request = await sent_request(handle)
        await handle.signal(Signals.SHIPMENT, shipment_for(request))
        await wait_for(handle, in_exception(ExceptionKind.TRACKING_REJECTED), "tracking rejected")
        result = await update(handle, Updates.RETRY, RetryRequest())
        assert result.message in ("tracking pushed", "tracking push retried")
        view = await handle.result()
    assert view.status is OrderStatus.COMPLETED
    assert len(world.of(Activities.PUSH_TRACKING)) == 2


async def test_every_refusal_is_final_and_typed(ts_env: WorkflowEnvironment, world: FakeWorld) -> None:
    world.configure(hold_window=timedelta(hours=1))
    async with world.worker(ts_env.client):
        handle = await world.start(ts_env.client, onx_order("1015", [("TSHIRT", 1)]))
        await wait_for(handle, lambda v: v.status is OrderStatus.IN_HOLD_WINDOW, "hold window")
        refusals: list[tuple[Updates, OperatorRequest, ErrorTypes]] = [
            (Updates.MARK_SHIPPED, MarkShippedRequest(), ErrorTypes.ACTION_NOT_APPLICABLE),
            (Updates.REROUTE, RerouteRequest(location_id="mars"), ErrorTypes.INVALID_REQUEST),
            (Updates.AMEND_ADDRESS, AmendAddressRequest(address=Address(city="X")), ErrorTypes.INVALID_REQUEST),
        ]
        for name, action, error_type in refusals:
            refusal = await refused(handle, name, action)
            assert (refusal.type, refusal.non_retryable) == (error_type, True)
        await update(handle, Updates.CANCEL, CancelRequest())
        await handle.result()
