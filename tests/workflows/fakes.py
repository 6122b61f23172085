"""Fake activities for order workflow tests, registered under the real activity names.

Every call is recorded; behaviour is scripted per test (stock outcomes, rejections, late
cancels, failing tracking pushes)."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from temporalio import activity
from temporalio.client import Client, WorkflowHandle
from temporalio.exceptions import ApplicationError
from temporalio.worker import Worker

from orderloop.activity_models import (
    AcknowledgeInput,
    AcknowledgeResult,
    AllocateInput,
    AllocateOutcome,
    AllocateResult,
    CancelShippingInput,
    CancelShippingResult,
    ChannelCancelInput,
    ChannelCancelResult,
    ChannelExceptionReplied,
    ChannelExceptionReply,
    CommitInput,
    ConfirmAllocationInput,
    ConfirmAllocationResult,
    FetchShipmentsInput,
    FetchShipmentsResult,
    IngestInput,
    IngestResult,
    Notification,
    PushTrackingInput,
    PushTrackingResult,
    ReleaseInput,
    RequestCheck,
    SendResult,
)
from orderloop.address_parts import address_parts
from orderloop.contracts import (
    ORDER_REVISION,
    ORDER_WORKFLOW,
    Activities,
    ErrorTypes,
    OrderInput,
    OrderPolicy,
    order_start_search_attributes,
    order_workflow_id,
)
from orderloop.model import (
    Address,
    AllocatedLine,
    Allocation,
    LocationAssignment,
    Order,
    OrderLine,
    OrderView,
    Shipment,
    ShipmentLine,
    ShippingRequest,
    WholesaleTerms,
)
from orderloop.playbooks import Playbook
from orderloop.sla import ShipByCalendar
from workflows.order import OrderWorkflow

ADDRESS = {
    "firstName": "Ada",
    "lastName": "Lovelace",
    "address1": "1 Main St",
    "city": "Springfield",
    "stateOrProvince": "IL",
    "zipCodeOrPostalCode": "62701",
    "country": "US",
}


def onx_order(external_id: str, lines: list[tuple[str, int]], **extra: Any) -> dict[str, Any]:
    return {
        "externalId": external_id,
        "lineItems": [{"id": str(i + 1), "sku": sku, "quantity": qty} for i, (sku, qty) in enumerate(lines)],
        "shippingAddress": ADDRESS,
        **extra,
    }


@dataclass
class FakeWorld:
    task_queue: str = field(default_factory=lambda: f"test-{uuid.uuid4().hex[:10]}")
    hold_window: timedelta = timedelta(0)
    ship_by_sla: timedelta = timedelta(hours=48)
    ship_by_calendar: ShipByCalendar = field(default_factory=ShipByCalendar)
    ship_by_warning: timedelta | None = None
    escalation_delay: timedelta = timedelta(hours=4)
    out_of_stock_retry: timedelta = timedelta(minutes=15)
    locations: tuple[str, ...] = ("east", "west")
    # Scripted allocation outcomes, consumed in order; when empty, allocate to the forced
    # location or the first one not excluded.
    allocations: list[AllocateOutcome] = field(default_factory=list)
    # Locations the scripted outcomes do not apply to: a reroute there allocates.
    stocked: tuple[str, ...] = ()
    # Split every order: line i ships from locations[i % len(locations)].
    split: bool = False
    rejections: list[str] = field(default_factory=list)
    cancel_too_late: bool = False
    # Raised by the cancel activity, consumed in order (a refusal, or a vendor that is down).
    cancel_failures: list[ApplicationError] = field(default_factory=list)
    # The 3PL's cancel endpoint answers nothing but retryable errors until this is set False.
    cancel_unreachable: bool = False
    push_failures: list[ApplicationError] = field(default_factory=list)
    # When set, the notify activity waits for it (an exception's notification still going out).
    notify_gate: asyncio.Event | None = None
    # Shipment polling: the interval the policy sets for "wms", and what a poll finds per request.
    shipment_poll_every: timedelta | None = None
    polled: dict[str, list[Shipment]] = field(default_factory=dict)
    # What a poll finds of each request at the fulfillment channel (absent: the channel cannot tell).
    checks: dict[str, RequestCheck] = field(default_factory=dict)
    # How long a completed order waits for "wms" to report its deliveries (None: not at all).
    await_delivery: timedelta | None = None
    # How orders are started: as today's gateway does, or as an older one did (revision 0).
    revision: int = ORDER_REVISION
    # The channel's exception playbooks, as the ingest hands them out (changed mid-test: a
    # configuration change reaches an order at its next ingest).
    playbooks: list[Playbook] = field(default_factory=list)
    # The selling channel wants orders acknowledged within this long (None: no acknowledgement),
    # and the acknowledgement's refusals, consumed in order.
    acknowledge_within: timedelta | None = None
    ack_failures: list[ApplicationError] = field(default_factory=list)
    # The selling channel wants each line's decision once the order is allocated, and how long
    # before a wholesale order's cancel-by date it opens sla_breach.
    confirms_allocation: bool = False
    ship_cancel_lead: timedelta = timedelta(days=1)
    calls: list[tuple[str, Any]] = field(default_factory=list)
    handles: list[WorkflowHandle[Any, OrderView]] = field(default_factory=list)

    def configure(self, **settings: Any) -> FakeWorld:
        for key, value in settings.items():
            if not hasattr(self, key):
                raise AttributeError(key)
            setattr(self, key, value)
        return self

    def names(self) -> list[str]:
        return [name for name, _ in self.calls]

    def of(self, name: str) -> list[Any]:
        return [arg for n, arg in self.calls if n == name]

    def policy(self) -> OrderPolicy:
        return OrderPolicy(
            hold_window=self.hold_window,
            ship_by_sla=self.ship_by_sla,
            ship_by_calendar=self.ship_by_calendar,
            ship_by_warning=self.ship_by_warning,
            escalation_delay=self.escalation_delay,
            out_of_stock_retry=self.out_of_stock_retry,
            orders_task_queue=self.task_queue,
            selling_task_queue=self.task_queue,
            fulfillment_task_queues={"wms": self.task_queue},
            shipment_poll_every={"wms": self.shipment_poll_every} if self.shipment_poll_every else {},
            locations=list(self.locations),
            await_delivery={"wms": self.await_delivery} if self.await_delivery else {},
            playbooks=list(self.playbooks),
            acknowledge_within=self.acknowledge_within,
            confirms_allocation=self.confirms_allocation,
            ship_cancel_lead=self.ship_cancel_lead,
        )

    def activities(self) -> list[Any]:
        world = self

        @activity.defn(name=Activities.INGEST)
        async def ingest(inp: IngestInput) -> IngestResult:
            world.calls.append((Activities.INGEST, inp))
            raw = inp.raw_payload
            if "lineItems" not in raw:
                return IngestResult(error="lineItems: field required", policy=world.policy())
            order = Order(
                id=inp.workflow_id,
                external_id=inp.external_id,
                tenant_id="test",
                created_at=inp.received_at,
                updated_at=inp.received_at,
                channel_id=inp.channel_id,
                line_items=[OrderLine.model_validate(line) for line in raw["lineItems"]],
                shipping_address=Address.model_validate(raw["shippingAddress"]) if "shippingAddress" in raw else None,
                ship_by_date=raw.get("shipByDate"),
                total_price=raw.get("totalPrice"),
                tags=raw.get("tags", []),
                order_type=raw.get("orderType", "standard"),
                wholesale=WholesaleTerms.model_validate(raw["wholesale"]) if "wholesale" in raw else None,
            )
            return IngestResult(order=order, policy=world.policy())

        @activity.defn(name=Activities.ALLOCATE)
        async def allocate(inp: AllocateInput) -> AllocateResult:
            world.calls.append((Activities.ALLOCATE, inp))
            if world.allocations and inp.force_location not in world.stocked:
                outcome = world.allocations.pop(0)
                if outcome is not AllocateOutcome.ALLOCATED:
                    return AllocateResult(outcome=outcome, message=f"scripted {outcome}")
            location = inp.force_location or next(x for x in world.locations if x not in inp.exclude_locations)
            lines = [
                AllocatedLine(line_id=line.id, sku=line.sku, quantity=line.quantity)
                for line in inp.order.line_items
                if line.id in inp.line_ids
            ]
            at = {line.line_id: location for line in lines}
            if world.split:
                at = {line.line_id: world.locations[i % len(world.locations)] for i, line in enumerate(lines)}
            # As the router: one assignment per location and address part (a multi-address order's).
            part_of = {line.id: i for i, part in enumerate(address_parts(inp.order)) for line in part.lines}
            keys = {line.line_id: (part_of.get(line.line_id, 0), at[line.line_id]) for line in lines}
            assignments = [
                LocationAssignment(
                    location_id=where,
                    fulfillment_channel_id="wms",
                    line_items=[line for line in lines if keys[line.line_id] == (part, where)],
                )
                for part, where in dict.fromkeys(keys.values())
            ]
            return AllocateResult(
                outcome=AllocateOutcome.ALLOCATED, allocation=Allocation(assignments=assignments, rule="test-rule")
            )

        @activity.defn(name=Activities.RELEASE)
        async def release(inp: ReleaseInput) -> int:
            world.calls.append((Activities.RELEASE, inp))
            return 1

        @activity.defn(name=Activities.COMMIT_SHIPMENT)
        async def commit_shipment(inp: CommitInput) -> bool:
            world.calls.append((Activities.COMMIT_SHIPMENT, inp))
            return True

        @activity.defn(name=Activities.NOTIFY)
        async def notify(note: Notification) -> None:
            world.calls.append((Activities.NOTIFY, note))
            if world.notify_gate is not None:
                await world.notify_gate.wait()

        @activity.defn(name=Activities.SEND_SHIPPING_REQUEST)
        async def send(request: ShippingRequest) -> SendResult:
            world.calls.append((Activities.SEND_SHIPPING_REQUEST, request))
            if world.rejections:
                raise ApplicationError(
                    world.rejections.pop(0), type=ErrorTypes.SHIPPING_REQUEST_REJECTED, non_retryable=True
                )
            return SendResult(vendor_id=f"wms-{len(world.of(Activities.SEND_SHIPPING_REQUEST))}")

        @activity.defn(name=Activities.CANCEL_SHIPPING_REQUEST)
        async def cancel(inp: CancelShippingInput) -> CancelShippingResult:
            world.calls.append((Activities.CANCEL_SHIPPING_REQUEST, inp))
            if world.cancel_unreachable:
                raise ApplicationError("connection refused", type="VendorUnavailable")
            if world.cancel_failures:
                raise world.cancel_failures.pop(0)
            if world.cancel_too_late:
                return CancelShippingResult(cancelled=False, already_shipped=True, message="already shipped")
            return CancelShippingResult(cancelled=True)

        @activity.defn(name=Activities.PUSH_TRACKING)
        async def push(inp: PushTrackingInput) -> PushTrackingResult:
            world.calls.append((Activities.PUSH_TRACKING, inp))
            if world.push_failures:
                raise world.push_failures.pop(0)
            return PushTrackingResult(channel_fulfillment_id=f"f-{inp.shipment.id}")

        @activity.defn(name=Activities.FETCH_SHIPMENTS)
        async def fetch(inp: FetchShipmentsInput) -> FetchShipmentsResult:
            world.calls.append((Activities.FETCH_SHIPMENTS, inp))
            return FetchShipmentsResult(
                shipments=world.polled.get(inp.request.id, []), check=world.checks.get(inp.request.id)
            )

        @activity.defn(name=Activities.CANCEL_ON_CHANNEL)
        async def cancel_on_channel(inp: ChannelCancelInput) -> ChannelCancelResult:
            world.calls.append((Activities.CANCEL_ON_CHANNEL, inp))
            return ChannelCancelResult(told=True)

        @activity.defn(name=Activities.RESOLVE_CHANNEL_EXCEPTION)
        async def resolve_channel_exception(reply: ChannelExceptionReply) -> ChannelExceptionReplied:
            world.calls.append((Activities.RESOLVE_CHANNEL_EXCEPTION, reply))
            return ChannelExceptionReplied(told=f"{reply.kind} {reply.decision}")

        @activity.defn(name=Activities.ACKNOWLEDGE_ON_CHANNEL)
        async def acknowledge_on_channel(inp: AcknowledgeInput) -> AcknowledgeResult:
            world.calls.append((Activities.ACKNOWLEDGE_ON_CHANNEL, inp))
            if world.ack_failures:
                raise world.ack_failures.pop(0)
            return AcknowledgeResult(told=f"{inp.order.external_id} acknowledged")

        @activity.defn(name=Activities.CONFIRM_ALLOCATION)
        async def confirm_allocation(inp: ConfirmAllocationInput) -> ConfirmAllocationResult:
            world.calls.append((Activities.CONFIRM_ALLOCATION, inp))
            return ConfirmAllocationResult(told=f"{len(inp.lines)} line(s) confirmed")

        return [
            acknowledge_on_channel,
            confirm_allocation,
            ingest,
            allocate,
            release,
            commit_shipment,
            notify,
            send,
            cancel,
            push,
            fetch,
            cancel_on_channel,
            resolve_channel_exception,
        ]

    def worker(self, client: Client) -> Worker:
        return Worker(client, task_queue=self.task_queue, workflows=[OrderWorkflow], activities=self.activities())

    async def start(
        self, client: Client, payload: dict[str, Any], channel_id: str = "storefront"
    ) -> WorkflowHandle[Any, OrderView]:
        external_id = payload.get("externalId") or uuid.uuid4().hex[:8]
        handle = await client.start_workflow(
            ORDER_WORKFLOW,
            OrderInput(
                channel_id=channel_id,
                external_id=f"{external_id}-{self.task_queue}",
                raw_payload=payload,
                received_at=datetime.now(UTC),
                revision=self.revision,
            ),
            id=order_workflow_id(channel_id, f"{external_id}-{self.task_queue}"),
            task_queue=self.task_queue,
            # As the gateway starts an order (a revision-0 order was started without them).
            search_attributes=order_start_search_attributes(channel_id) if self.revision else None,
            result_type=OrderView,
        )
        self.handles.append(handle)
        return handle


def shipment_for(request: ShippingRequest, lines: list[tuple[str, int]] | None = None, n: int = 1) -> Shipment:
    items = lines or [(line.sku, line.quantity) for line in request.line_items]
    return Shipment(
        id=f"{request.id}/ship{n}",
        shipping_request_id=request.id,
        line_items=[ShipmentLine(sku=sku, quantity=qty) for sku, qty in items],
        tracking_numbers=[f"1Z{n:08d}"],
        shipping_carrier="UPS",
    )
