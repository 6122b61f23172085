"""Fake activities for return workflow tests, registered under the real activity names: the
prepare step answers what the test scripts (the mapped request, its order, a refusal), every
call is recorded."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from temporalio import activity
from temporalio.client import Client, WorkflowHandle
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.worker import Worker

from orderloop.activity_models import Notification
from orderloop.contracts.names import Activities, ReturnActivities
from orderloop.contracts.returns import (
    RETURN_REVISION,
    RETURN_WORKFLOW,
    CreateExpectedResult,
    PrepareInput,
    PrepareResult,
    PushReceivedInput,
    PushReceivedResult,
    RecordStatusInput,
    RestockInput,
    RestockResult,
    ReturnInput,
    ReturnPolicy,
    StartExchangeInput,
    StartExchangeResult,
    exchange_order_external_id,
    return_workflow_id,
)
from orderloop.return_policy import DEFAULT_RESTOCK, ExchangeOn, NotReceivedAction
from orderloop.returns_model import (
    Disposition,
    ExchangeLine,
    ExpectedReturn,
    ReturnLabel,
    ReturnLine,
    ReturnOutcome,
    ReturnRequest,
    ReturnView,
)
from workflows.returns import ReturnWorkflow


@dataclass
class ReturnWorld:
    task_queue: str = field(default_factory=lambda: f"test-returns-{uuid.uuid4().hex[:10]}")
    auto_authorise: bool = True
    not_received_after: timedelta = timedelta(days=14)
    not_received_action: NotReceivedAction = NotReceivedAction.KEEP_WAITING
    exchange_on: ExchangeOn = ExchangeOn.AUTHORISED
    # What prepare finds: the order (None: never seen) and a refusal.
    order_known: bool = True
    refusal: str | None = None
    # The warehouse issues a label when the return is announced.
    label: ReturnLabel | None = field(default_factory=lambda: ReturnLabel(carrier="UPS", tracking_number="1ZRET001"))
    calls: list[tuple[str, Any]] = field(default_factory=list)
    handles: list[WorkflowHandle[Any, ReturnView]] = field(default_factory=list)

    def configure(self, **settings: Any) -> ReturnWorld:
        for key, value in settings.items():
            if not hasattr(self, key):
                raise AttributeError(key)
            setattr(self, key, value)
        return self

    def of(self, name: str) -> list[Any]:
        return [arg for n, arg in self.calls if n == name]

    def policy(self) -> ReturnPolicy:
        return ReturnPolicy(
            auto_authorise=self.auto_authorise,
            restock=dict(DEFAULT_RESTOCK),
            not_received_after=self.not_received_after,
            not_received_action=self.not_received_action,
            exchange_on=self.exchange_on,
            orders_task_queue=self.task_queue,
            selling_task_queue=self.task_queue,
            fulfillment_task_queue=self.task_queue,
        )

    def activities(self) -> list[Any]:
        world = self

        @activity.defn(name=ReturnActivities.PREPARE)
        async def prepare(inp: PrepareInput) -> PrepareResult:
            world.calls.append((ReturnActivities.PREPARE, inp))
            raw = inp.raw_payload
            order_id = f"order/storefront/{raw['orderExternalId']}"
            request = ReturnRequest(
                id=inp.workflow_id,
                external_id=inp.external_id,
                channel_id=inp.channel_id,
                tenant_id="test",
                order_id=order_id,
                external_order_id=raw["orderExternalId"],
                created_at=inp.received_at,
                updated_at=inp.received_at,
                outcome=ReturnOutcome(raw.get("outcome", "refund")),
                return_line_items=[ReturnLine.model_validate(line) for line in raw["returnLineItems"]],
                exchange_line_items=[ExchangeLine.model_validate(line) for line in raw.get("exchangeLineItems", [])],
            )
            expected = ExpectedReturn(
                return_id=inp.workflow_id,
                order_id=order_id,
                external_order_id=request.external_order_id,
                channel_id=inp.channel_id,
                fulfillment_channel_id="wms",
                location_id="east",
                lines=request.return_line_items,
                created_at=inp.received_at,
            )
            return PrepareResult(
                policy=world.policy(),
                request=request,
                order_workflow_id=order_id if world.order_known else None,
                shipment_ids=[f"{order_id}/sr1/ship1"] if world.order_known else [],
                refusal=world.refusal,
                location_id="east",
                fulfillment_channel_id="wms",
                expected=expected,
            )

        @activity.defn(name=ReturnActivities.RECORD_STATUS)
        async def record_status(inp: RecordStatusInput) -> None:
            world.calls.append((ReturnActivities.RECORD_STATUS, inp))

        @activity.defn(name=ReturnActivities.RESTOCK)
        async def restock(inp: RestockInput) -> RestockResult:
            world.calls.append((ReturnActivities.RESTOCK, inp))
            restocked: dict[str, int] = {}
            apart: dict[str, int] = {}
            for line in inp.lines:
                target = restocked if inp.restock[line.condition] is Disposition.RESTOCK else apart
                target[line.sku] = target.get(line.sku, 0) + line.quantity
            return RestockResult(restocked=restocked, non_sellable=apart)

        @activity.defn(name=ReturnActivities.CREATE_EXPECTED_RETURN)
        async def create_expected(expected: ExpectedReturn) -> CreateExpectedResult:
            world.calls.append((ReturnActivities.CREATE_EXPECTED_RETURN, expected))
            return CreateExpectedResult(
                vendor_id=f"wms-rma-{len(world.of(ReturnActivities.CREATE_EXPECTED_RETURN))}", label=world.label
            )

        @activity.defn(name=ReturnActivities.PUSH_RETURN_RECEIVED)
        async def push_received(inp: PushReceivedInput) -> PushReceivedResult:
            world.calls.append((ReturnActivities.PUSH_RETURN_RECEIVED, inp))
            return PushReceivedResult(channel_ref=f"refund-{inp.request.external_id}")

        @activity.defn(name=ReturnActivities.START_EXCHANGE)
        async def start_exchange(inp: StartExchangeInput) -> StartExchangeResult:
            world.calls.append((ReturnActivities.START_EXCHANGE, inp))
            external = exchange_order_external_id(inp.request.external_id)
            return StartExchangeResult(order_workflow_id=f"order/storefront/{external}", started=True)

        @activity.defn(name=Activities.NOTIFY)
        async def notify(note: Notification) -> None:
            world.calls.append((Activities.NOTIFY, note))

        return [prepare, record_status, restock, create_expected, push_received, start_exchange, notify]

    def worker(self, client: Client) -> Worker:
        return Worker(client, task_queue=self.task_queue, workflows=[ReturnWorkflow], activities=self.activities())

    def return_id(self, external_id: str) -> str:
        return return_workflow_id("storefront", f"{external_id}-{self.task_queue}")

    async def start(
        self, client: Client, external_id: str, lines: list[tuple[str, str, int]], **extra: Any
    ) -> WorkflowHandle[Any, ReturnView]:
        """Start a return as the gateway does (a second start of the same id joins the first)."""
        payload = {
            "orderExternalId": "1001",
            "returnLineItems": [
                {"id": f"r{i}", "orderLineItemId": line, "sku": sku, "quantityReturned": qty, "returnReason": "size"}
                for i, (line, sku, qty) in enumerate(lines, 1)
            ],
            **extra,
        }
        handle = await client.start_workflow(
            RETURN_WORKFLOW,
            ReturnInput(
                channel_id="storefront",
                external_id=f"{external_id}-{self.task_queue}",
                raw_payload=payload,
                received_at=datetime.now(UTC),
                revision=RETURN_REVISION,
            ),
            id=self.return_id(external_id),
            task_queue=self.task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            result_type=ReturnView,
        )
        if all(h.id != handle.id for h in self.handles):
            self.handles.append(handle)
        return handle
