"""The name registries every durable process and its callers share: signal, update, query and
activity names, the `ApplicationError` types operators search for, and the task queues.

Each registry is a `StrEnum`, so a member is the very string the SDK registers and sends; a
name is never spelled out anywhere else."""

from __future__ import annotations

from enum import StrEnum


class Signals(StrEnum):
    """Signals of the order workflow."""

    SHIPMENT = "shipment"
    CHANNEL_EDIT = "channel_edit"
    CHANNEL_CANCEL = "channel_cancel"
    # A fulfillment channel cancelled a shipping request on its side.
    SHIPPING_REQUEST_CANCELLED = "shipping_request_cancelled"
    # Sent by the restock watcher to orders waiting in out_of_stock or unroutable.
    STOCK_ARRIVED = "stock_arrived"
    # A fulfillment channel held, released or delivered a shipping request (`FulfillmentUpdate`).
    FULFILLMENT_UPDATE = "fulfillment_update"
    # The selling channel raised a case on the order (`ChannelException`).
    CHANNEL_EXCEPTION = "channel_exception"


class Updates(StrEnum):
    """Operator actions on an order (workflow updates); iterate the enum for all of them."""

    RETRY = "retry"
    REROUTE = "reroute"
    CANCEL = "cancel"
    AMEND_ADDRESS = "amend_address"
    MARK_SHIPPED = "mark_shipped"


class Queries(StrEnum):
    STATUS = "status"


class Activities(StrEnum):
    """Activity names: workflows call activities by these (never by importing them), so the
    workflow sandbox stays free of HTTP and database code and tests can register fakes."""

    # Internal steps, local activities on the orders queue.
    INGEST = "orderloop.ingest"
    ALLOCATE = "orderloop.allocate"
    RELEASE = "orderloop.release"
    COMMIT_SHIPMENT = "orderloop.commit_shipment"
    # Outbound notifications (may call a webhook): a normal activity on the orders queue.
    NOTIFY = "orderloop.notify"
    # Connector calls, on the channel's own queue.
    SEND_SHIPPING_REQUEST = "orderloop.send_shipping_request"
    CANCEL_SHIPPING_REQUEST = "orderloop.cancel_shipping_request"
    PUSH_TRACKING = "orderloop.push_tracking"
    FETCH_SHIPMENTS = "orderloop.fetch_shipments"
    # An order cancelled by Orderloop (an auto-resolve rule): the selling channel is told.
    CANCEL_ON_CHANNEL = "orderloop.cancel_on_channel"
    # A channel exception resolved: the channel is told the seller's answer where it takes one.
    RESOLVE_CHANNEL_EXCEPTION = "orderloop.resolve_channel_exception"
    # An accepted order acknowledged to a selling channel that wants it (Walmart's purchase orders).
    ACKNOWLEDGE_ON_CHANNEL = "orderloop.acknowledge_on_channel"
    # Each line's decision once the order is allocated, for a channel that wants it (a
    # wholesale partner's 855, a B2B portal's line status).
    CONFIRM_ALLOCATION = "orderloop.confirm_allocation"
    # Inventory: the long-running, heartbeating outbox drain of one selling channel.
    SYNC_CHANNEL_INVENTORY = "orderloop.sync_channel_inventory"
    PULL_STOCK_SNAPSHOT = "orderloop.pull_stock_snapshot"
    RECONCILE_INVENTORY = "orderloop.reconcile_inventory"
    # Missed-webhook recovery: read a selling channel's recent orders, start the unknown ones.
    POLL_CHANNEL_ORDERS = "orderloop.poll_channel_orders"
    # Return requests a channel has no webhook for (Amazon) or whose webhook was lost.
    POLL_CHANNEL_RETURNS = "orderloop.poll_channel_returns"
    POLL_CHANNEL_SHIPMENTS = "orderloop.poll_channel_shipments"
    # Follows the outbox and wakes orders waiting for stock of a SKU whose availability rose.
    WATCH_RESTOCK = "orderloop.watch_restock"
    # Reports a fulfillment channel leaves for Orderloop to collect (files in an inbox): its
    # shipments signalled to their orders, its stock into the ledger's snapshots, once per row.
    COLLECT_FULFILLMENT_REPORTS = "orderloop.collect_fulfillment_reports"


class ReturnSignals(StrEnum):
    """Signals of the return workflow."""

    # A label issued, the parcel in transit, or the return cancelled at the channel (`ReturnProgress`).
    PROGRESS = "return_progress"
    # The warehouse received the parcel, with each unit's condition (`ReturnReceipt`).
    RECEIPT = "return_receipt"


class ReturnUpdates(StrEnum):
    """Operator actions on a return (validated workflow updates)."""

    AUTHORISE = "return_authorise"
    REJECT = "return_reject"
    RECEIVE = "return_receive"  # receive manually (or correct a mismatching receipt)
    CLOSE = "return_close"


class ReturnQueries(StrEnum):
    STATUS = "return_status"


class ReturnActivities(StrEnum):
    """Activities of the return workflow."""

    # Internal steps on the orders queue: map the request, find its order and shipments in the
    # ledger, check it against what shipped and the policy, and record it.
    PREPARE = "orderloop.returns.prepare"
    # The ledger's return record follows the workflow's status.
    RECORD_STATUS = "orderloop.returns.record_status"
    # The receipt in the ledger: sellable units back on hand, damaged ones non-sellable.
    RESTOCK = "orderloop.returns.restock"
    # The exchange's replacement order, through the order intake.
    START_EXCHANGE = "orderloop.returns.start_exchange"
    # Connector calls, on the channel's own queue.
    CREATE_EXPECTED_RETURN = "orderloop.returns.create_expected_return"
    PUSH_RETURN_RECEIVED = "orderloop.returns.push_return_received"


class ErrorTypes(StrEnum):
    """`ApplicationError.type` values an operator can search for in the UI."""

    SHIPPING_REQUEST_REJECTED = "ShippingRequestRejected"
    ALREADY_SHIPPED = "AlreadyShipped"
    CANCEL_REFUSED = "CancelRefused"
    CHANNEL_REJECTED = "ChannelRejected"
    ACTION_NOT_APPLICABLE = "ActionNotApplicable"
    INVALID_REQUEST = "InvalidRequest"
    RETURNS_NOT_SUPPORTED = "ReturnsNotSupported"


def orders_task_queue(prefix: str) -> str:
    """Workflows and Orderloop's internal activities (mapping, routing, ledger)."""
    return f"{prefix}.orders"


def channel_task_queue(prefix: str, channel_id: str) -> str:
    """One queue per channel, so each vendor API is throttled on its own."""
    return f"{prefix}.channel.{channel_id}"
