"""The status -> error map of the connector clients is data: the base client's answers (429 rate
limited with the vendor's delay, 5xx and 408 retryable, 422 rejected, other 4xx permanent), and a
vendor's override by a dict update (ShipBob's 400 is a rejection) that leaves the base map as it
was."""

from __future__ import annotations

import httpx
import pytest

from connectors.base import ConnectorError, PermanentError, RateLimitedError, RejectedError, RetryableError
from connectors.http import VendorClient
from connectors.shipbob.client import ShipBobClient

BASE_URL = "http://vendor.test"


def answering(client_type: type[VendorClient], status: int) -> VendorClient:
    http = httpx.AsyncClient(
        transport=httpx.MockTransport(
            lambda _: httpx.Response(status, json={"message": "no"}, headers={"Retry-After": "4"})
        ),
        base_url=BASE_URL,
    )
    if client_type is ShipBobClient:
        return ShipBobClient(BASE_URL, lambda: "token", 1, "2026-01", http)
    return VendorClient(BASE_URL, http)


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (429, RateLimitedError),
        (503, RetryableError),
        (500, RetryableError),
        (408, RetryableError),
        (422, RejectedError),
        (400, PermanentError),
        (404, PermanentError),
    ],
)
async def test_the_base_client_maps_each_status_to_its_error(status: int, error: type[ConnectorError]) -> None:
    with pytest.raises(error) as raised:
        await answering(VendorClient, status).request("GET", "/thing", "read thing")
    assert type(raised.value) is error
    assert str(raised.value).startswith(f"read thing: HTTP {status}: no")
    if isinstance(raised.value, RetryableError):
        assert raised.value.retry_after == 4
    else:
        assert isinstance(raised.value, PermanentError) and raised.value.status_code == status


async def test_shipbob_overrides_one_status_without_changing_the_base_map() -> None:
    with pytest.raises(RejectedError):
        await answering(ShipBobClient, 400).request("GET", "/thing", "read thing")
    with pytest.raises(PermanentError) as raised:
        await answering(ShipBobClient, 404).request("GET", "/thing", "read thing")
    assert type(raised.value) is PermanentError
    assert 400 not in VendorClient.status_errors
