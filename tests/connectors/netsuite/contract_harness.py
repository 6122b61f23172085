"""NetSuite's moves for the fulfillment-channel contract (tests/connectors/contract/): orders
fulfilled by the sandbox's `/_sandbox/fulfil/{request id}` (the warehouse entering an item
fulfillment in the ERP), no webhooks (the shipment poll reads the fulfilments), inventory per
location through `/_sandbox/inventory`, refusals as 400 `INVALID_KEY_OR_REF`, and the account's
real concurrency limit answering 429 `CONCURRENCY_LIMIT_EXCEEDED`."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx
import pytest

from connectors.netsuite import NetSuiteConnector
from connectors.netsuite.client import CONCURRENCY_BACKOFF
from connectors.netsuite.mapping import external_id
from connectors.netsuite.sandbox import create_app
from orderloop.model import ShippingRequest
from tests.connectors.contract.roles import FulfillmentHarness
from tests.connectors.contract.sandbox_session import KitFaults, SandboxSession, channel_with_secrets, open_sandbox
from tests.connectors.netsuite.conftest import LOCATIONS, TBA_SECRETS, channel_fields, shipping_request
from tests.connectors.webhook_receiver import ReceivedWebhook


@dataclass(frozen=True)
class NetSuiteHarness(KitFaults):
    session: SandboxSession
    connector: NetSuiteConnector
    signature_header: str = "Authorization"
    location_id: str = "east"
    pushes_shipments: bool = False

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

    def shipping_request(self, ref: str) -> ShippingRequest:
        return shipping_request(ref, location=self.location_id)

    def rejected_request(self, ref: str) -> ShippingRequest:
        # NetSuite refuses an item reference it does not know (400 INVALID_KEY_OR_REF).
        return shipping_request(ref, location=self.location_id, lines=(("NO-SUCH-SKU", 1), ("MUG-11OZ", 1)))

    async def vendor_orders(self, request_id: str) -> int:
        orders = await self.session.control("GET", "/_sandbox/orders")
        return sum(1 for o in orders if o["externalId"] == external_id(request_id))

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
