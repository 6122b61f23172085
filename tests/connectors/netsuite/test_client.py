"""The NetSuite connector against its sandbox: the upsert by external id (a retried create is the
same sales order), TBA signatures (a wrong secret, a replayed nonce and a stale timestamp
refused), OAuth 2.0 M2M tokens (one grant, renewed once after expiry), the concurrency limit
(refused with NetSuite's body as a rate limit; the client's semaphore keeps within it), master
data refusals with NetSuite's message, SuiteQL paging, fulfilments read twice as the same
shipments, an over-fulfilment reported and never applied, cancels that close lines, and stock
per location."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from oauthlib import oauth1

from connectors.base import AlreadyShippedError, PermanentError, RateLimitedError, RejectedError
from connectors.netsuite import NetSuiteConnector
from connectors.netsuite.client import CONCURRENCY_BACKOFF, RECORD, SUITEQL
from connectors.netsuite.mapping import external_id
from orderloop.activity_models import RequestCondition
from orderloop.config import ChannelConfig
from tests.connectors.netsuite.conftest import (
    ACCOUNT_ID,
    BASE_URL,
    TBA_SECRETS,
    Harness,
    MakeHarness,
    channel_fields,
    m2m_secrets,
    private_key_pem,
    shipping_request,
)


def signed(
    method: str, url: str, *, token_secret: str | None = None, timestamp: str | None = None, nonce: str | None = None
) -> dict[str, str]:
    signer = oauth1.Client(
        TBA_SECRETS["ORDERLOOP_TEST_NETSUITE_CONSUMER_KEY"],
        client_secret=TBA_SECRETS["ORDERLOOP_TEST_NETSUITE_CONSUMER_SECRET"],
        resource_owner_key=TBA_SECRETS["ORDERLOOP_TEST_NETSUITE_TOKEN_ID"],
        resource_owner_secret=token_secret or TBA_SECRETS["ORDERLOOP_TEST_NETSUITE_TOKEN_SECRET"],
        signature_method=oauth1.SIGNATURE_HMAC_SHA256,
        realm=ACCOUNT_ID,
        timestamp=timestamp,
        nonce=nonce,
    )
    _, headers, _ = signer.sign(url, http_method=method)
    return dict(headers)  # fmt: skip


async def test_create_retried_is_one_sales_order(harness: Harness) -> None:
    request = shipping_request("2001")

    first = await harness.connector.create_shipping_request(request)
    again = await harness.connector.create_shipping_request(request)

    assert not first.duplicate and again.duplicate and again.vendor_id == first.vendor_id
    [order] = harness.sandbox.orders.values()
    assert order.external_id == external_id(request.id)
    assert [(line.sku, line.quantity) for line in order.lines] == [("TSHIRT-BLK-M", 2), ("MUG-11OZ", 1)]
    assert harness.calls("PUT", f"{RECORD}/salesOrder/eid:") == 1
    assert harness.calls("GET", f"{RECORD}/salesOrder/eid:") == 2


async def test_a_lost_upsert_answer_is_found_by_its_external_id(make_harness: MakeHarness) -> None:
    harness = await make_harness(lose_create_answers=1)
    request = shipping_request("2002")

    with pytest.raises(Exception, match="504"):
        await harness.connector.create_shipping_request(request)
    retried = await harness.connector.create_shipping_request(request)

    assert retried.duplicate
    assert len(harness.sandbox.orders) == 1


async def test_unknown_item_is_rejected_with_netsuites_message(harness: Harness) -> None:
    request = shipping_request("2003", lines=(("NO-SUCH-SKU", 1),))

    with pytest.raises(RejectedError, match=r"Invalid 'item' reference key 'NO-SUCH-SKU'.*INVALID_KEY_OR_REF"):
        await harness.connector.create_shipping_request(request)
    assert not harness.sandbox.orders


async def test_wrong_token_secret_is_invalid_login(harness: Harness) -> None:
    url = f"{BASE_URL}{RECORD}/salesOrder/eid:nothing"
    response = await harness.http.get(url, headers=signed("GET", url, token_secret="not-the-secret"))

    assert response.status_code == 401
    [detail] = response.json()["o:errorDetails"]
    assert detail["o:errorCode"] == "INVALID_LOGIN" and "signature" in detail["detail"]


async def test_a_replayed_nonce_and_a_stale_timestamp_are_refused(harness: Harness) -> None:
    url = f"{BASE_URL}{RECORD}/salesOrder/eid:nothing"
    headers = signed("GET", url, nonce="nonce-once-only")

    first = await harness.http.get(url, headers=headers)
    replayed = await harness.http.get(url, headers=headers)
    stale = await harness.http.get(url, headers=signed("GET", url, timestamp=str(int(time.time()) - 3600)))

    assert first.status_code == 404  # signed right: the record is just not there
    assert replayed.status_code == 401 and "nonce_used" in replayed.text
    assert stale.status_code == 401 and "timestamp_refused" in stale.text


async def test_the_signature_covers_the_query(harness: Harness) -> None:
    url = f"{BASE_URL}{SUITEQL}?limit=5&offset=0"
    headers = signed("POST", url) | {"Prefer": "transient"}

    tampered = await harness.http.post(f"{BASE_URL}{SUITEQL}?limit=6&offset=0", headers=headers,
                                       json={"q": "SELECT id FROM item"})  # fmt: skip

    assert tampered.status_code == 401


async def test_m2m_token_is_granted_once_and_renewed_after_expiry(
    monkeypatch: pytest.MonkeyPatch, make_harness: MakeHarness
) -> None:
    for variable, value in m2m_secrets(private_key_pem()).items():
        monkeypatch.setenv(variable, value)
    harness = await make_harness(ChannelConfig(**channel_fields(auth="m2m")))

    await harness.connector.fetch_stock()
    await harness.connector.fetch_stock()
    await harness.control("POST", "tokens/expire")
    rows = await harness.connector.fetch_stock()

    assert rows
    assert harness.sandbox.gatekeeper.tokens_issued == 2
    assert harness.connector.client.tokens.grants == 2


async def test_m2m_assertion_signed_by_another_key_is_refused(
    monkeypatch: pytest.MonkeyPatch, make_harness: MakeHarness
) -> None:
    for variable, value in m2m_secrets(private_key_pem()).items():
        monkeypatch.setenv(variable, value)
    harness = await make_harness(ChannelConfig(**channel_fields(auth="m2m")))
    monkeypatch.setenv("ORDERLOOP_TEST_NETSUITE_PRIVATE_KEY", private_key_pem())

    with pytest.raises(PermanentError, match=r"invalid_client|client assertion"):
        await harness.connector.fetch_stock()


async def test_concurrency_limit_exceeded_is_a_rate_limit(make_harness: MakeHarness) -> None:
    harness = await make_harness(concurrency_limit=2, busy_slots=2)

    with pytest.raises(RateLimitedError, match="CONCURRENCY_LIMIT_EXCEEDED") as raised:
        await harness.connector.fetch_stock()
    assert raised.value.retry_after == CONCURRENCY_BACKOFF


async def test_the_client_keeps_within_the_accounts_concurrency_limit(
    monkeypatch: pytest.MonkeyPatch, make_harness: MakeHarness
) -> None:
    paced = await make_harness(ChannelConfig(**channel_fields(concurrency_limit=2)), call_time=0.02)
    await asyncio.gather(*(paced.connector.fetch_stock() for _ in range(6)))
    assert paced.sandbox.concurrency_refused == 0

    # The same burst from a client told a higher limit than the account has is refused.
    loose = await make_harness(ChannelConfig(**channel_fields(concurrency_limit=6)), call_time=0.02,
                               concurrency_limit=2)  # fmt: skip
    outcomes = await asyncio.gather(*(loose.connector.fetch_stock() for _ in range(6)), return_exceptions=True)
    assert any(isinstance(o, RateLimitedError) for o in outcomes)
    assert loose.sandbox.concurrency_refused > 0


async def test_fulfilment_read_twice_is_the_same_shipment(harness: Harness) -> None:
    request = shipping_request("2004")
    receipt = await harness.connector.create_shipping_request(request)
    await harness.control("POST", f"fulfil/{request.id}", json={"tracking": ["1ZTEST0001", "1ZTEST0002"]})

    first = await harness.connector.fetch_shipments(request, receipt.vendor_id)
    again = await harness.connector.fetch_shipments(request, receipt.vendor_id)

    assert first == again
    [shipment] = first
    assert shipment.tracking_numbers == ["1ZTEST0001", "1ZTEST0002"]
    assert {(line.sku, line.quantity) for line in shipment.line_items} == {("TSHIRT-BLK-M", 2), ("MUG-11OZ", 1)}
    assert shipment.location_id == "east" and shipment.shipping_carrier == "UPS Ground"


async def test_only_shipped_fulfilments_are_shipments(harness: Harness) -> None:
    request = shipping_request("2005")
    receipt = await harness.connector.create_shipping_request(request)
    await harness.control("POST", f"fulfil/{request.id}", json={"units": {"MUG-11OZ": 1}, "status": "B"})

    assert await harness.connector.fetch_shipments(request, receipt.vendor_id) == []


async def test_suiteql_is_read_to_its_last_page(make_harness: MakeHarness) -> None:
    harness = await make_harness(ChannelConfig(**channel_fields(page_size=2)))
    request = shipping_request("2006", lines=(("TSHIRT-BLK-M", 3), ("MUG-11OZ", 2), ("POSTER-A2", 1)))
    receipt = await harness.connector.create_shipping_request(request)
    for sku, units in (("TSHIRT-BLK-M", 1), ("TSHIRT-BLK-M", 2), ("MUG-11OZ", 2), ("POSTER-A2", 1)):
        await harness.control("POST", f"fulfil/{request.id}", json={"units": {sku: units}})

    shipments = await harness.connector.fetch_shipments(request, receipt.vendor_id)

    assert len(shipments) == 4
    assert harness.calls("POST", SUITEQL) >= 2  # two rows a page: more than one page was read


async def test_an_overfulfilment_is_reported_and_never_applied(harness: Harness) -> None:
    request = shipping_request("2007")
    receipt = await harness.connector.create_shipping_request(request)
    await harness.control("POST", f"fulfil/{request.id}", json={"units": {"MUG-11OZ": 1}})
    await harness.control(
        "POST", f"fulfil/{request.id}", json={"units": {"TSHIRT-BLK-M": 3, "HOODIE-GRY-L": 1}, "beyond_order": True}
    )

    check = await harness.connector.check_shipping_request(request, receipt.vendor_id)
    shipments = await harness.connector.fetch_shipments(request, receipt.vendor_id)

    assert check.condition is RequestCondition.CHANGED
    assert "TSHIRT-BLK-M: 3 fulfilled where 2 remain" in str(check.detail)
    assert "HOODIE-GRY-L: 1 fulfilled where 0 were never ordered" in str(check.detail)
    assert [[(line.sku, line.quantity) for line in s.line_items] for s in shipments] == [[("MUG-11OZ", 1)]]


async def test_cancel_before_fulfilment_closes_every_line(harness: Harness) -> None:
    request = shipping_request("2008")
    receipt = await harness.connector.create_shipping_request(request)

    await harness.connector.cancel_shipping_request(request, receipt.vendor_id)
    await harness.connector.cancel_shipping_request(request, receipt.vendor_id)

    [order] = harness.sandbox.orders.values()
    assert all(line.closed for line in order.lines)
    assert harness.calls("PATCH", f"{RECORD}/salesOrder/") == 1
    check = await harness.connector.check_shipping_request(request, receipt.vendor_id)
    assert check.condition is RequestCondition.CANCELLED


async def test_cancel_of_a_partly_fulfilled_order_closes_the_rest(harness: Harness) -> None:
    request = shipping_request("2009")
    receipt = await harness.connector.create_shipping_request(request)
    await harness.control("POST", f"fulfil/{request.id}", json={"units": {"TSHIRT-BLK-M": 2}})

    with pytest.raises(AlreadyShippedError, match="2 units are fulfilled already; its 1 open units were closed"):
        await harness.connector.cancel_shipping_request(request, receipt.vendor_id)

    [order] = harness.sandbox.orders.values()
    assert [(line.sku, line.fulfilled, line.closed) for line in order.lines] == [
        ("TSHIRT-BLK-M", 2, False),
        ("MUG-11OZ", 0, True),
    ]
    [shipment] = await harness.connector.fetch_shipments(request, receipt.vendor_id)
    assert [(line.sku, line.quantity) for line in shipment.line_items] == [("TSHIRT-BLK-M", 2)]


async def test_stock_per_location_has_on_hand_committed_and_available(harness: Harness) -> None:
    await harness.control("POST", "inventory", json={"inventory": {"3": {"TSHIRT-BLK-M": 40}, "4": {"MUG-11OZ": 9}}})
    await harness.connector.create_shipping_request(shipping_request("2010"))  # commits 2 tees at east (3)

    rows = {
        (r.location_ref, r.sku): (r.on_hand, r.committed, r.available) for r in await harness.connector.fetch_stock()
    }

    assert rows[("east", "TSHIRT-BLK-M")] == (40, 2, 38)
    assert rows[("west", "MUG-11OZ")] == (9, 0, 9)


async def test_suiteql_over_a_table_netsuite_lacks_is_refused(harness: Harness) -> None:
    with pytest.raises(PermanentError, match="Record 'customerz' was not found"):
        await harness.connector.client.rows("SELECT id FROM customerz", "query")
    with pytest.raises(PermanentError, match="Only one SELECT"):
        await harness.connector.client.rows("DELETE FROM item", "query")


async def test_suiteql_needs_prefer_transient(harness: Harness) -> None:
    url = f"{BASE_URL}{SUITEQL}"
    response = await harness.http.post(url, headers=signed("POST", url), json={"q": "SELECT id FROM item"})

    assert response.status_code == 400
    assert response.json()["o:errorDetails"][0]["o:errorHeader"] == "Prefer"


def test_connector_needs_a_customer_for_sales_orders(monkeypatch: pytest.MonkeyPatch) -> None:
    fields = channel_fields()
    fields["settings"] = {k: v for k, v in fields["settings"].items() if k != "customer"}
    with pytest.raises(Exception, match="customer"):
        NetSuiteConnector(ChannelConfig(**fields), http=httpx.AsyncClient())


async def test_the_channel_wide_poll_finds_every_orders_new_fulfilments_once(harness: Harness) -> None:
    first, second = shipping_request("2011"), shipping_request("2012")
    one = await harness.connector.create_shipping_request(first)
    two = await harness.connector.create_shipping_request(second)
    before = datetime.now(UTC) - timedelta(seconds=5)
    await harness.control("POST", f"fulfil/{first.id}", json={"tracking": ["1ZPOLL0001"]})
    await harness.control("POST", f"fulfil/{second.id}", json={"units": {"MUG-11OZ": 1}})
    # An over-fulfilment of the second order: never a shipment.
    await harness.control("POST", f"fulfil/{second.id}", json={"units": {"MUG-11OZ": 1}, "beyond_order": True})

    polled = await harness.connector.poll_shipments(before)

    assert sorted((s.shipping_request_id, s.id) for s in polled) == sorted(
        (s.shipping_request_id, s.id)
        for s in [
            *await harness.connector.fetch_shipments(first, one.vendor_id),
            *await harness.connector.fetch_shipments(second, two.vendor_id),
        ]
    )
    assert {s.shipping_request_id: [(x.sku, x.quantity) for x in s.line_items] for s in polled} == {
        first.id: [("TSHIRT-BLK-M", 2), ("MUG-11OZ", 1)],
        second.id: [("MUG-11OZ", 1)],
    }
    # Later than every fulfilment: nothing new.
    assert await harness.connector.poll_shipments(datetime.now(UTC) + timedelta(seconds=5)) == []
