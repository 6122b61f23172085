"""Missed-webhook recovery: read a selling channel's orders updated since the last poll, start a
workflow for every order Orderloop never accepted, and deliver to the accepted ones the cancels
and edits the channel made since (each once). A webhook that was lost (or never sent) costs a
delay, never an order or a change; one that did arrive is recognised and changes nothing. An
order the channel holds back (not yet shippable) is recorded as held, never started; its hold
is released when a later poll (or its webhook) starts it and cancelled with the channel's cancel.
Cases the channel raised on orders that only a read finds (`poll_channel_cases`: an EDI
partner's rejection of an 856) are delivered as a webhook's are: to the running order, or told
to the playbook's sinks when the order is closed or was never received."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import partial

import structlog
from temporalio import activity
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from activities.vendor_errors import vendor_call
from activities.workflow_lookup import has_run
from connectors.base import Connector, PolledCase, PolledOrder
from connectors.registry import selling
from orderloop.channel_cases import unmatched_case_notices
from orderloop.config import OrderloopConfig
from orderloop.contracts import Activities, ChannelCancel, ChannelEdit, ErrorTypes, Signals, order_workflow_id
from orderloop.contracts.scheduled_jobs import PollOrdersInput, PollOrdersReport
from orderloop.ledger import Ledger
from orderloop.order_intake import OrderEvent, Outcome, polled_event, temporal_intake

log = structlog.get_logger("orderloop.order_poll")

POLLED_CANCEL_REASON = "cancelled at the selling channel (found by the order poll)"


class OrderPoll:
    def __init__(
        self,
        ledger: Ledger,
        connectors: dict[str, Connector],
        task_queue_prefix: str,
        config: OrderloopConfig | None = None,
    ) -> None:
        self.ledger = ledger
        self.connectors = connectors
        self.prefix = task_queue_prefix
        # The playbooks and sinks a case on a closed order is told to (none: it is logged only).
        self.config = config

    @activity.defn(name=Activities.POLL_CHANNEL_ORDERS)
    async def poll_channel_orders(self, inp: PollOrdersInput) -> PollOrdersReport:
        now = datetime.now(UTC)
        last = await self.ledger.poll_cursor(inp.channel_id)
        since = (last - inp.overlap) if last else now - inp.first_lookback
        with vendor_call(ErrorTypes.CHANNEL_REJECTED):
            polled = await selling(self.connectors, inp.channel_id).poll_orders(since)
        report = PollOrdersReport(channel_id=inp.channel_id, polled_since=since, polled_until=now, seen=len(polled))
        client = activity.client()
        intake = temporal_intake(client, self.ledger, self.prefix)
        held = 0
        for order in polled:
            if order.hold is not None:
                # Held back by the channel: nothing starts, the sighting is recorded.
                outcome = (await intake.held_order(inp.channel_id, None, order.external_id, order.hold)).outcome
                held += outcome is Outcome.HELD
                activity.heartbeat(order.external_id)
                continue
            event, delivery_id = polled_event(order.external_id, order.cancelled, order.created_at, order.updated_at)

            signal = partial(_deliver, client, order, event, delivery_id)
            received = await intake.order_event(
                inp.channel_id, event, delivery_id, order.external_id, order.payload, signal, via="poll"
            )
            match received.outcome:
                case Outcome.STARTED:
                    report.started.append(str(received.workflow_id))
                    log.warning("order.recovered_by_poll", channel=inp.channel_id, workflow_id=received.workflow_id)
                case Outcome.CANCEL_UNKNOWN:
                    report.cancelled_unknown += 1
                case Outcome.SIGNALLED if received.answer:
                    (report.cancels_delivered if event is OrderEvent.CANCELLED else report.edits_delivered).append(
                        str(received.workflow_id)
                    )
                    log.warning(
                        f"order.{event}_recovered_by_poll", channel=inp.channel_id, workflow_id=received.workflow_id
                    )
                case _:
                    report.already_known += 1
            activity.heartbeat(order.external_id)
        await self._deliver_cases(client, inp.channel_id)
        # Saved only after every order is handled, so a failed poll is repeated from the same point.
        await self.ledger.save_poll_cursor(inp.channel_id, now)
        log.info("orders.polled", held=held, **report.model_dump(mode="json", by_alias=False))
        return report

    async def _deliver_cases(self, client: Client, channel_id: str) -> None:
        connector = selling(self.connectors, channel_id)
        with vendor_call(ErrorTypes.CHANNEL_REJECTED):
            cases = await connector.poll_channel_cases()
        for found in cases:
            await self._deliver_case(client, channel_id, found)
            activity.heartbeat(found.external_order_id)
        if cases:
            await connector.channel_cases_delivered(cases)

    async def _deliver_case(self, client: Client, channel_id: str, found: PolledCase) -> None:
        workflow_id = order_workflow_id(channel_id, found.external_order_id)
        case = found.case
        handle = client.get_workflow_handle(workflow_id)
        try:
            await handle.signal(Signals.CHANNEL_EXCEPTION, case)
            log.warning(
                "order.channel_exception_polled", workflow_id=workflow_id, kind=case.kind, reference=case.reference
            )
            return
        except RPCError as err:
            if err.status is not RPCStatusCode.NOT_FOUND:
                raise
        closed = await has_run(client, workflow_id)
        queued = (
            unmatched_case_notices(self.config, channel_id, workflow_id, found.external_order_id, case, closed)
            if self.config is not None
            else []
        )
        await self.ledger.queue_notices(queued)
        log.warning(
            "order.channel_exception_unmatched",
            workflow_id=workflow_id,
            kind=case.kind,
            reference=case.reference,
            closed=closed,
            sinks=[q.sink for q in queued],
            message=case.message,
        )


async def _deliver(
    client: Client, order: PolledOrder, event: OrderEvent, delivery_id: str | None, workflow_id: str
) -> bool:
    """Signal the channel's change to the order's workflow; False when the order is closed (a
    closed order takes no change: nothing to reconcile)."""
    message: ChannelCancel | ChannelEdit
    if event is OrderEvent.CANCELLED:
        name = Signals.CHANNEL_CANCEL
        message = ChannelCancel(reason=POLLED_CANCEL_REASON, event_id=delivery_id, updated_at=order.updated_at)
    else:
        name = Signals.CHANNEL_EDIT
        message = ChannelEdit(raw_payload=order.payload, event_id=delivery_id, updated_at=order.updated_at, polled=True)
    try:
        await client.get_workflow_handle(workflow_id).signal(name, message)
    except RPCError as err:
        if err.status is RPCStatusCode.NOT_FOUND:
            return False
        raise
    return True
