"""NetSuite's moves for the fulfillment-channel contract (tests/connectors/contract/): orders
fulfilled by the sandbox's `/_sandbox/fulfil/{request id}` (the warehouse entering an item
fulfillment in the ERP), no webhooks (the shipment poll reads the fulfilments), inventory per
location through `/_sandbox/inventory`, refusals as 400 `INVALID_KEY_OR_REF`, and the account's
real concurrency limit answering 429 `CONCURRENCY_LIMIT_EXCEEDED`.

And for the selling-channel contract (the second instance, `role: selling`): sales orders
entered in the ERP through `/_sandbox/orders` and read by the connector's poll (NetSuite sends
no webhooks: `PolledOrdersSellingHarness`), item fulfillments counted through
`/_sandbox/fulfillments/{id}`, and NetSuite's own refusal of a transform (an order cancelled in
the ERP cannot be fulfilled: 400 `USER_ERROR`).

Selling cases that do not apply, and why (`not_applicable`): the order webhook cases (NetSuite
sends none; the other cases take the order from `poll_orders`), and the inventory push (NetSuite
is the ERP holding the stock: `push_inventory` is a documented no-op, tested to call nothing in
tests/connectors/netsuite/test_selling.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import httpx
import pytest

from connectors.netsuite import NetSuiteConnector
from connectors.netsuite.client import CONCURRENCY_BACKOFF, SUITEQL
from connectors.netsuite.mapping import external_id
from connectors.netsuite.sandbox import create_app
from connectors.netsuite.selling import NetSuiteSellingConnector
from orderloop.model import ShippingRequest
from tests.connectors.contract.roles import FulfillmentHarness, SellingHarness
from tests.connectors.contract.sandbox_session import KitFaults, SandboxSession, channel_with_secrets, open_sandbox
from tests.connectors.netsuite.conftest import (
    LOCATIONS,
    TBA_SECRETS,
    channel_fields,
    selling_channel_fields,
    shipping_request,
)
from tests.connectors.webhook_receiver import ReceivedWebhook


@dataclass(frozen=True)
class NetSuiteSession(KitFaults):
    """What both roles' harnesses share: the sandbox session, NetSuite's throttle signal and
    the absence of webhooks."""

    session: SandboxSession

    @property
    def http(self) -> httpx.AsyncClient:
        return self.session.http

    def throttle_delay(self, response: httpx.Response) -> float | None:
        # NetSuite's 429 names no Retry-After: the client waits its documented back-off.
        if response.status_code != 429:
            return None
        given = response.headers.get("Retry-After")
        return float(given) if given else CONCURRENCY_BACKOFF

    def sign_wrongly(self, webhook: ReceivedWebhook) -> ReceivedWebhook:
        raise NotImplementedError("NetSuite sends no webhooks")


@dataclass(frozen=True)
class NetSuiteHarness(NetSuiteSession):
    connector: NetSuiteConnector
    signature_header: str = "Authorization"
    location_id: str = "east"
    pushes_shipments: bool = False

    def shipping_request(self, ref: str) -> ShippingRequest:
        return shipping_request(ref, location=self.location_id)

    def rejected_request(self, ref: str) -> ShippingRequest:
        # NetSuite refuses an item reference it does not know (400 INVALID_KEY_OR_REF).
        return shipping_request(ref, location=self.location_id, lines=(("NO-SUCH-SKU", 1), ("MUG-11OZ", 1)))

    async def vendor_orders(self, request_id: str) -> int:
        orders = await self.session.control("GET", "/_sandbox/orders")
        return sum(1 for o in orders if o.get("externalId") == external_id(request_id))

    async def ship(self, request: ShippingRequest, *, redelivered: bool = False) -> list[ReceivedWebhook]:
        await self.session.control("POST", f"/_sandbox/fulfil/{request.id}")
        return []

    async def set_stock(self, levels: Mapping[str, int]) -> None:
        inventory = {str(LOCATIONS[self.location_id]): dict(levels)}
        await self.session.control("POST", "/_sandbox/inventory", json={"inventory": inventory})

    async def arm_rate_limit(self) -> None:
        # The account's own limit: every slot held by the brand's other integrations.
        await self.session.configure(concurrency_limit=2, busy_slots=2)


@asynccontextmanager
async def open_fulfillment(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FulfillmentHarness]:
    channel = channel_with_secrets(monkeypatch, TBA_SECRETS, **channel_fields())
    async with open_sandbox(channel, create_app, auto_fulfill=False) as session:
        yield NetSuiteHarness(session, NetSuiteConnector(channel, http=session.http))


_NO_WEBHOOKS = "NetSuite sends no order webhooks: its sales orders are read by poll_orders (the other cases do)"
SELLING_NOT_APPLICABLE = {
    "test_signed_order_webhook_verifies_and_parses_to_an_order_event": _NO_WEBHOOKS,
    "test_tampered_order_webhook_is_a_signature_error_the_gateway_answers_401": _NO_WEBHOOKS,
    "test_redelivered_order_webhook_carries_the_same_delivery_id": _NO_WEBHOOKS,
    "test_inventory_push_is_accepted_and_shown_at_the_channel": (
        "NetSuite is the ERP holding the stock: push_inventory is a no-op (tests/connectors/netsuite/test_selling.py)"
    ),
}
# Two lines of an order a sales rep enters in the ERP.
ENTERED_ORDER = {
    "externalId": "PO-CONTRACT",
    "currency": "USD",
    "customer": {"firstName": "Ada", "lastName": "Lovelace", "email": "ada@example.com"},
    "shippingAddress": {
        "firstName": "Ada",
        "lastName": "Lovelace",
        "address1": "350 5th Ave",
        "city": "New York",
        "stateOrProvince": "NY",
        "zipCodeOrPostalCode": "10118",
        "country": "US",
    },
    "lineItems": [{"sku": "TSHIRT-BLK-M", "quantity": 2, "unitPrice": 19.0}, {"sku": "MUG-11OZ", "quantity": 1}],
}


@dataclass(frozen=True)
class NetSuiteSellingHarness(NetSuiteSession):
    connector: NetSuiteSellingConnector
    signature_header: str = "Authorization"
    inventory_skus: tuple[str, ...] = ("TSHIRT-BLK-M", "MUG-11OZ")
    poll_path: str = SUITEQL
    not_applicable: Mapping[str, str] = field(default_factory=lambda: SELLING_NOT_APPLICABLE)

    async def order_webhook(self, *, redelivered: bool = False) -> list[ReceivedWebhook]:
        raise NotImplementedError("NetSuite sends no webhooks: enter_polled_order, then poll_orders")

    async def enter_polled_order(self) -> str:
        return str((await self.session.control("POST", "/_sandbox/orders", json=ENTERED_ORDER))["id"])

    async def tracking_records(self, external_order_id: str) -> int:
        return len(await self.session.control("GET", f"/_sandbox/fulfillments/{external_order_id}"))

    async def published_quantities(self) -> dict[str, int]:
        raise NotImplementedError("NetSuite shows no quantity a selling channel publishes")

    async def place_orders_beyond_one_page(self) -> list[str]:
        # The channel's SuiteQL page is 2 rows (`selling_channel_fields`): five orders are 3 pages.
        return [await self.enter_polled_order() for _ in range(5)]

    async def arm_rejection(self) -> None:
        # The sales rep cancels the newest order in the ERP: NetSuite refuses to fulfil it.
        orders = await self.session.control("GET", "/_sandbox/orders")
        newest = max(int(o["id"]) for o in orders if not o.get("externalId"))
        await self.session.control("POST", f"/_sandbox/cancel/{newest}")

    async def arm_rate_limit(self) -> None:
        await self.session.configure(concurrency_limit=2, busy_slots=2)


@asynccontextmanager
async def open_selling(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[SellingHarness]:
    channel = channel_with_secrets(monkeypatch, TBA_SECRETS, **selling_channel_fields(page_size=2))
    async with open_sandbox(channel, create_app) as session:
        yield NetSuiteSellingHarness(session, NetSuiteSellingConnector(channel, http=session.http))
