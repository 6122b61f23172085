"""What a connector's contract harness offers the generic cases, one Protocol per role.

A harness builds the connector against its sandbox served in-process and makes the vendor's
own moves (place an order, ship a request, arm the vendor's 429...). It holds no assertion: the
cases in this folder assert. A package joins by defining, in
`tests/connectors/<vendor>/contract_harness.py`, one opener per role of its `SPEC.roles`:
`open_selling(monkeypatch)` / `open_fulfillment(monkeypatch)`, async context managers yielding
an object of the role's Protocol (see `OPENERS`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import AbstractAsyncContextManager
from typing import Protocol, runtime_checkable

import httpx
import pytest

from connectors.base import Connector, FulfillmentConnector, SellingConnector
from orderloop.model import ConnectorRole, Order, ShippingRequest
from tests.connectors.webhook_receiver import ReceivedWebhook


@runtime_checkable
class VendorHarness(Protocol):
    """The moves both roles need."""

    @property
    def connector(self) -> Connector:
        """The connector under test, bound to the sandbox through `http`."""

    @property
    def http(self) -> httpx.AsyncClient:
        """The client the connector uses, bound to the sandbox (its API and `/_sandbox` controls)."""

    @property
    def signature_header(self) -> str:
        """The header carrying the webhook signature (removed by the missing-signature case)."""

    @property
    def retry_header(self) -> str:
        """The header in which the vendor's 429 says how many seconds to wait."""

    @property
    def signs_body(self) -> bool:
        """Whether the vendor's webhook signature covers the body. A vendor that does not sign
        (Logiwa: a token the brand configures) still refuses a missing or wrong token; a body
        changed on the way is caught by `confirm_event`, not by the signature."""

    @property
    def refuses_in_body(self) -> bool:
        """Whether the vendor refuses content in an HTTP 200 body (Logiwa's `Success: false`)
        rather than with a 4xx status."""

    def throttle_delay(self, response: httpx.Response) -> float | None:
        """The seconds the vendor's throttling answer asks to wait, read from its own signal (the
        `retry_header` of a 429, or a body such as Logiwa's 403); None for any other answer."""

    def sign_wrongly(self, webhook: ReceivedWebhook) -> ReceivedWebhook:
        """The same delivery signed with the vendor's scheme but another secret."""

    async def arm_rate_limit(self) -> None:
        """Make the next API call answer the vendor's own 429 with its retry header (its real
        limiter where the sandbox has one)."""

    async def arm_unavailable(self) -> None:
        """Make the next API call answer a 5xx."""


@runtime_checkable
class SellingHarness(VendorHarness, Protocol):
    @property
    def connector(self) -> SellingConnector: ...

    @property
    def inventory_skus(self) -> tuple[str, ...]:
        """SKUs the channel's catalogue carries, so an inventory push has something to set."""

    @property
    def poll_path(self) -> str:
        """Path (prefix) of the vendor's order list that the connector's poll reads."""

    async def order_webhook(self, *, redelivered: bool = False) -> list[ReceivedWebhook]:
        """Place an order of two lines at the sandbox and return its order-created webhook as
        delivered; with `redelivered`, the vendor's retry of the same delivery follows it."""

    async def tracking_records(self, external_order_id: str) -> int:
        """How many fulfillment (tracking) records the sandbox holds for the order."""

    async def published_quantities(self) -> dict[str, int]:
        """The available quantity per SKU the sandbox shows as published by us."""

    async def place_orders_beyond_one_page(self) -> list[str]:
        """Place more orders than one page of the connector's poll; their external ids."""

    async def arm_rejection(self) -> None:
        """Make the vendor refuse (4xx) the next tracking push on its own grounds."""


@runtime_checkable
class PolledOrdersSellingHarness(Protocol):
    """The move the selling cases need of a connector whose channel sends no order webhook
    (NetSuite: the ERP's sales orders are read by `poll_orders` alone). Its harness names the
    webhook cases in `not_applicable`; the other cases take the order from the poll."""

    async def enter_polled_order(self) -> str:
        """Place an order of two lines at the channel, so that the connector's next
        `poll_orders` reads it; its external id."""


@runtime_checkable
class FulfillmentHarness(VendorHarness, Protocol):
    @property
    def connector(self) -> FulfillmentConnector: ...

    @property
    def location_id(self) -> str:
        """An Orderloop location this channel serves."""

    @property
    def pushes_shipments(self) -> bool:
        """Whether the vendor reports shipments by webhook. One that does not (NetSuite: the
        ERP's fulfilments are read by the shipment poll) skips the webhook cases, its `ship`
        returns no webhooks, and the poll cases stand for it."""

    def shipping_request(self, ref: str) -> ShippingRequest:
        """A request of two lines from `location_id` that the vendor accepts; `ref` makes its id."""

    def rejected_request(self, ref: str) -> ShippingRequest:
        """A request the vendor refuses on its own grounds (4xx)."""

    async def vendor_orders(self, request_id: str) -> int:
        """How many vendor orders the sandbox holds for our request id."""

    async def ship(self, request: ShippingRequest, *, redelivered: bool = False) -> list[ReceivedWebhook]:
        """Ship what the sandbox holds for the request now; the shipment webhooks as delivered,
        then, with `redelivered`, the vendor's retry of the last one (none for a vendor that
        does not push shipments)."""

    async def set_stock(self, levels: Mapping[str, int]) -> None:
        """Replace the sandbox's stock with `levels` (SKU -> on hand) at `location_id`."""


@runtime_checkable
class FileHarness(Protocol):
    """The moves of a connector whose documents travel as files (`ConnectorSpec.speaks_files`:
    EDI, flat files) against its sandbox partner on a file exchange."""

    @property
    def connector(self) -> Connector: ...

    async def arm_unavailable(self) -> None:
        """Make the next exchange operation fail as an unreachable server does."""


@runtime_checkable
class FileSellingHarness(FileHarness, Protocol):
    @property
    def connector(self) -> SellingConnector: ...

    async def drop_order(self) -> str:
        """The partner places an order of two lines (its document lands in the inbox); its id."""

    async def resend_last(self) -> None:
        """The partner sends its last document again, byte for byte (the same control numbers)."""

    async def drop_malformed(self) -> None:
        """The partner drops a document the channel's standard refuses."""

    async def acknowledgements(self) -> list[str]:
        """What the partner was answered for each document it sent, in order ("accepted",
        "rejected"), as it reads them from its outbox."""

    async def shipment_notices(self, external_order_id: str) -> int:
        """How many shipment notices (tracking) of the order the partner has read."""

    async def rejections(self) -> int:
        """How many rejected documents the connector kept for operators."""

    @property
    def inventory_skus(self) -> tuple[str, ...]:
        """SKUs the partner carries, so an inventory push has something to advise."""

    async def advised_quantities(self) -> dict[str, int]:
        """Units per SKU the partner was last told it may order, as it reads them."""


OpenSelling = Callable[[pytest.MonkeyPatch], AbstractAsyncContextManager[SellingHarness]]
OpenFulfillment = Callable[[pytest.MonkeyPatch], AbstractAsyncContextManager[FulfillmentHarness]]

# The opener a harness module defines for each role, and the Protocol its harness implements.
OPENERS: dict[ConnectorRole, tuple[str, type]] = {
    ConnectorRole.SELLING: ("open_selling", SellingHarness),
    ConnectorRole.FULFILLMENT: ("open_fulfillment", FulfillmentHarness),
}
# The same for the connectors that speak files; a fulfillment one comes with the flat-file 3PL.
FILE_OPENERS: dict[ConnectorRole, tuple[str, type]] = {
    ConnectorRole.SELLING: ("open_file_selling", FileSellingHarness),
}


@runtime_checkable
class ReportsFulfillmentHarness(Protocol):
    """The moves the collected-reports cases need of a fulfillment connector whose channel
    leaves its shipments and stock for Orderloop to collect (`collect_reports`: files in an
    inbox). Its `ship` and `set_stock` leave those reports (and return no webhooks); a harness
    may name in `not_applicable` (case name -> reason) the cases its vendor cannot take part in."""

    async def collected(self) -> list[str]:
        """The names of the reports the connector has collected (archived) so far."""


@runtime_checkable
class ReturnsFulfillmentHarness(Protocol):
    """The move the returns cases need of a fulfillment connector with `supports_returns`."""

    async def vendor_returns(self, return_id: str) -> int:
        """How many return orders the vendor holds under our return id (its reference)."""


@runtime_checkable
class ReturnsSellingHarness(Protocol):
    """The moves the returns cases need of a selling connector with `supports_returns`."""

    async def return_webhook(self, order: Order) -> list[ReceivedWebhook]:
        """The customer asks to return the shipped units of the order's first line: the
        channel's return-request webhook, as delivered."""

    async def received_notices(self, external_return_id: str) -> int:
        """How many times the channel recorded the return as received."""


@runtime_checkable
class PolledReturnsSellingHarness(Protocol):
    """The moves the returns cases need of a selling connector with `supports_returns` whose
    channel sends no return webhook (Amazon): its returns are read by `poll_returns`."""

    async def buyer_return(self, order: Order) -> None:
        """The customer returns the shipped units of the order's first line at the channel, so
        that the connector's next `poll_returns` reads that return."""

    @property
    def tells_received(self) -> bool:
        """Whether the channel's API takes "return received" at all. False (Amazon: no SP-API
        operation records a received MFN return; the seller refunds in Seller Central): the push
        answers None and calls the channel for nothing. A harness whose channel does take it
        also gives `received_notices` (as `ReturnsSellingHarness`)."""
