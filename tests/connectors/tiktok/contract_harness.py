"""TikTok Shop's moves for the selling-channel contract (tests/connectors/contract/): orders placed
through the sandbox's `/_sandbox/orders`, their AWAITING_SHIPMENT notification signed as TikTok
signs it (`Authorization` = hex HMAC-SHA256 of app key + body), refusals in HTTP 200 bodies with
TikTok's code, the sandbox's per-second window answering 429 with code 36009004, and the buyer's
return request (`/_sandbox/orders/{id}/returns`, its RETURN_STATUS_CHANGE notification)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx
import pytest

from connectors.tiktok import TikTokConnector
from connectors.tiktok.client import THROTTLE_DELAY, TikTokCode
from connectors.tiktok.sandbox import create_app
from connectors.tiktok.webhooks import SIGNATURE_HEADER, NotificationType, webhook_signature
from orderloop.model import Order
from tests.connectors.contract.roles import SellingHarness
from tests.connectors.contract.sandbox_session import WEBHOOK_WAIT, KitFaults, SandboxSession, open_sandbox, resigned
from tests.connectors.tiktok.conftest import ADDRESS, APP_KEY, make_channel
from tests.connectors.webhook_receiver import ReceivedWebhook

ORDER = {
    "line_items": [{"sku": "TSHIRT-BLK-M", "quantity": 2}, {"sku": "MUG-11OZ", "quantity": 1}],
    "shipping_address": ADDRESS,
    "email": "ada@example.com",
}


def notifications(session: SandboxSession, mark: int, kind: NotificationType) -> list[ReceivedWebhook]:
    """TikTok names the notification in the body's `type`, not in a header."""
    return [w for w in session.receiver.received[mark:] if json.loads(w.body).get("type") == kind]


async def wait_for(session: SandboxSession, mark: int, kind: NotificationType, count: int = 1) -> list[ReceivedWebhook]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WEBHOOK_WAIT
    while True:
        found = notifications(session, mark, kind)
        if len(found) >= count or loop.time() > deadline:
            return found
        await asyncio.sleep(0.01)


@dataclass(frozen=True)
class TikTokHarness(KitFaults):
    session: SandboxSession
    connector: TikTokConnector
    signature_header: str = SIGNATURE_HEADER
    retry_header = "(none: TikTok's 429 carries code 36009004, the client waits its one-second window)"
    refuses_in_body = True
    inventory_skus: tuple[str, ...] = ("TSHIRT-BLK-M", "MUG-11OZ")
    poll_path: str = "/order/202309/orders/search"

    @property
    def http(self) -> httpx.AsyncClient:
        return self.session.http

    def throttle_delay(self, response: httpx.Response) -> float | None:
        try:
            code = response.json().get("code")
        except ValueError:
            return None
        return THROTTLE_DELAY if response.status_code == 429 and code == TikTokCode.TOO_MANY_REQUESTS else None

    def sign_wrongly(self, webhook: ReceivedWebhook) -> ReceivedWebhook:
        return resigned(webhook, SIGNATURE_HEADER, webhook_signature(APP_KEY, "not-the-app-secret", webhook.body))

    async def order_webhook(self, *, redelivered: bool = False) -> list[ReceivedWebhook]:
        mark = self.session.mark()
        await self.session.control("POST", "/_sandbox/orders", json=ORDER)
        first = await wait_for(self.session, mark, NotificationType.ORDER_STATUS_CHANGE)
        if not redelivered:
            return first
        notification_id = json.loads(first[-1].body)["tts_notification_id"]
        await self.session.control("POST", f"/_sandbox/webhooks/{notification_id}/redeliver")
        return await wait_for(self.session, mark, NotificationType.ORDER_STATUS_CHANGE, 2)

    async def tracking_records(self, external_order_id: str) -> int:
        return len(await self.session.control("GET", "/_sandbox/packages", params={"order": external_order_id}))

    async def published_quantities(self) -> dict[str, int]:
        levels: dict[str, int] = (await self.session.control("GET", "/_sandbox/inventory"))["levels"]
        return levels

    async def place_orders_beyond_one_page(self) -> list[str]:
        # The connector's page size is 2 (see `open_selling`): five orders span three pages.
        await self.session.configure(deliver_webhooks=False)
        placed = [await self.session.control("POST", "/_sandbox/orders", json=ORDER) for _ in range(5)]
        return [str(order["id"]) for order in placed]

    async def return_webhook(self, order: Order) -> list[ReceivedWebhook]:
        mark = self.session.mark()
        first = order.line_items[0]
        body = {"line_items": [{"sku": first.sku, "quantity": first.quantity}]}
        await self.session.control("POST", f"/_sandbox/orders/{order.external_id}/returns", json=body)
        return await wait_for(self.session, mark, NotificationType.RETURN_STATUS_CHANGE)

    async def received_notices(self, external_return_id: str) -> int:
        """The received-package approvals TikTok applied to the return."""
        decisions = await self.session.control(
            "GET", "/_sandbox/returns/decisions", params={"return_id": external_return_id}
        )
        return sum(1 for d in decisions if d["decision"] == "APPROVE_RECEIVED_PACKAGE")

    async def arm_rejection(self) -> None:
        await self.session.configure(reject_packages=True)

    async def arm_rate_limit(self) -> None:
        # TikTok's own 429: a window of one call a second per path, used up by a read of the
        # orders path, which a tracking push reads first.
        await self.session.configure(qps=1)
        await self.connector.client.get_orders(["1"])


@asynccontextmanager
async def open_selling(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[SellingHarness]:
    channel = make_channel(monkeypatch, page_size=2)
    async with open_sandbox(channel, create_app, on_hold_seconds=0) as session:
        yield TikTokHarness(session, TikTokConnector(channel, http=session.http))
