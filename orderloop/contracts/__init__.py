"""Where every durable process's contract lives: its workflow name, id helper, and the
messages that cross its boundary, one module per process (`order`, `inventory_sync`,
`restock`, `scheduled_jobs`), plus the name registries they share (`names`).

The gateway, the CLI, the workers and the activities talk to workflows only through these,
so they need not import the workflow code. The order workflow's contract and the shared
registries are importable from the package itself (`from orderloop.contracts import
OrderInput, Signals`); the other processes' from their module.
"""

from orderloop.contracts.names import (
    Activities,
    ErrorTypes,
    Queries,
    Signals,
    Updates,
    channel_task_queue,
    orders_task_queue,
)
from orderloop.contracts.order import (
    LOCATIONS_REVISION,
    NO_EXCEPTION,
    ORDER_REVISION,
    ORDER_WORKFLOW,
    AmendAddressRequest,
    CancelRequest,
    ChannelCancel,
    ChannelEdit,
    FulfillmentCancel,
    MarkShippedRequest,
    OperatorRequest,
    OrderInput,
    OrderPolicy,
    RerouteRequest,
    RetryRequest,
    SearchAttributes,
    ShipmentSignal,
    StockArrived,
    UpdateResult,
    order_start_search_attributes,
    order_workflow_id,
    parse_order_workflow_id,
    search_attribute_type,
)

__all__ = [
    "LOCATIONS_REVISION",
    "NO_EXCEPTION",
    "ORDER_REVISION",
    "ORDER_WORKFLOW",
    "Activities",
    "AmendAddressRequest",
    "CancelRequest",
    "ChannelCancel",
    "ChannelEdit",
    "ErrorTypes",
    "FulfillmentCancel",
    "MarkShippedRequest",
    "OperatorRequest",
    "OrderInput",
    "OrderPolicy",
    "Queries",
    "RerouteRequest",
    "RetryRequest",
    "SearchAttributes",
    "ShipmentSignal",
    "Signals",
    "StockArrived",
    "UpdateResult",
    "Updates",
    "channel_task_queue",
    "order_start_search_attributes",
    "order_workflow_id",
    "orders_task_queue",
    "parse_order_workflow_id",
    "search_attribute_type",
]
