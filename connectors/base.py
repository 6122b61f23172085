"""The two connector roles, the events a webhook turns into, and the error tree every connector
client raises.

A connector is one package `connectors/<type>/` whose `__init__.py` exposes `SPEC`, a
`ConnectorSpec`. Orchestration finds it by the channel's `type` in `orderloop.yaml`; nothing else
changes when a connector is added.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, ClassVar, Protocol, TypeVar

from pydantic import BaseModel, ValidationError

from orderloop.activity_models import ChannelExceptionReply, RequestCheck

# Re-exported: a fulfillment connector reads the selling channel's requirements from here.
from orderloop.channel_requirements import ShippingRequirements as ShippingRequirements
from orderloop.config import ChannelConfig, ConfigError
from orderloop.contracts import ChannelException, FulfillmentUpdate
from orderloop.contracts.scheduled_jobs import CollectReportsReport, SnapshotReport
from orderloop.edi_records import EdiRecords
from orderloop.file_journal import FileJournal
from orderloop.model import ConnectorRole, LineDecision, Order, Shipment, ShippingRequest

# Re-exported: connectors import the stock row from here, beside the roles that return it.
from orderloop.model import StockRow as StockRow
from orderloop.returns_model import ExpectedReturn, ReturnLabel, ReturnProgress, ReturnReceipt, ReturnRequest
from orderloop.tokens import TokenStore


class InboundKind(StrEnum):
    ORDER_CREATED = "order_created"
    ORDER_UPDATED = "order_updated"
    ORDER_CANCELLED = "order_cancelled"
    SHIPMENT = "shipment"
    SHIPMENT_CANCELLED = "shipment_cancelled"
    INVENTORY = "inventory"
    IGNORED = "ignored"
    # A fulfillment channel's hold, release or delivery of a shipping request (`fulfillment`).
    FULFILLMENT_UPDATE = "fulfillment_update"
    # Selling channels: a customer asked to return (the raw return JSON in `payload`, the
    # channel's return id in `external_return_id`); starts the return's workflow once.
    RETURN_REQUESTED = "return_requested"
    # Either side: a label issued, the parcel in transit, the return cancelled (`return_progress`).
    RETURN_PROGRESS = "return_progress"
    # Fulfillment channels: the parcel was received, each unit's condition (`return_receipt`).
    RETURN_RECEIVED = "return_received"
    # Selling channels: a case the channel raised on an order (`channel_exception`, one of the
    # connector's `exception_kinds`): opened on the running order, reported when it is closed.
    ORDER_EXCEPTION = "order_exception"


@dataclass(frozen=True)
class ChannelHold:
    """The channel holds an order back: it may not ship yet (not paid, in review, in the buyer's
    remorse window). Orderloop starts nothing, and records the hold for operators (the ledger's
    `channel_holds`) until the order starts or the channel cancels it."""

    # Why, in the channel's terms (BigCommerce's reason for status 12, Amazon's "Pending" ...).
    reason: str
    # The channel's own status of the order, as its API names it ("0", "PENDING", "ON_HOLD").
    status: str


@dataclass(frozen=True)
class InboundEvent:
    """A verified, parsed webhook delivery."""

    kind: InboundKind
    # The vendor's delivery id (X-Shopify-Event-Id, webhook-id, ...), for deduplication.
    event_id: str | None = None
    # Order events: the channel's order id (the workflow id derives from it).
    external_order_id: str | None = None
    # The raw JSON body, kept whole for the workflow and the operator.
    payload: dict[str, Any] = field(default_factory=dict)
    # Shipment events: the parsed shipment (its shipping_request_id routes the signal).
    shipment: Shipment | None = None
    # Shipment-cancelled events: Orderloop's shipping request id the cancellation concerns.
    shipping_request_id: str | None = None
    # Inventory events: the levels the fulfillment channel reports now (absolute, not deltas,
    # so a repeated or late delivery cannot count a movement twice).
    stock: tuple[StockRow, ...] = ()
    # Fulfillment updates: what the channel says of which of our shipping requests.
    fulfillment: FulfillmentUpdate | None = None
    # Return requests: the channel's return id (the return workflow id derives from it).
    external_return_id: str | None = None
    # Return progress and receipts: Orderloop's return id (`return_id`) is in them.
    return_progress: ReturnProgress | None = None
    return_receipt: ReturnReceipt | None = None
    # Order exceptions: the case the channel raised.
    channel_exception: ChannelException | None = None
    occurred_at: datetime | None = None
    detail: str | None = None
    # `IGNORED` order events of an order the channel holds back (`detail` says why too): the
    # gateway records the hold. None for every other event, and for an order that is not held
    # but has nothing to route (shipped already, fulfilled by the marketplace).
    hold: ChannelHold | None = None


# --- errors raised while reading a webhook (the gateway maps them to HTTP) ---------------------


class WebhookError(Exception):
    status_code = 400


class SignatureError(WebhookError):
    """Missing or wrong signature: 401."""

    status_code = 401


class PayloadError(WebhookError):
    """Body is not what the channel sends (bad JSON, missing fields, unknown topic): 400."""

    status_code = 400


# --- errors raised by connector clients (activities map them to Temporal retries) ----------------


class ConnectorError(Exception):
    """Base of everything a connector client raises about the remote system."""


class RetryableError(ConnectorError):
    """Transient: network error, 5xx, timeouts. Temporal retries; `retry_after` in seconds."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class RateLimitedError(RetryableError):
    """The vendor said slow down (429 or its own signal); `retry_after` from its header."""


class PermanentError(ConnectorError):
    """Retrying the same call cannot succeed (4xx other than 429)."""

    def __init__(self, message: str, status_code: int | None = None, body: Any = None) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.body = body


class RejectedError(PermanentError):
    """The fulfillment channel refused the shipping request (bad address, unknown product...)."""


class AlreadyShippedError(PermanentError):
    """A cancel came too late: the request is picked, packed or shipped."""


class MappingError(Exception):
    """A channel payload cannot become a canonical `Order` (or `ReturnRequest`); the message says why."""


class ReturnsNotSupported(PermanentError):
    """The connector has no returns role (the default of every returns method)."""

    def __init__(self, channel_id: str, what: str) -> None:
        super().__init__(f"channel {channel_id!r} does not support {what}")


ModelT = TypeVar("ModelT", bound=BaseModel)


def validated(model: type[ModelT], fields: Mapping[str, Any]) -> ModelT:
    """The `model` of a mapping's fields (see `validated_by`)."""
    return validated_by(lambda: model(**fields))


def validated_by(build: Callable[[], ModelT]) -> ModelT:
    """What `build` makes of a mapping's fields; what the models refuse while it builds (the
    first five problems, each with its field) is a `MappingError`."""
    try:
        return build()
    except ValidationError as exc:
        reasons = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()[:5])
        raise MappingError(reasons) from None


def validated_order(fields: Mapping[str, Any]) -> Order:
    """The `Order` of a mapping's fields (see `validated`)."""
    return validated(Order, fields)


# --- the roles ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ShippingReceipt:
    vendor_id: str
    # True when the vendor already had this request (a retried call): nothing new was created.
    duplicate: bool = False


@dataclass(frozen=True)
class PolledOrder:
    """An order read by polling the channel (missed-webhook recovery)."""

    external_id: str
    # The raw order JSON, as the channel's order webhook would have carried it.
    payload: dict[str, Any]
    # Cancelled at the channel: not started if Orderloop never saw it.
    cancelled: bool = False
    # The channel's created and last-updated times of the order: an accepted order updated
    # after its creation is delivered to its workflow as an edit, once per `updated_at`.
    created_at: datetime | None = None
    updated_at: datetime | None = None
    # Held back by the channel (not yet shippable): not started, its hold recorded instead. The
    # payload may then be the channel's order summary alone (no lines or addresses read).
    hold: ChannelHold | None = None


@dataclass(frozen=True)
class PolledCase:
    """A case the channel raised on an order, found by polling (a channel with no webhooks for
    it: an EDI partner's 997 rejecting an 856): delivered by the order poll as a webhook's
    `ORDER_EXCEPTION` is, to the running order or, closed or never received, to its playbook's
    sinks."""

    external_order_id: str
    case: ChannelException


@dataclass(frozen=True)
class PolledReturn:
    """A return request read by polling the channel."""

    external_id: str
    payload: dict[str, Any]
    external_order_id: str | None = None


@dataclass(frozen=True)
class ExpectedReturnReceipt:
    """What the warehouse answered to an expected return."""

    vendor_id: str
    # The customer's label, where the warehouse issues it.
    label: ReturnLabel | None = None
    # True when the vendor already had this return (a retried call).
    duplicate: bool = False


class Connector(abc.ABC):
    """What both roles share: configuration, webhook verification and parsing, cleanup."""

    role: ConnectorRole

    def __init__(self, channel: ChannelConfig) -> None:
        self.channel = channel

    @abc.abstractmethod
    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> InboundEvent:
        """Verify the signature (raise `SignatureError`), then parse (raise `PayloadError`).

        `headers` is case-insensitive (the gateway passes Starlette's headers)."""

    async def confirm_event(self, event: InboundEvent) -> InboundEvent:
        """The event as the vendor's own API confirms it, before the gateway acts on it. A vendor
        whose webhooks are signed is trusted as it is (the default); one whose webhooks are
        unsigned hints (Logiwa) reads the resource back and answers what it found, an `IGNORED`
        event when the hint is not borne out, so a forged delivery never ships an order. A
        `ConnectorError` here is answered 503, for the sender (or the poller) to try again."""
        return event

    def acknowledgement(self, status_code: int) -> tuple[int, dict[str, Any]] | None:
        """The status and body the gateway answers a delivery it handled with `status_code`, for
        a vendor that counts a delivery as received only on its own answer (ShipHero: 200
        `{"code": "200", "Status": "Success"}`); None (the default): Orderloop's own answer."""
        return None

    def share_tokens(self, store: TokenStore) -> None:  # noqa: B027 - optional hook
        """Keep this connector's OAuth token in the shared token store (the ledger database),
        for a vendor whose refresh token rotates on each use (RyderShip), so the workers of
        one channel renew it in turn instead of revoking each other's. The default: nothing
        to share."""

    def share_records(self, store: EdiRecords) -> None:  # noqa: B027 - optional hook
        """Keep this connector's own records in the ledger database, for a connector that
        speaks files and must remember what it received and sent across workers and restarts
        (EDI: interchanges, control numbers, documents sent). The default: nothing to keep."""

    async def aclose(self) -> None:  # noqa: B027 - optional hook
        """Release HTTP clients."""


class SellingConnector(Connector):
    role = ConnectorRole.SELLING

    @abc.abstractmethod
    def map_order(self, raw: Mapping[str, Any], *, order_id: str, tenant_id: str, received_at: datetime) -> Order:
        """Map the channel's order JSON to `Order`; raise `MappingError` with the reason."""

    @abc.abstractmethod
    async def push_shipment(self, order: Order, shipment: Shipment) -> str | None:
        """Tell the channel what shipped (tracking). Idempotent per `shipment.id`; returns the
        channel's id for the fulfillment it recorded, if it has one."""

    async def push_inventory(self, quantities: Mapping[str, int]) -> None:
        """Publish available-to-sell per SKU. Channels that take no inventory ignore it."""
        return None

    async def cancel_order(self, order: Order, reason: str) -> bool:
        """Tell the channel Orderloop cancelled its order (an auto-resolve rule did); True when
        the channel recorded it. Channels whose API takes no cancellation return False (the
        default): the playbook's notice tells their operator instead."""
        return False

    # Channels that want each accepted order acknowledged, within this long of its creation
    # (Walmart); the order workflow does it once the order is mapped (`acknowledge_order`).
    acknowledge_within: timedelta | None = None

    async def acknowledge_order(self, order: Order) -> str | None:
        """Acknowledge the accepted order to the channel (only called when
        `acknowledge_within` is set); what was told, None when it was acknowledged already.
        Repeatable."""
        return None

    # Channels that want to hear which lines were accepted once the order is allocated (a
    # wholesale partner: EDI 855, a B2B portal's order status); the order workflow calls
    # `confirm_allocation` then. The contract is fixed here; the workflow step comes with the
    # wholesale order (issue 21).
    confirms_allocation: bool = False

    async def confirm_allocation(self, order: Order, lines: list[LineDecision]) -> str | None:
        """Tell the channel each line's decision (only called when `confirms_allocation` is
        set); what was told, None when it was told already. Repeatable: a retry sends the same
        acknowledgement (the same control number), never a second one."""
        return None

    async def resolve_channel_exception(self, reply: ChannelExceptionReply) -> str | None:
        """Tell the channel the seller's answer to a case it raised on the order (one of this
        connector's `exception_kinds`), once the order resolved it; what was told, or None when
        the channel takes no answer for that kind (the default: the decision stands in Orderloop
        and the playbook's notice tells the channel's operator). Repeatable: a retry of an answer
        the channel took asks for nothing."""
        return None

    async def poll_orders(self, since: datetime) -> list[PolledOrder]:
        """Orders created or updated since `since` (with their `created_at` and `updated_at`),
        for missed-webhook recovery: new orders, and cancels and edits of accepted ones.
        Channels that cannot be polled return none."""
        return []

    async def poll_channel_cases(self) -> list[PolledCase]:
        """Cases raised on orders that the channel reports only by being read (the order poll
        asks right after `poll_orders`), each until `channel_cases_delivered` is told of it; a
        case delivered twice is recognised by its kind and reference. None by default."""
        return []

    async def channel_cases_delivered(self, cases: list[PolledCase]) -> None:
        """The order poll delivered `cases` (to their orders, or reported them)."""
        return None

    # --- returns (selling side); the defaults say "not supported" --------------------------

    supports_returns: bool = False

    def map_return(
        self, raw: Mapping[str, Any], *, return_id: str, tenant_id: str, order_id: str, received_at: datetime
    ) -> ReturnRequest:
        """Map the channel's return JSON to `ReturnRequest` (`return_id` is Orderloop's id for
        it, `order_id` the order's workflow id); raise `MappingError` with the reason."""
        raise MappingError(f"channel {self.channel.id!r} does not support returns")

    def return_order_id(self, raw: Mapping[str, Any]) -> str | None:
        """The channel's order id a return JSON names (None: it names none)."""
        return None

    async def poll_returns(self, since: datetime) -> list[PolledReturn]:
        """Return requests created since `since`. Channels that cannot be polled return none."""
        return []

    async def push_return_received(self, request: ReturnRequest, receipt: ReturnReceipt) -> str | None:
        """Tell the channel the return was received (with each unit's condition) so it can
        refund. Idempotent per `request.id`; returns the channel's reference for it, if any."""
        raise ReturnsNotSupported(self.channel.id, "returns")


class ReturnsMapping(Protocol):
    """A connector's returns mapping module (`connectors/<vendor>/returns.py`)."""

    def map_return(
        self,
        raw: Mapping[str, Any],
        *,
        return_id: str,
        tenant_id: str,
        channel_id: str,
        order_id: str,
        received_at: datetime,
    ) -> ReturnRequest: ...

    def return_order_id(self, raw: Mapping[str, Any]) -> str | None: ...


class MappedReturns(SellingConnector):
    """A selling connector whose returns its `returns` module maps (`returns_mapping`): the
    mapping half of the returns role, the channel's id filled in; the connector adds how returns
    come in and how "received" goes out."""

    supports_returns = True
    returns_mapping: ClassVar[ReturnsMapping]

    def map_return(
        self, raw: Mapping[str, Any], *, return_id: str, tenant_id: str, order_id: str, received_at: datetime
    ) -> ReturnRequest:
        return self.returns_mapping.map_return(
            raw,
            return_id=return_id,
            tenant_id=tenant_id,
            channel_id=self.channel.id,
            order_id=order_id,
            received_at=received_at,
        )

    def return_order_id(self, raw: Mapping[str, Any]) -> str | None:
        return self.returns_mapping.return_order_id(raw)


class Delivery(StrEnum):
    """What became of a shipment a connector handed to `ReportSink.shipment`."""

    DELIVERED = "delivered"
    # No order of Orderloop's has that shipping request.
    UNKNOWN_ORDER = "unknown_order"
    # The order is closed: it takes no more shipments.
    ORDER_CLOSED = "order_closed"


class ReportSink(Protocol):
    """Where a fulfillment connector's collected reports go (`collect_reports`): a shipment to
    its order (recognised by its id if it comes again), stock rows to the ledger's snapshots."""

    async def shipment(self, shipment: Shipment) -> Delivery: ...

    async def stock(self, rows: list[StockRow]) -> SnapshotReport: ...

    def progress(self, detail: str) -> None:
        """Called as work goes on (the activity heartbeats)."""


class FulfillmentConnector(Connector):
    role = ConnectorRole.FULFILLMENT

    @abc.abstractmethod
    async def create_shipping_request(
        self, request: ShippingRequest, requirements: ShippingRequirements | None = None
    ) -> ShippingReceipt:
        """Create it at the vendor, keyed by `request.idempotency_key` / `request.id` so a
        retried call never creates a second one. Raise `RejectedError` if refused.

        `requirements`: what the order's selling channel requires of the parcel (carriers, the
        vendor's ship method, packaging notes: `orderloop.channel_requirements`), None when it
        requires nothing. Routing already chose a location that can meet them; a connector
        whose API carries such fields passes them, one whose API has none says so in its
        docstring and ignores them."""

    @abc.abstractmethod
    async def cancel_shipping_request(self, request: ShippingRequest, vendor_id: str | None) -> None:
        """Cancel it; raise `AlreadyShippedError` when it is too late."""

    async def fetch_shipments(self, request: ShippingRequest, vendor_id: str | None) -> list[Shipment]:
        """Shipments for a request, for polling when webhooks are late."""
        return []

    async def fetch_stock(self) -> list[StockRow]:
        """Stock levels at the vendor's location, for ledger snapshots."""
        return []

    async def poll_shipments(self, since: datetime) -> list[Shipment]:
        """Every shipment the channel recorded (or changed) since `since`, for all our requests at
        once, each naming its `shipping_request_id`: for a channel that lists them by time and
        sends no webhook (NetSuite), run by the shipment poll job (`poll_fulfillments_every`)
        with a stored cursor. Default: none (such channels are asked per request instead)."""
        return []

    async def collect_reports(self, journal: FileJournal, sink: ReportSink) -> CollectReportsReport:
        """Collect what the channel left for Orderloop since the last collection (files in an
        inbox): hand each shipment and stock report to `sink`, record in `journal` what each
        row did, so a collection cut short (a worker killed mid-file) resumes without applying
        a row twice. Scheduled by the channel's `poll_reports_every`. The default: nothing to
        collect (channels that send webhooks or answer `fetch_shipments`)."""
        return CollectReportsReport(channel_id=self.channel.id)

    async def check_shipping_request(self, request: ShippingRequest, vendor_id: str | None) -> RequestCheck | None:
        """How the request stands at the vendor (`connectors.request_checks`), asked by the
        shipment poll before its shipments: a cancel or an edit made in the vendor's own UI sends
        no webhook. None: the connector cannot tell."""
        return None

    # --- returns (fulfillment side); the defaults say "not supported" -----------------------

    supports_returns: bool = False

    async def create_return(self, expected: ExpectedReturn) -> ExpectedReturnReceipt:
        """Announce an expected return at the warehouse, with `expected.return_id` as its
        reference / idempotency key (a retried call creates one). Its receipt comes back as a
        `RETURN_RECEIVED` event (or from `fetch_return_receipt`)."""
        raise ReturnsNotSupported(self.channel.id, "returns")

    async def fetch_return_receipt(self, return_id: str, vendor_id: str | None) -> ReturnReceipt | None:
        """The receipt of an expected return, for polling when its webhook is late; None: not
        received yet, or the connector cannot tell."""
        return None


SettingsT = TypeVar("SettingsT", bound=BaseModel)


def channel_settings(channel: ChannelConfig, model: type[SettingsT]) -> SettingsT:
    """A channel's `settings` validated by its connector's model; a `ConfigError` naming each
    field otherwise."""
    try:
        return model.model_validate(channel.settings)
    except ValidationError as exc:
        problems = "; ".join(
            f"settings.{'.'.join(str(p) for p in e['loc']) or '(root)'}: {e['msg']}" for e in exc.errors()
        )
        raise ConfigError(f"channel {channel.id!r} ({channel.type}): {problems}") from None


@dataclass(frozen=True)
class SandboxOptions:
    """What a sandbox needs to emulate its vendor for one configured channel."""

    channel: ChannelConfig
    # Where the sandbox delivers its webhooks (our gateway's URL for this channel).
    webhook_url: str
    # Sandbox knobs (ship delay, partial-shipment ratio, ...), connector-specific.
    knobs: Mapping[str, Any] = field(default_factory=dict)
    # Fulfillment channels: what each Orderloop location it serves holds at start (location id
    # -> SKU -> units), the same `seed_stock` the ledger starts from, so snapshots agree.
    stock: Mapping[str, Mapping[str, int]] = field(default_factory=dict)


@dataclass(frozen=True)
class ConnectorSpec:
    type: str
    roles: frozenset[ConnectorRole]
    selling: Callable[[ChannelConfig], SellingConnector] | None = None
    fulfillment: Callable[[ChannelConfig], FulfillmentConnector] | None = None
    # Where the in-memory ASGI emulation of the vendor is built, as "module:function" taking
    # `SandboxOptions` (see `sandbox` of each connector); `connectors.registry.sandbox_factory`
    # imports it on use, so workers and the gateway never import a sandbox.
    sandbox: str | None = None
    # The channel-specific exception kinds this connector raises on orders (name -> what it
    # means), beside the generic `ExceptionKind`s: playbooks may name them for its channels.
    exception_kinds: Mapping[str, str] = field(default_factory=dict)
    # Documents travel as files on a `FileExchange` (EDI, flat files): no webhooks and no HTTP
    # API of the vendor's, so the contract suite runs its file-exchange cases for the role
    # (`open_file_selling` in the harness) instead of the webhook and HTTP ones.
    speaks_files: bool = False
