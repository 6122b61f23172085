"""Amazon's moves for the selling-channel contract (tests/connectors/contract/): orders placed
through the sandbox's `/_sandbox/orders` (Unshipped at once), their ORDER_CHANGE notification as
the relay forwards it with the channel's key (Amazon signs nothing: a changed body is caught by
`confirm_event`, which reads the order back), and the sandbox's real token bucket of
confirmShipment answering Amazon's 429, which names no delay: the client backs off one token's
time at the operation's rate.

Returns: Amazon sends no return notification, so the harness gives the polled moves
(`PolledReturnsSellingHarness`): the buyer returns units at the sandbox
(`/_sandbox/orders/{id}/returns`), the connector's `poll_returns` reads them from the returns
report, and "received" tells Amazon nothing (`tells_received = False`: no SP-API operation for
it): the contract case checks that the pushes call the sandbox for nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx
import pytest

from connectors.amazon import AmazonConnector
from connectors.amazon.client import ACCESS_TOKEN_HEADER, ORDERS_V0_PATH, Operation, operation_of
from connectors.amazon.notifications import ORDER_CHANGE
from connectors.amazon.sandbox import create_app
from orderloop.model import Order
from tests.connectors.amazon.conftest import CLIENT_ID, CLIENT_SECRET, KEY_HEADER, ORDER, REFRESH_TOKEN, make_channel
from tests.connectors.contract.roles import SellingHarness
from tests.connectors.contract.sandbox_session import KitFaults, SandboxSession, open_sandbox, resigned
from tests.connectors.webhook_receiver import ReceivedWebhook


@dataclass(frozen=True)
class AmazonHarness(KitFaults):
    session: SandboxSession
    connector: AmazonConnector
    signature_header: str = KEY_HEADER
    retry_header = "(none: Amazon's 429 names no delay; one token at the operation's rate)"
    signs_body = False
    inventory_skus: tuple[str, ...] = ("TSHIRT-BLK-M", "MUG-11OZ")
    poll_path: str = "/orders/2026-01-01/orders"
    tells_received = False

    @property
    def http(self) -> httpx.AsyncClient:
        return self.session.http

    def throttle_delay(self, response: httpx.Response) -> float | None:
        if response.status_code != 429:
            return None
        op = operation_of(response.request.method, response.request.url.path)
        return None if op is None else 1.0 / self.connector.client.rate(op)

    def sign_wrongly(self, webhook: ReceivedWebhook) -> ReceivedWebhook:
        return resigned(webhook, KEY_HEADER, "not-the-channel-notification-key")

    async def order_webhook(self, *, redelivered: bool = False) -> list[ReceivedWebhook]:
        mark = self.session.mark()
        await self.session.control("POST", "/_sandbox/orders", json=ORDER)
        return await self.session.topic_webhooks(mark, ORDER_CHANGE, redelivered)

    async def tracking_records(self, external_order_id: str) -> int:
        return len(await self.session.control("GET", "/_sandbox/packages", params={"order": external_order_id}))

    async def published_quantities(self) -> dict[str, int]:
        return dict((await self.session.control("GET", "/_sandbox/listings"))["quantities"])

    async def place_orders_beyond_one_page(self) -> list[str]:
        await self.session.configure(max_page_size=2, deliver_notifications=False)
        placed = [await self.session.control("POST", "/_sandbox/orders", json=ORDER) for _ in range(5)]
        return [str(order["id"]) for order in placed]

    async def buyer_return(self, order: Order) -> None:
        first = order.line_items[0]
        await self.session.configure(report_queue_seconds=0.1, report_processing_seconds=0.1)
        self.connector.settings = self.connector.settings.model_copy(update={"report_poll_interval": 0.05})
        lines = [{"sku": first.sku, "quantity": first.quantity, "reason": "CR-UNWANTED_ITEM"}]
        await self.session.control("POST", f"/_sandbox/orders/{order.external_id}/returns", json={"lines": lines})

    async def arm_rejection(self) -> None:
        await self.session.configure(reject_confirmations=True)

    async def arm_rate_limit(self) -> None:
        # Amazon's own 429: confirmShipment's bucket made one token that barely refills, spent by
        # another client of the same seller and app (a call for an order that does not exist).
        await self.session.configure(usage_plans={Operation.CONFIRM_SHIPMENT: [0.001, 1]})
        form = {
            "grant_type": "refresh_token",
            "refresh_token": REFRESH_TOKEN,
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
        }
        token = (await self.session.control("POST", "/auth/o2/token", data=form))["access_token"]
        spent = await self.http.post(
            f"{ORDERS_V0_PATH}/000-0000000-0000000/shipmentConfirmation", json={}, headers={ACCESS_TOKEN_HEADER: token}
        )
        if spent.status_code != 404:
            raise RuntimeError(f"spending confirmShipment's token: HTTP {spent.status_code}: {spent.text}")


@asynccontextmanager
async def open_selling(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[SellingHarness]:
    channel = make_channel(monkeypatch)
    async with open_sandbox(channel, create_app) as session:
        yield AmazonHarness(session, AmazonConnector(channel, http=session.http))
