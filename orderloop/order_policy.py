"""The policy an order runs under, from its channel's configuration: timings, task queues and
the locations an operator may reroute to. Fixed at ingest, so a running order keeps it."""

from __future__ import annotations

from orderloop.config import OrderloopConfig
from orderloop.contracts import OrderPolicy, channel_task_queue, orders_task_queue
from orderloop.model import ConnectorRole


def order_policy(config: OrderloopConfig, task_queue_prefix: str, channel_id: str) -> OrderPolicy:
    channel = config.channel(channel_id)
    fulfillment = config.channels_with_role(ConnectorRole.FULFILLMENT)
    return OrderPolicy(
        hold_window=channel.hold_window,
        ship_by_sla=channel.ship_by_sla,
        ship_by_calendar=channel.ship_by_calendar,
        ship_by_warning=channel.ship_by_warning,
        escalation_delay=channel.escalation_delay,
        ship_cancel_lead=channel.ship_cancel_lead,
        out_of_stock_retry=channel.out_of_stock_retry,
        orders_task_queue=orders_task_queue(task_queue_prefix),
        selling_task_queue=channel_task_queue(task_queue_prefix, channel.id),
        fulfillment_task_queues={c.id: channel_task_queue(task_queue_prefix, c.id) for c in fulfillment},
        shipment_poll_every={c.id: c.poll_shipments_every for c in fulfillment if c.poll_shipments_every is not None},
        await_delivery={c.id: c.await_delivery for c in fulfillment if c.await_delivery is not None},
        locations=[loc.id for loc in config.locations],
        playbooks=[book for book in config.playbooks if book.channels is None or channel.id in book.channels],
    )
