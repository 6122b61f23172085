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
from datetime import datetime
from enum import StrEnum
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from orderloop.activity_models import RequestCheck
from orderloop.config import ChannelConfig, ConfigError
from orderloop.contracts import FulfillmentUpdate
from orderloop.model import ConnectorRole, Order, Shipment, ShippingRequest

# Re-exported: connectors import the stock row from here, beside the roles that return it.
from orderloop.model import StockRow as StockRow


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
    occurred_at: datetime | None = None
    detail: str | None = None


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
    """A channel payload cannot become a canonical `Order`; the message says why."""


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

    async def poll_orders(self, since: datetime) -> list[PolledOrder]:
        """Orders created or updated since `since` (with their `created_at` and `updated_at`),
        for missed-webhook recovery: new orders, and cancels and edits of accepted ones.
        Channels that cannot be polled return none."""
        return []


class FulfillmentConnector(Connector):
    role = ConnectorRole.FULFILLMENT

    @abc.abstractmethod
    async def create_shipping_request(self, request: ShippingRequest) -> ShippingReceipt:
        """Create it at the vendor, keyed by `request.idempotency_key` / `request.id` so a
        retried call never creates a second one. Raise `RejectedError` if refused."""

    @abc.abstractmethod
    async def cancel_shipping_request(self, request: ShippingRequest, vendor_id: str | None) -> None:
        """Cancel it; raise `AlreadyShippedError` when it is too late."""

    async def fetch_shipments(self, request: ShippingRequest, vendor_id: str | None) -> list[Shipment]:
        """Shipments for a request, for polling when webhooks are late."""
        return []

    async def fetch_stock(self) -> list[StockRow]:
        """Stock levels at the vendor's location, for ledger snapshots."""
        return []

    async def check_shipping_request(self, request: ShippingRequest, vendor_id: str | None) -> RequestCheck | None:
        """How the request stands at the vendor (`connectors.request_checks`), asked by the
        shipment poll before its shipments: a cancel or an edit made in the vendor's own UI sends
        no webhook. None: the connector cannot tell."""
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
