"""Missed-webhook recovery: read a selling channel's orders updated since the last poll and
start a workflow for every order Orderloop never accepted. A webhook that was lost (or never
sent) costs a delay, never an order; one that did arrive is recognised and starts nothing."""

from __future__ import annotations

from datetime import UTC, datetime

import structlog
from temporalio import activity

from activities.vendor_errors import vendor_call
from connectors.base import Connector
from connectors.registry import selling
from orderloop.contracts import Activities, ErrorTypes
from orderloop.contracts.scheduled_jobs import PollOrdersInput, PollOrdersReport
from orderloop.ledger import Ledger
from orderloop.order_intake import start_order_workflow

log = structlog.get_logger("orderloop.order_poll")


class OrderPoll:
    def __init__(self, ledger: Ledger, connectors: dict[str, Connector], task_queue_prefix: str) -> None:
        self.ledger = ledger
        self.connectors = connectors
        self.prefix = task_queue_prefix

    @activity.defn(name=Activities.POLL_CHANNEL_ORDERS)
    async def poll_channel_orders(self, inp: PollOrdersInput) -> PollOrdersReport:
        now = datetime.now(UTC)
        last = await self.ledger.poll_cursor(inp.channel_id)
        since = (last - inp.overlap) if last else now - inp.first_lookback
        with vendor_call(ErrorTypes.CHANNEL_REJECTED):
            polled = await selling(self.connectors, inp.channel_id).poll_orders(since)
        report = PollOrdersReport(channel_id=inp.channel_id, polled_since=since, polled_until=now, seen=len(polled))
        client = activity.client()
        for order in polled:
            if await self.ledger.accepted_order(inp.channel_id, order.external_id):
                report.already_known += 1
                continue
            if order.cancelled:
                report.cancelled_unknown += 1
                continue
            workflow_id, started = await start_order_workflow(
                client, self.ledger, self.prefix, inp.channel_id, order.external_id, order.payload
            )
            if started:
                report.started.append(workflow_id)
                log.warning("order.recovered_by_poll", channel=inp.channel_id, workflow_id=workflow_id)
            else:
                report.already_known += 1
            activity.heartbeat(order.external_id)
        # Saved only after every order is handled, so a failed poll is repeated from the same point.
        await self.ledger.save_poll_cursor(inp.channel_id, now)
        log.info("orders.polled", **report.model_dump(mode="json", by_alias=False))
        return report
