"""The B2B portal's moves for the selling-channel contract (tests/connectors/contract/): orders
placed through its sandbox's `/_sandbox/orders`, webhooks signed by Standard Webhooks, and its
own sliding-window rate limit (429 with `Retry-After`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from itertools import count

import httpx
import pytest

from connectors.b2b import B2BPortalConnector
from connectors.b2b.sandbox import create_app
from connectors.b2b.webhooks import SIGNATURE_HEADER, PortalEvent
from connectors.signing import standard_webhook_signature
from tests.connectors.b2b.conftest import (
    API_TOKEN,
    API_TOKEN_VAR,
    WEBHOOK_SECRET,
    WEBHOOK_SECRET_VAR,
    channel_fields,
    portal_order,
)
from tests.connectors.contract.roles import SellingHarness
from tests.connectors.contract.sandbox_session import (
    KitFaults,
    SandboxSession,
    channel_with_secrets,
    open_sandbox,
    resigned,
)
from tests.connectors.webhook_receiver import ReceivedWebhook

# The client reads orders 100 to a page.
POLL_PAGE = 100
OTHER_SECRET = "whsec_bm90LXRoZS1wb3J0YWwta2V5"


@dataclass
class B2BHarness(KitFaults):
    session: SandboxSession
    connector: B2BPortalConnector
    signature_header: str = SIGNATURE_HEADER
    inventory_skus: tuple[str, ...] = ("TSHIRT-BLK-M", "MUG-11OZ")
    poll_path: str = "/v1/orders"

    def __post_init__(self) -> None:
        self._ids = count(1)

    @property
    def http(self) -> httpx.AsyncClient:
        return self.session.http

    def sign_wrongly(self, webhook: ReceivedWebhook) -> ReceivedWebhook:
        headers = webhook.headers
        signature = standard_webhook_signature(
            OTHER_SECRET, headers["webhook-id"], int(headers["webhook-timestamp"]), webhook.body
        )
        return resigned(webhook, SIGNATURE_HEADER, signature)

    async def _place(self, deliver: bool = True) -> str:
        external_id = f"B2B-C{next(self._ids):04d}"
        order = portal_order(external_id)
        order.pop("createdAt", None)
        order.pop("updatedAt", None)
        await self.session.control("POST", "/_sandbox/orders", json=order, params={"deliver": deliver})
        return external_id

    async def order_webhook(self, *, redelivered: bool = False) -> list[ReceivedWebhook]:
        mark = self.session.mark()
        await self._place()
        return await self.session.topic_webhooks(mark, PortalEvent.ORDER_CREATED, redelivered)

    async def tracking_records(self, external_order_id: str) -> int:
        return len(await self.session.control("GET", "/_sandbox/fulfillments", params={"order": external_order_id}))

    async def published_quantities(self) -> dict[str, int]:
        """What the portal's least restricted account (`corner-shop`: no buffer, full share) shows."""
        levels = (await self.session.control("GET", "/_sandbox/inventory"))["levels"]
        return {sku: level["available"] for sku, level in levels.get("corner-shop", {}).items()}

    async def place_orders_beyond_one_page(self) -> list[str]:
        return [await self._place(deliver=False) for _ in range(POLL_PAGE + 3)]

    async def arm_rejection(self) -> None:
        await self.session.configure(reject_fulfillments=True)

    async def arm_rate_limit(self) -> None:
        """The portal's own limiter: one call a minute, the next is refused with Retry-After."""
        await self.session.configure(rate_limit=1, rate_window=7)
        await self.http.get("/v1/orders", headers={"Authorization": f"Bearer {API_TOKEN}"})


@asynccontextmanager
async def open_selling(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[SellingHarness]:
    channel = channel_with_secrets(
        monkeypatch, {WEBHOOK_SECRET_VAR: WEBHOOK_SECRET, API_TOKEN_VAR: API_TOKEN}, **channel_fields()
    )
    async with open_sandbox(channel, create_app) as session:
        yield B2BHarness(session, B2BPortalConnector(channel, http=session.http))
