"""The return workflow's activities: its internal steps (prepare, record status, restock, start an
exchange) on the orders queue, and its connector calls (announce the expected return to the
warehouse, tell the channel it was received) on each channel's own queue."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from datetime import UTC, datetime

import structlog
from pydantic import ValidationError
from temporalio import activity
from temporalio.client import Client

from activities.order_steps import validation_reason
from activities.vendor_errors import vendor_call
from connectors.base import Connector, MappingError, ReturnsNotSupported
from connectors.registry import fulfillment, selling
from orderloop.config import OrderloopConfig
from orderloop.contracts import Queries
from orderloop.contracts.names import ErrorTypes, ReturnActivities
from orderloop.contracts.order import parse_order_workflow_id
from orderloop.contracts.returns import (
    CreateExpectedResult,
    PrepareInput,
    PrepareResult,
    PushReceivedInput,
    PushReceivedResult,
    RecordStatusInput,
    RestockInput,
    RestockResult,
    StartExchangeInput,
    StartExchangeResult,
    exchange_order_external_id,
)
from orderloop.exchange import exchange_payload
from orderloop.ledger import Ledger
from orderloop.ledger.types import ReceiptRow
from orderloop.model import OrderView
from orderloop.order_intake import temporal_intake
from orderloop.return_policy import DEFAULT_RESTOCK
from orderloop.return_prep import prepare, return_policy
from orderloop.returns_model import Disposition, ExpectedReturn, ReturnStatus

log = structlog.get_logger("orderloop.activities")


class ReturnSteps:
    """Internal steps of the return workflow."""

    def __init__(
        self,
        config: OrderloopConfig,
        ledger: Ledger,
        connectors: Mapping[str, Connector],
        prefix: str,
        client: Client | None = None,
    ) -> None:
        self.config = config
        self.ledger = ledger
        self.connectors = dict(connectors)
        self.prefix = prefix
        self.client = client

    @activity.defn(name=ReturnActivities.PREPARE)
    async def prepare(self, inp: PrepareInput) -> PrepareResult:
        connector = selling(self.connectors, inp.channel_id)
        external_order = connector.return_order_id(inp.raw_payload)
        order_workflow_id = None
        if external_order is not None:
            order_workflow_id = await self.ledger.accepted_order(inp.channel_id, external_order)
        try:
            request = connector.map_return(
                inp.raw_payload,
                return_id=inp.workflow_id,
                tenant_id=self.config.tenant_id,
                order_id=order_workflow_id or f"order/{inp.channel_id}/{external_order}",
                received_at=inp.received_at,
            )
        except (MappingError, ValidationError) as exc:
            reason = str(exc) if isinstance(exc, MappingError) else validation_reason(exc)
            log.warning("return.invalid", workflow_id=inp.workflow_id, reason=reason)
            # Kept in the ledger without lines, so `returns list` shows it to an operator.
            await self.ledger.record_return(
                inp.workflow_id,
                inp.channel_id,
                inp.external_id,
                order_workflow_id,
                [],
                status=ReturnStatus.EXCEPTION,
                reason=reason,
            )
            return PrepareResult(policy=return_policy(self.config, self.prefix, inp.channel_id, None), error=reason)
        result = await prepare(self.config, self.ledger, self.prefix, request, order_workflow_id, datetime.now(UTC))
        log.info(
            "return.prepared",
            workflow_id=inp.workflow_id,
            order=order_workflow_id,
            location=result.location_id,
            refusal=result.refusal,
        )
        return result

    @activity.defn(name=ReturnActivities.RECORD_STATUS)
    async def record_status(self, inp: RecordStatusInput) -> None:
        await self.ledger.set_return_status(inp.return_id, ReturnStatus(inp.status), inp.reason)

    @activity.defn(name=ReturnActivities.RESTOCK)
    async def restock(self, inp: RestockInput) -> RestockResult:
        rows = []
        restocked: dict[str, int] = defaultdict(int)
        apart: dict[str, int] = defaultdict(int)
        for line in inp.lines:
            disposition = inp.restock.get(line.condition, DEFAULT_RESTOCK[line.condition])
            rows.append(
                ReceiptRow(sku=line.sku, condition=line.condition, disposition=disposition, quantity=line.quantity)
            )
            if disposition is Disposition.RESTOCK:
                restocked[line.sku] += line.quantity
            elif disposition is Disposition.NON_SELLABLE:
                apart[line.sku] += line.quantity
        applied = await self.ledger.receive_return(inp.return_id, inp.location_id, rows)
        log.info("return.restocked", workflow_id=inp.return_id, restocked=dict(restocked), applied=applied)
        return RestockResult(restocked=dict(restocked), non_sellable=dict(apart), applied=applied)

    @activity.defn(name=ReturnActivities.START_EXCHANGE)
    async def start_exchange(self, inp: StartExchangeInput) -> StartExchangeResult:
        assert self.client is not None, "the exchange step needs a Temporal client"
        view = await self.client.get_workflow_handle(inp.order_workflow_id).query(Queries.STATUS, result_type=OrderView)
        if view.order is None:
            raise MappingError(f"order {inp.order_workflow_id} was never mapped: nothing to exchange from")
        channel_id, _ = parse_order_workflow_id(inp.order_workflow_id)
        payload = exchange_payload(view.order, inp.request, inp.return_workflow_id, datetime.now(UTC))
        intake = temporal_intake(self.client, self.ledger, self.prefix)
        workflow_id, started = await intake.polled_order(
            channel_id, exchange_order_external_id(inp.request.external_id), payload, via="exchange"
        )
        log.info("return.exchange_started", workflow_id=inp.return_workflow_id, order=workflow_id, started=started)
        return StartExchangeResult(order_workflow_id=workflow_id, started=started)


class ReturnCalls:
    """Connector calls of the return workflow, on the channel's queue."""

    def __init__(self, connectors: Mapping[str, Connector]) -> None:
        self.connectors = dict(connectors)

    @activity.defn(name=ReturnActivities.CREATE_EXPECTED_RETURN)
    async def create_expected_return(self, expected: ExpectedReturn) -> CreateExpectedResult:
        connector = fulfillment(self.connectors, expected.fulfillment_channel_id)
        if not connector.supports_returns:
            return CreateExpectedResult(supported=False)
        with vendor_call(ErrorTypes.SHIPPING_REQUEST_REJECTED):
            receipt = await connector.create_return(expected)
        log.info(
            "return.expected", workflow_id=expected.return_id, vendor_id=receipt.vendor_id, duplicate=receipt.duplicate
        )
        return CreateExpectedResult(vendor_id=receipt.vendor_id, label=receipt.label)

    @activity.defn(name=ReturnActivities.PUSH_RETURN_RECEIVED)
    async def push_return_received(self, inp: PushReceivedInput) -> PushReceivedResult:
        connector = selling(self.connectors, inp.request.channel_id)
        if not connector.supports_returns:
            return PushReceivedResult(supported=False)
        with vendor_call(ErrorTypes.CHANNEL_REJECTED):
            try:
                ref = await connector.push_return_received(inp.request, inp.receipt)
            except ReturnsNotSupported:
                return PushReceivedResult(supported=False)
        log.info("return.received_pushed", workflow_id=inp.request.id, channel_ref=ref)
        return PushReceivedResult(channel_ref=ref)
