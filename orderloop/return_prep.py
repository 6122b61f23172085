"""Preparing a return before its workflow acts on it: its policy from the channel's
configuration, its order and shipments from the ledger, the checks (window, returnable SKUs,
nothing beyond what shipped), the receiving location, and its record in the ledger.

Pure orchestration over the ledger and the configuration (the mapping itself is the selling
connector's); the return activities call it, and nothing here talks to Temporal."""

from __future__ import annotations

from datetime import datetime, timedelta

from orderloop.config import OrderloopConfig
from orderloop.contracts import channel_task_queue, orders_task_queue
from orderloop.contracts.returns import PrepareResult, ReturnPolicy
from orderloop.ledger import Ledger
from orderloop.ledger.types import ReturnRecordLine, ShippedLine
from orderloop.return_policy import AuthoriseMode, ReturnPolicyConfig
from orderloop.returns_model import ExpectedReturn, ReturnCondition, ReturnRequest, ReturnStatus


def policy_config(config: OrderloopConfig, channel_id: str) -> ReturnPolicyConfig:
    """The channel's return policy (the default, review-first policy when it declares none)."""
    return config.channel(channel_id).returns or ReturnPolicyConfig()


def return_policy(config: OrderloopConfig, prefix: str, channel_id: str, location_id: str | None) -> ReturnPolicy:
    rules = policy_config(config, channel_id)
    fulfillment_queue = None
    if location_id is not None:
        fulfillment_queue = channel_task_queue(prefix, config.location(location_id).fulfillment_channel)
    return ReturnPolicy(
        auto_authorise=rules.authorise is AuthoriseMode.AUTO,
        restock={condition: rules.disposition(condition) for condition in ReturnCondition},
        not_received_after=rules.not_received_after,
        not_received_action=rules.not_received_action,
        exchange_on=rules.exchange_on,
        orders_task_queue=orders_task_queue(prefix),
        selling_task_queue=channel_task_queue(prefix, channel_id),
        fulfillment_task_queue=fulfillment_queue,
        escalation_delay=config.channel(channel_id).escalation_delay,
    )


def policy_refusal(
    rules: ReturnPolicyConfig, request: ReturnRequest, shipped: list[ShippedLine], now: datetime
) -> str | None:
    """Why the policy does not take this return back (returnable SKUs, the window), or None."""
    if rules.returnable_skus is not None:
        barred = sorted({line.sku for line in request.return_line_items} - set(rules.returnable_skus))
        if barred:
            return f"not returnable under the channel's policy: {', '.join(barred)}"
    shipped_at = [line.last_shipped_at for line in shipped if line.last_shipped_at is not None]
    if shipped_at:
        # Deliveries are not in the ledger: a window from delivery counts from the last shipment,
        # which is never later than the delivery (so no return inside the window is refused).
        opened = max(shipped_at)
        closes = opened + timedelta(days=rules.window_days)
        if now > closes:
            return (
                f"the return window of {rules.window_days} days from {rules.window_from} closed on "
                f"{closes.date().isoformat()}"
            )
    return None


async def prepare(
    config: OrderloopConfig,
    ledger: Ledger,
    prefix: str,
    request: ReturnRequest,
    order_workflow_id: str | None,
    now: datetime,
) -> PrepareResult:
    """Check, locate and record a mapped return; what the workflow starts from."""
    rules = policy_config(config, request.channel_id)
    shipped = await ledger.shipped_lines(order_workflow_id) if order_workflow_id else []
    refusal = policy_refusal(rules, request, shipped, now) if order_workflow_id else None
    skus = {line.sku for line in request.return_line_items}
    original = _original_location(request, shipped)
    location = rules.receiving_location(skus, original)
    status = ReturnStatus.EXCEPTION if order_workflow_id is None else ReturnStatus.REQUESTED
    if refusal is not None:
        status = ReturnStatus.REJECTED
    record = await ledger.record_return(
        request.id,
        request.channel_id,
        request.external_id,
        order_workflow_id,
        [
            ReturnRecordLine(
                line_id=line.id, order_line_id=line.order_line_item_id, sku=line.sku, quantity=line.quantity_returned
            )
            for line in request.return_line_items
        ],
        status=status,
        location_id=location,
        reason=refusal,
    )
    if record.status == ReturnStatus.REJECTED and refusal is None:
        refusal = record.reason
    fulfillment_channel = config.location(location).fulfillment_channel if location else None
    expected = None
    if location is not None and fulfillment_channel is not None:
        expected = ExpectedReturn(
            return_id=request.id,
            order_id=request.order_id,
            external_order_id=request.external_order_id,
            channel_id=request.channel_id,
            fulfillment_channel_id=fulfillment_channel,
            location_id=location,
            lines=request.return_line_items,
            from_address=request.return_shipping_address,
            created_at=now,
        )
    return PrepareResult(
        policy=return_policy(config, prefix, request.channel_id, location),
        request=request,
        order_workflow_id=order_workflow_id,
        shipment_ids=record.shipment_ids,
        refusal=refusal,
        location_id=location,
        fulfillment_channel_id=fulfillment_channel,
        expected=expected,
    )


def _original_location(request: ReturnRequest, shipped: list[ShippedLine]) -> str | None:
    """The location that shipped the returned lines (the first of them, for a split order)."""
    by_line = {line.line_id: line.location_id for line in shipped if line.location_id}
    for line in request.return_line_items:
        if line.order_line_item_id in by_line:
            return by_line[line.order_line_item_id]
    return None
