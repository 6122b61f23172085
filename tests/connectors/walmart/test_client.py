"""The Walmart client against the sandbox: the token and the headers of every call, its renewal,
Walmart's error body as the reason, and the 429's replenishment time as the retry delay."""

from __future__ import annotations

import pytest

from connectors.base import PermanentError, RateLimitedError
from connectors.walmart import WalmartConnector
from tests.connectors.walmart.conftest import Walmart, make_channel


async def test_every_call_carries_the_token_a_fresh_correlation_id_and_the_service_name(walmart: Walmart) -> None:
    po = await walmart.place()

    await walmart.connector.client.order(po)
    await walmart.connector.client.order(po)

    token_calls = walmart.seller.recorder.matching("POST", "/v3/token")
    reads = walmart.seller.recorder.matching("GET", f"/v3/orders/{po}")
    assert len(token_calls) == 1 and token_calls[0].headers["authorization"].startswith("Basic ")
    assert [r.status for r in reads] == [200, 200]
    assert len({r.headers["wm_sec.access_token"] for r in reads}) == 1
    ids = [r.headers["wm_qos.correlation_id"] for r in [*token_calls, *reads]]
    assert len(set(ids)) == 3
    assert {r.headers["wm_svc.name"] for r in reads} == {"Walmart Marketplace"}


async def test_an_expired_token_is_renewed_and_the_call_repeated_once(walmart: Walmart) -> None:
    po = await walmart.place()
    await walmart.connector.client.order(po)
    await walmart.session.control("POST", "/_sandbox/tokens/expire")

    order = await walmart.connector.client.order(po)

    assert order["purchaseOrderId"] == po
    assert [r.status for r in walmart.seller.recorder.matching("GET", f"/v3/orders/{po}")] == [200, 401, 200]
    assert walmart.connector.client.tokens_fetched == 2


async def test_a_token_near_its_900_seconds_is_renewed_before_use(walmart: Walmart) -> None:
    clock = [0.0]
    client = walmart.connector.client
    client.tokens._clock = lambda: clock[0]
    await client.tokens.token()
    clock[0] = 839.0
    await client.tokens.token()
    clock[0] = 841.0

    await client.tokens.token()

    assert client.tokens_fetched == 2


async def test_wrong_credentials_are_a_permanent_error_naming_them(
    walmart: Walmart, monkeypatch: pytest.MonkeyPatch
) -> None:
    channel = make_channel(monkeypatch)
    monkeypatch.setenv("ORDERLOOP_WALMART_CLIENT_SECRET", "wrong")
    connector = WalmartConnector(channel, http=walmart.session.http)

    with pytest.raises(
        PermanentError, match=r"HTTP 401: UNAUTHORIZED.GMP_GATEWAY_API: .*check the channel's client_id"
    ):
        await connector.client.tokens.token()


async def test_a_missing_header_is_walmarts_400(walmart: Walmart) -> None:
    response = await walmart.session.http.get("/v3/orders", headers={"WM_SVC.NAME": "x"})

    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert error["code"] == "INVALID_REQUEST_HEADER.GMP_GATEWAY_API"
    assert error["field"] == "WM_QOS.CORRELATION_ID"


async def test_an_unknown_purchase_order_is_a_permanent_error_with_walmarts_words(walmart: Walmart) -> None:
    with pytest.raises(
        PermanentError, match=r"HTTP 404: CONTENT_NOT_FOUND\.GMP_ORDER_API: purchase order 42 was not found"
    ):
        await walmart.connector.client.order("42")


async def test_an_empty_bucket_is_rate_limited_until_the_replenishment_time(walmart: Walmart) -> None:
    po = await walmart.place()
    await walmart.connector.client.order(po)
    await walmart.session.configure(burst=1, calls_per_second=0.25)
    await walmart.connector.client.order(po)

    with pytest.raises(RateLimitedError) as limited:
        await walmart.connector.client.order(po)

    assert [r.status for r in walmart.seller.recorder.matching("GET", f"/v3/orders/{po}")] == [200, 200, 429]
    assert limited.value.retry_after is not None and 0 < limited.value.retry_after <= 5
    assert walmart.connector.client.token_count == 0


async def test_every_answer_reports_the_operations_bucket(walmart: Walmart) -> None:
    po = await walmart.place()
    await walmart.connector.client.order(po)

    response = await walmart.session.http.get(f"/v3/orders/{po}")

    assert response.status_code == 400  # no headers: refused, still with the bucket's headers
    assert response.headers["X-Current-Token-Count"].isdigit()
    assert int(response.headers["X-Next-Replenishment-Time"]) > 1_700_000_000_000


async def test_an_inventory_push_paces_itself_by_the_bucket_instead_of_being_refused(walmart: Walmart) -> None:
    await walmart.session.configure(burst=2, calls_per_second=2)

    await walmart.connector.push_inventory({"MUG-11OZ": 1, "POSTER-A2": 2, "TSHIRT-BLK-M": 3, "TSHIRT-WHT-M": 4})

    puts = walmart.seller.recorder.matching("PUT", "/v3/inventory")
    assert [r.status for r in puts] == [200, 200, 200, 200]
    assert walmart.connector.client.paced >= 1
    assert walmart.seller.throttled == 0


async def test_a_bucket_that_refills_late_stops_the_push_with_the_delay(walmart: Walmart) -> None:
    await walmart.session.configure(burst=1, calls_per_second=0.05)

    with pytest.raises(RateLimitedError, match="paced") as limited:
        await walmart.connector.push_inventory({"MUG-11OZ": 1, "POSTER-A2": 2})

    assert limited.value.retry_after is not None and limited.value.retry_after > 5
    assert [r.status for r in walmart.seller.recorder.matching("PUT", "/v3/inventory")] == [200]


async def test_pacing_reads_only_the_bucket_of_the_same_operation(walmart: Walmart) -> None:
    await walmart.session.configure(burst=1, calls_per_second=0.05)
    await walmart.connector.client.tokens.token()
    assert walmart.connector.client.token_count == 0  # the token API's bucket is empty now

    await walmart.connector.push_inventory({"MUG-11OZ": 1})

    assert [r.status for r in walmart.seller.recorder.matching("PUT", "/v3/inventory")] == [200]
    assert walmart.connector.client.paced == 0
