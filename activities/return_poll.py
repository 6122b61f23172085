"""Returns found by polling a channel. A selling channel (`SellingConnector.poll_returns`): each
return request Orderloop has not accepted starts its return workflow, once (the return intake's
ledger record and Temporal's id policy make a repeated poll, or a webhook that did arrive, start
nothing); the cursor is saved only after every request is handled, so a failed poll is repeated
from the same point. A fulfillment channel (`FulfillmentConnector.fetch_return_receipt`): each
return the ledger shows expected at one of its locations and not received yet is asked for its
receipt, and a receipt found is signalled to the return's workflow under a delivery id of the
poll's own, so a repeated poll counts once and a receipt its webhook brought first is ignored."""

from __future__ import annotations

from datetime import UTC, datetime

import structlog
from temporalio import activity
from temporalio.service import RPCError, RPCStatusCode

from activities.vendor_errors import vendor_call
from connectors.base import Connector, FulfillmentConnector, PermanentError
from connectors.registry import selling
from orderloop.contracts import Activities, ErrorTypes
from orderloop.contracts.names import ReturnSignals
from orderloop.contracts.returns import ReturnInput
from orderloop.contracts.scheduled_jobs import PollReturnsInput, PollReturnsReport
from orderloop.ledger import Ledger
from orderloop.return_intake import ReturnIntake, start_return_workflow
from orderloop.returns_model import ReturnStatus

log = structlog.get_logger("orderloop.return_poll")

# The ledger statuses of a return expected at the warehouse and not received yet.
AWAITING_RECEIPT = (ReturnStatus.AUTHORISED, ReturnStatus.LABEL_ISSUED, ReturnStatus.IN_TRANSIT)
# How many returns of each status one poll asks about (the newest first).
RECEIPT_POLL_LIMIT = 500


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
        found_at = self.connectors.get(inp.channel_id)
        if isinstance(found_at, FulfillmentConnector):
            # No cursor: every return still awaited is asked about, however old.
            receipts = PollReturnsReport(channel_id=inp.channel_id, polled_since=now, polled_until=now)
            await self._poll_receipts(found_at, inp.locations, receipts)
            return receipts
        cursor = return_poll_cursor(inp.channel_id)
        last = await self.ledger.poll_cursor(cursor)
        since = (last - inp.overlap) if last else now - inp.first_lookback
        report = PollReturnsReport(channel_id=inp.channel_id, polled_since=since, polled_until=now)
        connector = selling(self.connectors, inp.channel_id)
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

    async def _poll_receipts(
        self, connector: FulfillmentConnector, locations: list[str], report: PollReturnsReport
    ) -> None:
        if not connector.supports_returns:
            log.warning("returns.poll_skipped", channel=report.channel_id, reason="the connector carries no returns")
            return
        client = activity.client()
        for status in AWAITING_RECEIPT:
            for record in await self.ledger.list_returns(status=status, limit=RECEIPT_POLL_LIMIT):
                if record.location_id not in locations:
                    continue
                report.seen += 1
                # Temporal retries the poll on a transient error; a return the channel cannot
                # answer for (a permanent one) does not hold up the others.
                with vendor_call(ErrorTypes.CHANNEL_REJECTED):
                    try:
                        receipt = await connector.fetch_return_receipt(record.return_id, None)
                    except PermanentError as exc:
                        log.warning("return.receipt_poll_refused", workflow_id=record.return_id, reason=str(exc))
                        continue
                activity.heartbeat(record.return_id)
                if receipt is None:
                    continue
                receipt = receipt.model_copy(update={"event_id": f"receipt-poll/{record.return_id}"})
                try:
                    await client.get_workflow_handle(record.return_id).signal(ReturnSignals.RECEIPT, receipt)
                except RPCError as exc:
                    if exc.status is not RPCStatusCode.NOT_FOUND:
                        raise
                    # The ledger still shows it awaited, but its workflow is gone (terminated).
                    log.warning("return.receipt_poll_no_workflow", workflow_id=record.return_id)
                    continue
                report.received.append(record.return_id)
                log.info("return.receipt_found_by_poll", channel=report.channel_id, workflow_id=record.return_id)
        log.info("returns.receipts_polled", **report.model_dump(mode="json", by_alias=False))
