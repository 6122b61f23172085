"""The order workflow's public contract: its name, ids, search attributes, start revision and
the pydantic messages that cross the workflow boundary (its signals, updates and query are
named in `orderloop.contracts.names`).

The gateway and the CLI talk to order workflows only through these names, so they need not
import the workflow code.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel
from temporalio.common import (
    SearchAttributeIndexedValueType,
    SearchAttributeKey,
    SearchAttributePair,
    TypedSearchAttributes,
)

from orderloop.model import Address, OrderStatus, OrderView, Shipment
from orderloop.playbooks import Playbook
from orderloop.sla import ShipByCalendar

ORDER_WORKFLOW = "Order"


class SearchAttributes:
    CHANNEL = SearchAttributeKey.for_keyword("OrderChannel")
    STATUS = SearchAttributeKey.for_keyword("OrderStatus")
    EXCEPTION = SearchAttributeKey.for_keyword("OrderException")
    # Each location shipping the order, so a split order matches `FulfillmentLocations = 'east'`.
    LOCATIONS = SearchAttributeKey.for_keyword_list("FulfillmentLocations")
    # Orders started before LOCATIONS_REVISION: the locations comma-joined in one Keyword ("east,west").
    # A search attribute's type cannot change under its name, so the list got a new name and this
    # one stays registered (and queried) for them.
    LOCATION = SearchAttributeKey.for_keyword("FulfillmentLocation")

    # What an order of today's revision writes, in the order of its upserts.
    ALL: tuple[SearchAttributeKey[Any], ...] = (CHANNEL, STATUS, EXCEPTION, LOCATIONS)
    # Every attribute a namespace must have registered (servers, docker-compose, test environments).
    REGISTERED: tuple[SearchAttributeKey[Any], ...] = (CHANNEL, STATUS, EXCEPTION, LOCATIONS, LOCATION)

    @classmethod
    def written_by(cls, revision: int) -> tuple[SearchAttributeKey[Any], ...]:
        """What an order started at `revision` writes (older orders keep the comma-joined Keyword)."""
        if revision >= LOCATIONS_REVISION:
            return cls.ALL
        return (cls.CHANNEL, cls.STATUS, cls.EXCEPTION, cls.LOCATION)


def search_attribute_type(key: SearchAttributeKey[Any]) -> str:
    """The type's name as `temporal` takes it (`--search-attribute Name=KeywordList`)."""
    return _TYPE_NAMES[key.indexed_value_type]


_TYPE_NAMES = {
    SearchAttributeIndexedValueType.KEYWORD: "Keyword",
    SearchAttributeIndexedValueType.KEYWORD_LIST: "KeywordList",
}

NO_EXCEPTION = "none"


def order_start_search_attributes(channel_id: str) -> TypedSearchAttributes:
    """What an order's search attributes are when it is started (see ORDER_REVISION)."""
    return TypedSearchAttributes(
        [
            SearchAttributePair(SearchAttributes.CHANNEL, channel_id),
            SearchAttributePair(SearchAttributes.STATUS, str(OrderStatus.RECEIVED)),
            SearchAttributePair(SearchAttributes.EXCEPTION, NO_EXCEPTION),
        ]
    )


def order_workflow_id(channel_id: str, external_id: str) -> str:
    return f"order/{channel_id}/{external_id}"


def parse_order_workflow_id(workflow_id: str) -> tuple[str, str]:
    prefix, channel_id, external_id = workflow_id.split("/", 2)
    if prefix != "order":
        raise ValueError(f"not an order workflow id: {workflow_id!r}")
    return channel_id, external_id


class OrderPolicy(BaseModel):
    """The per-channel timings an order runs under, fixed when the order is ingested."""

    hold_window: timedelta = timedelta(0)
    ship_by_sla: timedelta = timedelta(hours=48)
    # How the SLA is counted (calendar hours, or business days and holidays), and how long
    # before the deadline a warning goes out (None: no warning).
    ship_by_calendar: ShipByCalendar = Field(default_factory=ShipByCalendar)
    ship_by_warning: timedelta | None = None
    escalation_delay: timedelta = timedelta(hours=4)
    out_of_stock_retry: timedelta = timedelta(minutes=15)
    orders_task_queue: str
    selling_task_queue: str
    fulfillment_task_queues: dict[str, str] = Field(default_factory=dict)
    # Fulfillment channel id -> how often to poll it for shipments while a request waits.
    shipment_poll_every: dict[str, timedelta] = Field(default_factory=dict)
    # Location ids an operator may reroute to (validated before the workflow accepts it).
    locations: list[str] = Field(default_factory=list)
    # Fulfillment channel id -> how long a completed order waits for its deliveries to be reported.
    await_delivery: dict[str, timedelta] = Field(default_factory=dict)
    # The exception playbooks covering the channel, in the file's order (orders of revision 4
    # on follow them; none: the default, a log line and one escalation after escalation_delay).
    playbooks: list[Playbook] = Field(default_factory=list)
    # The selling channel wants each accepted order acknowledged within this long of its
    # creation (Walmart: 4 hours); None: it takes no acknowledgement.
    acknowledge_within: timedelta | None = None
    # The selling channel wants each line's decision once the order is allocated (a wholesale
    # partner: EDI 855, a B2B portal's line status; `SellingConnector.confirms_allocation`).
    confirms_allocation: bool = False
    # A wholesale order not shipped this long before the buyer's cancel-by date opens
    # sla_breach (its ship-by deadline is `ship_cancel_by_date - ship_cancel_lead`).
    ship_cancel_lead: timedelta = timedelta(days=1)


# What the order workflow may rely on from whoever started it. 0: histories from before the
# field existed. 1: the start carries the channel/status/exception search attributes (the
# workflow does not upsert them again), and shipment polling needs no patch marker (a patch
# marker also upserts TemporalChangeVersion: two visibility writes per order saved). 2: the
# lifecycle holes of issue 14 are closed (the ship-by SLA stops once every unit shipped, runs
# from acceptance over every state with a warning first, a refused 3PL cancel and an edit after
# release open exceptions, every exception escalates). 3 (LOCATIONS_REVISION): the order writes
# its locations to the KeywordList `FulfillmentLocations` instead of the comma-joined Keyword
# `FulfillmentLocation`. 4 (PLAYBOOK_REVISION): exceptions follow the channel's playbooks (named
# sinks, an escalation ladder, auto-resolve rules, review required, a resolved notice), and the
# order view says who resolved each exception. 5 (ACKNOWLEDGE_REVISION): the order acknowledges
# itself to a selling channel that wants it (`OrderPolicy.acknowledge_within`, Walmart) once it
# is mapped, before anything is routed; a failed acknowledgement holds it in `ack_overdue`.
# 6 (MARKERLESS_REVISION): the wholesale steps and the operations record's record-only notices
# are on without asking their patches (`wholesale-orders`, `operations-record`). A patch asked
# first right after a local activity whose run outlasted the workflow task (the task was
# heartbeated, and the code after the result went into the next one) is replayed in the earlier
# task, before the server's marker is known, and the order fails replay as nondeterministic
# (tests/workflows/test_replay_after_edit.py); orders of revision 6 ask no patch at all.
ORDER_REVISION = 6
LOCATIONS_REVISION = 3
PLAYBOOK_REVISION = 4
ACKNOWLEDGE_REVISION = 5
MARKERLESS_REVISION = 6


class OrderInput(BaseModel):
    channel_id: str
    external_id: str
    raw_payload: dict[str, Any]
    received_at: datetime
    event_id: str | None = None
    # Set to ORDER_REVISION by every starter; missing (0) in the histories of older orders.
    revision: int = 0


class ChannelEdit(BaseModel):
    raw_payload: dict[str, Any]
    event_id: str | None = None
    # The channel's version of the order (its updated_at): an edit the order already holds
    # (a webhook's edit found again by the order poll, a repeated poll) is ignored. None in
    # older histories and from channels that give none: every such edit is applied.
    updated_at: datetime | None = None
    # Found by the order poll (a read of the order's state, not an event): the version the order
    # already holds is ignored too, not only an older one.
    polled: bool = False


class ChannelCancel(BaseModel):
    reason: str = "cancelled by the selling channel"
    event_id: str | None = None
    # Set by starters that know the channel's version: a second cancel of an order whose cancel
    # is already under way (the webhook's, then the poll's) is ignored.
    updated_at: datetime | None = None


class ChannelException(BaseModel):
    """A case the selling channel raised on an order: a payment dispute, a buyer's cancellation
    request after the order was sent, an acknowledgement overdue. `kind` is one of the kinds
    the channel's connector declares (`ConnectorSpec.exception_kinds`), so playbooks name it."""

    kind: str
    message: str
    # The channel's deadline to answer (e.g. TikTok's to approve or reject a cancellation).
    deadline: datetime | None = None
    # The channel's id of the case (a cancellation request id, a dispute id).
    reference: str | None = None
    detail: dict[str, Any] = Field(default_factory=dict)
    event_id: str | None = None


class FulfillmentCancel(BaseModel):
    request_id: str
    reason: str = "cancelled by the fulfillment channel"
    event_id: str | None = None


class FulfillmentStatus(StrEnum):
    """What a fulfillment channel says about a shipping request besides shipping or cancelling it."""

    ON_HOLD = "on_hold"  # held at the 3PL (e.g. an address problem)
    EXCEPTION = "exception"  # the 3PL cannot go on with it (e.g. out of stock at its warehouse)
    RELEASED = "released"  # the 3PL released its hold
    DELIVERED = "delivered"  # the carrier delivered it


class FulfillmentUpdate(BaseModel):
    """A fulfillment channel's word on one of our shipping requests (`Signals.FULFILLMENT_UPDATE`)."""

    request_id: str
    status: FulfillmentStatus
    # The channel's reason, as it gives it (hold and exception).
    reason: str | None = None
    at: datetime | None = None
    event_id: str | None = None

    @property
    def holds(self) -> bool:
        return self.status in (FulfillmentStatus.ON_HOLD, FulfillmentStatus.EXCEPTION)


class StockArrived(BaseModel):
    """Availability rose for these SKUs; an order waiting for one of them tries again now."""

    skus: list[str]


class OperatorRequest(BaseModel):
    """An operator's action; camelCase on the wire like the order view (`locationId`), snake_case
    accepted too."""

    model_config = ConfigDict(
        alias_generator=to_camel, validate_by_name=True, validate_by_alias=True, serialize_by_alias=True
    )

    operator: str = "operator"
    note: str | None = None


class RetryRequest(OperatorRequest):
    pass


class RerouteRequest(OperatorRequest):
    location_id: str


class CancelRequest(OperatorRequest):
    reason: str = "cancelled by an operator"


class AmendAddressRequest(OperatorRequest):
    address: Address


class MarkShippedRequest(OperatorRequest):
    tracking_numbers: list[str] = Field(default_factory=list)
    shipping_carrier: str | None = None
    tracking_url: str | None = None


class UpdateResult(BaseModel):
    accepted: bool = True
    message: str
    view: OrderView


ShipmentSignal = Shipment
