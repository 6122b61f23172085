"""The RyderShip client and connector against the sandbox: the token's expiry and refresh (with
the refresh token rotated), a 401 renewing once, 429 with its delay, refusals, cancel rules."""

from __future__ import annotations

import pytest

from connectors.base import AlreadyShippedError, RateLimitedError, RejectedError
from tests.connectors.rydership.conftest import REFRESH_TOKEN, MakeHarness, shipping_request


async def test_an_expired_token_is_renewed_with_the_rotated_refresh_token(make_harness: MakeHarness) -> None:
    h = await make_harness()
    request = shipping_request("T1")
    receipt = await h.connector.create_shipping_request(request)
    assert h.connector.client.tokens.grants == 1
    await h.control("POST", "tokens/expire")

    assert await h.connector.fetch_shipments(request, receipt.vendor_id) == []

    assert h.connector.client.tokens.grants == 2
    grants = h.sandbox.recorder.matching("POST", "/oauth/token")
    assert len(grants) == 2
    assert "refresh_token=" + REFRESH_TOKEN in str(grants[0].body)
    assert REFRESH_TOKEN not in str(grants[1].body)  # the one the first answer gave


async def test_a_throttled_call_is_rate_limited_with_the_delay(make_harness: MakeHarness) -> None:
    h = await make_harness(per_second=1)
    with pytest.raises(RateLimitedError) as caught:
        await h.connector.fetch_stock()
    assert caught.value.retry_after is not None and 0 < caught.value.retry_after <= 1


async def test_an_unknown_sku_is_a_rejection_in_whiplash_words(make_harness: MakeHarness) -> None:
    h = await make_harness()
    with pytest.raises(RejectedError, match="NO-SUCH-SKU"):
        await h.connector.create_shipping_request(shipping_request("T2", lines=(("NO-SUCH-SKU", 1),)))


async def test_cancel_after_pick_is_already_shipped_and_a_repeated_cancel_is_done(make_harness: MakeHarness) -> None:
    h = await make_harness()
    picked, early = shipping_request("T3"), shipping_request("T4")
    first = await h.connector.create_shipping_request(picked)
    second = await h.connector.create_shipping_request(early)
    await h.control("POST", f"pick/{picked.id}")

    with pytest.raises(AlreadyShippedError, match="Picked"):
        await h.connector.cancel_shipping_request(picked, first.vendor_id)
    await h.connector.cancel_shipping_request(early, second.vendor_id)
    await h.connector.cancel_shipping_request(early, second.vendor_id)
    assert h.calls("PUT", f"/api/v2/orders/{second.vendor_id}/call/cancel") == 2


async def test_stock_is_read_per_warehouse(make_harness: MakeHarness) -> None:
    h = await make_harness()
    await h.control("POST", "stock", json={"stock": {"11": {"MUG-11OZ": 9}, "12": {"MUG-11OZ": 4}}})
    rows = await h.connector.fetch_stock()
    assert sorted((r.location_ref, r.sku, r.on_hand) for r in rows) == [
        ("east", "MUG-11OZ", 9),
        ("west", "MUG-11OZ", 4),
    ]
