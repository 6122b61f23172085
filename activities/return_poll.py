"""Return requests found by polling a selling channel (`SellingConnector.poll_returns`): each
one Orderloop has not accepted starts its return workflow, once (the return intake's ledger
record and Temporal's id policy make a repeated poll, or a webhook that did arrive, start
nothing). The cursor is saved only after every request is handled, so a failed poll is repeated
from the same point."""

from __future__ import annotations

from datetime import UTC, datetime

import structlog
from temporalio import activity

from activities.vendor_errors import vendor_call
from connectors.base import Connector
from connectors.registry import selling
from orderloop.contracts import Activities, ErrorTypes
from orderloop.contracts.returns import ReturnInput
from orderloop.contracts.scheduled_jobs import PollReturnsInput, PollReturnsReport
from orderloop.ledger import Ledger
from orderloop.return_intake import ReturnIntake, start_return_workflow

log = structlog.get_logger("orderloop.return_poll")


def return_poll_cursor(channel_id: str) -> str:
    """The poll cursor a channel's returns are kept under (beside its orders' own)."""
    return f"returns/{channel_id}"


class ReturnPoll:
    def __init__(self, ledger: Ledger, connectors: dict[str, Connector], task_queue_prefix: str) -> None:
        self.ledger = ledger
        self.connectors = connectors
        self.prefix = task_queue_prefix

    @activity.defn(name=Activities.POLL_CHANNEL_RETURNS)
    async def poll_channel_returns(self, inp: PollReturnsInput) -> PollReturnsReport:
        now = datetime.now(UTC)
        cursor = return_poll_cursor(inp.channel_id)
        last = await self.ledger.poll_cursor(cursor)
        since = (last - inp.overlap) if last else now - inp.first_lookback
        connector = selling(self.connectors, inp.channel_id)
        report = PollReturnsReport(channel_id=inp.channel_id, polled_since=since, polled_until=now)
        if not connector.supports_returns:
            log.warning("returns.poll_skipped", channel=inp.channel_id, reason="the connector carries no returns")
            return report
        with vendor_call(ErrorTypes.CHANNEL_REJECTED):
            polled = await connector.poll_returns(since)
        report.seen = len(polled)
        client = activity.client()

        async def start(workflow_id: str, request: ReturnInput) -> bool:
            return await start_return_workflow(client, self.prefix, workflow_id, request)

        intake = ReturnIntake(self.ledger, start)
        for found in polled:
            accepted = await intake.requested(
                inp.channel_id, found.external_id, found.payload, None, found.external_order_id
            )
            if accepted.started:
                report.started.append(accepted.workflow_id)
                log.info("return.found_by_poll", channel=inp.channel_id, workflow_id=accepted.workflow_id)
            else:
                report.already_known += 1
            activity.heartbeat(found.external_id)
        await self.ledger.save_poll_cursor(cursor, now)
        log.info("returns.polled", **report.model_dump(mode="json", by_alias=False))
        return report
