"""The ShipBob client's reading of ShipBob's answers, against canned responses: rate-limit delays,
validation reasons, the error tree, `next`-URL paging, and the connector's duplicate handling."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from connectors.base import AlreadyShippedError, PermanentError, RateLimitedError, RejectedError, RetryableError
from connectors.shipbob import ShipBobConnector
from connectors.shipbob.client import ShipBobClient, shipbob_reason
from orderloop.config import ChannelConfig
from tests.connectors.shipbob.conftest import BASE_URL, fixture, shipping_request

Handler = Callable[[httpx.Request], httpx.Response]


def client(handler: Handler) -> ShipBobClient:
    http = httpx.AsyncClient(transport=httpx.MockTransport(handler), base_url=BASE_URL)
    return ShipBobClient(BASE_URL, lambda: "token", 341234, "2026-01", http)


async def test_429_delay_comes_from_x_retry_after_then_from_the_message() -> None:
    limited = fixture("error_rate_limited.json")
    with_header = client(lambda _: httpx.Response(429, json=limited, headers={"x-retry-after": "7"}))
    with pytest.raises(RateLimitedError, match="Try again in 25 seconds") as err:
        await with_header.get_order("1")
    assert err.value.retry_after == 7
    from_message = client(lambda _: httpx.Response(429, json=limited))
    with pytest.raises(RateLimitedError) as err:
        await from_message.get_order("1")
    assert err.value.retry_after == 25
    generic = client(lambda _: httpx.Response(429, text="slow down", headers={"Retry-After": "3"}))
    with pytest.raises(RateLimitedError) as err:
        await generic.get_order("1")
    assert err.value.retry_after == 3


async def test_remaining_calls_are_observed_on_every_answer() -> None:
    shipbob = client(lambda _: httpx.Response(200, json={"id": 1}, headers={"x-remaining-calls": "148"}))
    await shipbob.get_order("1")
    assert shipbob.remaining_calls == 148


@pytest.mark.parametrize(
    ("status", "error", "retryable"),
    [(400, RejectedError, False), (422, RejectedError, False), (401, PermanentError, False),
     (404, PermanentError, False), (500, RetryableError, True), (503, RetryableError, True)],
)  # fmt: skip
async def test_status_codes_map_to_the_error_tree(status: int, error: type[Exception], retryable: bool) -> None:
    shipbob = client(lambda _: httpx.Response(status, json={"message": "nope"}))
    with pytest.raises(error, match=f"HTTP {status}: nope") as err:
        await shipbob.get_order("1")
    assert isinstance(err.value, RetryableError) is retryable


def test_reasons_read_shipbobs_error_shapes() -> None:
    assert shipbob_reason(fixture("error_duplicate_reference_id.json")).startswith("reference_id: Duplicate reference")
    assert shipbob_reason({"a": ["one", "two"], "": ["whole body"]}) == "a: one; two | whole body"
    assert shipbob_reason({"title": "Bad Request", "status": 400}) == "Bad Request"
    assert shipbob_reason(["x", "y"]) == "x; y"
    assert shipbob_reason(None) == "no reason given"


async def test_paths_headers_and_the_reference_lookup() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        # ShipBob filters by reference; an unrelated order must still not be taken for ours.
        return httpx.Response(
            200, json=[{"id": 5, "reference_id": "other"}, {"id": 6, "reference_id": "order/a/1/sr1"}]
        )

    found = await client(answer).orders_by_reference("order/a/1/sr1")
    assert [o["id"] for o in found] == [6]
    [request] = seen
    assert request.url.path == "/2026-01/order"
    assert request.url.params["ReferenceIds"] == "order/a/1/sr1"
    assert request.headers["authorization"] == "Bearer token"
    assert request.headers["shipbob_channel_id"] == "341234"


async def test_next_url_paging_stops_on_a_repeated_page() -> None:
    page = {"items": [{"sku": "A"}], "next": f"{BASE_URL}/2026-01/inventory-level/locations?Cursor=1"}
    with pytest.raises(PermanentError, match="repeats"):
        await client(lambda _: httpx.Response(200, json=page)).inventory_by_fulfillment_center()


async def test_duplicate_refusal_not_yet_listed_is_retried(channel: ChannelConfig) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            return httpx.Response(422, json=fixture("error_duplicate_reference_id.json"))
        return httpx.Response(200, json=[])

    http = httpx.AsyncClient(transport=httpx.MockTransport(answer), base_url=BASE_URL)
    connector = ShipBobConnector(channel, http=http)
    with pytest.raises(RetryableError, match="does not list the order yet"):
        await connector.create_shipping_request(shipping_request())


async def test_malformed_create_is_rejected_without_a_lookup(channel: ChannelConfig) -> None:
    calls: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        calls.append(request.method)
        return httpx.Response(400, json={"products[0].quantity": ["The quantity must be a positive integer."]})

    http = httpx.AsyncClient(transport=httpx.MockTransport(answer), base_url=BASE_URL)
    connector = ShipBobConnector(channel, http=http)
    with pytest.raises(RejectedError, match=r"products\[0\]\.quantity"):
        await connector.create_shipping_request(shipping_request())
    assert calls == ["POST"]


async def test_unmapped_location_is_refused_before_calling_shipbob(channel: ChannelConfig) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        raise AssertionError(f"no call expected, got {request.method} {request.url}")

    http = httpx.AsyncClient(transport=httpx.MockTransport(answer), base_url=BASE_URL)
    with pytest.raises(PermanentError, match="location 'north'"):
        await ShipBobConnector(channel, http=http).create_shipping_request(shipping_request(location="north"))


async def test_refused_cancel_of_a_live_order_is_already_shipped(channel: ChannelConfig) -> None:
    order = fixture("order_partially_shipped.json")

    def answer(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            return httpx.Response(422, json={"order_id": ["Order 100000045 cannot be cancelled."]})
        return httpx.Response(200, json=order)

    http = httpx.AsyncClient(transport=httpx.MockTransport(answer), base_url=BASE_URL)
    with pytest.raises(AlreadyShippedError, match=r"cannot be cancelled.*200000123: Completed") as err:
        await ShipBobConnector(channel, http=http).cancel_shipping_request(shipping_request(), "100000045")
    assert err.value.status_code == 422 and err.value.body["id"] == 100000045


async def test_refused_cancel_of_a_cancelled_order_is_done(channel: ChannelConfig) -> None:
    cancelled = fixture("order_partially_shipped.json") | {"status": "Cancelled"}

    def answer(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            return httpx.Response(422, json={"order_id": ["Order 100000045 is already cancelled."]})
        return httpx.Response(200, json=cancelled)

    http = httpx.AsyncClient(transport=httpx.MockTransport(answer), base_url=BASE_URL)
    await ShipBobConnector(channel, http=http).cancel_shipping_request(shipping_request(), "100000045")
