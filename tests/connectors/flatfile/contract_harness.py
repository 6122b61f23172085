"""The flat-file channel's moves for the fulfillment-channel contract (tests/connectors/contract/):
the partner sandbox's real SFTP server, order files counted in its folders, shipments and stock
left as files in its inbound folders (`PUT /_sandbox/file?path=`), collected by `collect_reports`.

Cases that do not apply, and why (`not_applicable`): a file exchange sends no webhooks, so there
is nothing to sign, tamper with or redeliver (the collected-reports cases prove the shipment path
instead, and the ledger's file journal the once-only); a cancel is a cancel file, with no answer
saying it came too late (a shipment after it reaches the order as a shipment after a cancel);
shipments and stock are not read per request or on demand (`fetch_shipments`, `fetch_stock`)
but collected from the inbox; and SFTP answers no HTTP status, so the 429, 5xx and 4xx cases have
nothing to read (the exchange's own errors, retryable or not, are tested against the real server
in tests/connectors/sftp_exchange)."""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from urllib.parse import quote

import httpx
import pytest

from connectors.flatfile import FlatFileConnector
from connectors.flatfile.sandbox import RECEIVED_FOLDER, create_app
from orderloop.model import ShippingRequest
from tests.connectors.contract.roles import FulfillmentHarness
from tests.connectors.contract.sandbox_session import SandboxSession, channel_with_secrets, open_sandbox
from tests.connectors.flatfile.conftest import LOCATION, SECRETS, channel_fields
from tests.connectors.shipping_requests import shipping_request_to
from tests.connectors.webhook_receiver import ReceivedWebhook

_NO_WEBHOOKS = "a file exchange sends no webhooks (its shipments are collected from files: test_collected_*)"
_NO_HTTP = "SFTP answers no HTTP status (its errors are tested in tests/connectors/sftp_exchange)"
_COLLECTED = "shipments are collected from the inbox, not read per request"
NOT_APPLICABLE = {
    "test_shipment_webhook_verifies_and_maps_to_our_request": _NO_WEBHOOKS,
    "test_redelivered_shipment_webhook_maps_to_the_same_shipment": _NO_WEBHOOKS,
    "test_tampered_shipment_webhook_is_a_signature_error": _NO_WEBHOOKS,
    "test_cancel_after_the_vendor_shipped_is_already_shipped": (
        "a cancel is a cancel file, which has no answer saying it came too late"
    ),
    "test_shipments_poll_finds_what_the_vendor_shipped": _COLLECTED,
    "test_shipments_polled_again_are_the_same_shipments": _COLLECTED,
    "test_stock_read_matches_the_sandbox_stock": "stock comes in inventory files (test_collected_stock_*)",
    "test_fulfillment_429_becomes_the_retry_delay_of_its_header": _NO_HTTP,
    "test_fulfillment_5xx_is_retryable": _NO_HTTP,
    "test_fulfillment_4xx_refusal_is_not_retried": _NO_HTTP,
}


@dataclass(frozen=True)
class FlatFileHarness:
    session: SandboxSession
    connector: FlatFileConnector
    location_id: str = LOCATION
    not_applicable: Mapping[str, str] = field(default_factory=lambda: NOT_APPLICABLE)
    signature_header: str = ""
    retry_header: str = ""
    signs_body: bool = False
    refuses_in_body: bool = False
    pushes_shipments: bool = False

    @property
    def http(self) -> httpx.AsyncClient:
        return self.session.http

    def throttle_delay(self, response: httpx.Response) -> float | None:
        return None  # SFTP has no throttling signal

    def sign_wrongly(self, webhook: ReceivedWebhook) -> ReceivedWebhook:
        raise AssertionError(_NO_WEBHOOKS)

    async def arm_rate_limit(self) -> None:
        raise AssertionError(_NO_HTTP)

    async def arm_unavailable(self) -> None:
        raise AssertionError(_NO_HTTP)

    def shipping_request(self, ref: str) -> ShippingRequest:
        return shipping_request_to("files", ref, location=self.location_id)

    def rejected_request(self, ref: str) -> ShippingRequest:
        raise AssertionError(_NO_HTTP)

    async def _names(self, folder: str) -> list[str]:
        listing = await self.session.control("GET", "/_sandbox/files", params={"folder": folder})
        return [f["name"] for f in listing["files"]]

    async def vendor_orders(self, request_id: str) -> int:
        settings = self.connector.settings
        name = quote(request_id, safe="") + settings.extension
        found = await self._names(settings.orders_folder) + await self._names(RECEIVED_FOLDER)
        return found.count(name)

    async def ship(self, request: ShippingRequest, *, redelivered: bool = False) -> list[ReceivedWebhook]:
        rows = "".join(
            f"{request.id},{line.sku},{line.quantity},1ZC{line.line_id},UPS\r\n" for line in request.line_items
        )
        body = "request_id,sku,quantity,tracking_number,carrier\r\n" + rows
        name = f"SHIP-{quote(request.external_order_id, safe='')}.csv"
        path = f"{self.connector.settings.shipments_folder}/{name}"
        await self.session.control("PUT", "/_sandbox/file", params={"path": path}, content=body)
        return []

    async def set_stock(self, levels: Mapping[str, int]) -> None:
        body = "sku,on_hand\r\n" + "".join(f"{sku},{units}\r\n" for sku, units in levels.items())
        path = f"{self.connector.settings.inventory_folder}/INV-contract.csv"
        await self.session.control("PUT", "/_sandbox/file", params={"path": path}, content=body)

    async def collected(self) -> list[str]:
        return [n for n in await self._names(self.connector.settings.archive_folder) if not n.endswith(".errors.csv")]


@asynccontextmanager
async def open_fulfillment(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FulfillmentHarness]:
    with tempfile.TemporaryDirectory(prefix="orderloop-files-contract-") as root:
        channel = channel_with_secrets(monkeypatch, SECRETS, **channel_fields())
        knobs = {"auto_ship": False, "inventory_on_start": False, "root": root}
        async with open_sandbox(channel, create_app, **knobs) as session:
            yield FlatFileHarness(session, FlatFileConnector(channel))
