"""The channel-wide shipment poll, for a fulfillment channel that sends no webhook but lists its
shipments by time (NetSuite's item fulfillments by last-modified date): read every shipment the
channel recorded since the last poll (a stored cursor, less an overlap) and signal each to the
order it belongs to. The order counts each shipment id once, so a shipment read by two polls, or
by this poll and the order's own per-request poll, ships once. The cursor is saved only after
every shipment is handled, so a failed poll is repeated from the same point."""

from __future__ import annotations

from datetime import UTC, datetime

import structlog
from temporalio import activity

from activities.shipment_delivery import deliver_shipment
from activities.vendor_errors import vendor_call
from connectors.base import Connector, Delivery
from connectors.registry import fulfillment
from orderloop.contracts import Activities, ErrorTypes
from orderloop.contracts.scheduled_jobs import PollShipmentsInput, PollShipmentsReport
from orderloop.ledger import Ledger

log = structlog.get_logger("orderloop.shipment_poll")


def shipment_poll_cursor(channel_id: str) -> str:
    """The poll cursor a fulfillment channel's shipments are kept under."""
    return f"shipments/{channel_id}"


class ShipmentPoll:
    def __init__(self, ledger: Ledger, connectors: dict[str, Connector]) -> None:
        self.ledger = ledger
        self.connectors = connectors

    @activity.defn(name=Activities.POLL_CHANNEL_SHIPMENTS)
    async def poll_channel_shipments(self, inp: PollShipmentsInput) -> PollShipmentsReport:
        now = datetime.now(UTC)
        cursor = shipment_poll_cursor(inp.channel_id)
        last = await self.ledger.poll_cursor(cursor)
        since = (last - inp.overlap) if last else now - inp.first_lookback
        with vendor_call(ErrorTypes.SHIPPING_REQUEST_REJECTED):
            polled = await fulfillment(self.connectors, inp.channel_id).poll_shipments(since)
        report = PollShipmentsReport(channel_id=inp.channel_id, polled_since=since, polled_until=now, seen=len(polled))
        client = activity.client()
        for shipment in polled:
            delivery = await deliver_shipment(client, shipment)
            if delivery is Delivery.DELIVERED:
                report.delivered += 1
            else:
                report.not_running += 1
                log.info("shipment.not_delivered", shipment_id=shipment.id, outcome=delivery.value)
            activity.heartbeat(shipment.id)
        await self.ledger.save_poll_cursor(cursor, now)
        log.info("shipments.polled", **report.model_dump(mode="json", by_alias=False))
        return report
