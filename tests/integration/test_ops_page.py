"""The operations page in a real headless browser (Debian's chromium through playwright) against
the real stack: storefront orders placed, one of whose tracking the storefront refuses; the page
asks for the token (a wrong one shows the API's 401 reason), shows the channels' scorecard with
the API's numbers, draws the charts (the series' bars are on the canvas, not just a canvas),
links the open exception to the order in the Temporal UI, lists the exchange log with the refused
push, and its re-run button has the order retry the push, which then goes through."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from orderloop.loopback_stack import TOKEN
from orderloop.stack import Stack
from tests.browser import chromium_or_skip, headless_chromium
from tests.integration.stack import Api, base_url, open_exception

pytestmark = pytest.mark.integration

# The scorecard's cells as the page formats the report's figures (gateway/static/ops/ops.js).
DASH = "\u2013"


def _fixed(v: Any) -> str:
    return DASH if v is None else f"{v:.2f}"


def _seconds(v: Any) -> str:
    return DASH if v is None else f"{v:.1f} s"


def _plain(v: Any) -> str:
    return DASH if v is None else str(v)


SHOWN = {
    "orders": _plain,
    "units": _plain,
    "revenue": _plain,
    "exceptions": _plain,
    "exceptionsPer100": _fixed,
    "operatorTouchesPer100": _fixed,
    "manualReroutes": _plain,
    "timeToShipP50Seconds": _seconds,
    "slaBreaches": _plain,
    "costPerOrder": _plain,
}
# The exceptions chart's bar colour (ops.js CHARTS), as canvas pixels.
EXCEPTIONS_RGB = (214, 39, 40)


def storefront_order(external_id: str) -> dict[str, Any]:
    return {
        "externalId": external_id,
        "lineItems": [{"id": "1", "sku": "TSHIRT-BLK-M", "quantity": 1, "unitPrice": 19.0}],
        "shippingAddress": {
            "firstName": "Ada",
            "lastName": "Lovelace",
            "address1": "350 5th Ave",
            "city": "New York",
            "stateOrProvince": "NY",
            "zipCodeOrPostalCode": "10118",
            "country": "US",
        },
    }


async def place(http: httpx.AsyncClient, stack: Stack, external_id: str) -> None:
    placed = await http.post(f"{base_url(stack, 'storefront')}/_sandbox/orders", json=storefront_order(external_id))
    assert placed.status_code in (200, 201, 202), placed.text


async def scorecard(page: Any) -> dict[str, dict[str, str]]:
    rows: dict[str, dict[str, str]] = await page.evaluate(
        """() => Object.fromEntries([...document.querySelectorAll('#scorecard tbody tr')].map(tr => [
            tr.dataset.channel,
            Object.fromEntries([...tr.cells].map(td => [td.dataset.field, td.textContent]))]))"""
    )
    return rows


async def expected_scorecard(api: Api) -> dict[str, dict[str, str]]:
    report = (await api.http.get("/api/channels/report", params={"since": "30d"})).json()
    return {c["channel"]: {field: shown(c[field]) for field, shown in SHOWN.items()} for c in report["channels"]}


async def loaded(page: Any, after: str | None = None) -> str:
    """Wait for the page's next full load (`body[data-loaded]` changes) and return its mark."""
    await page.wait_for_function(
        "(before) => document.body.dataset.loaded && document.body.dataset.loaded !== before", arg=after
    )
    mark: str = await page.evaluate("document.body.dataset.loaded")
    return mark


async def test_the_operations_page_shows_the_apis_numbers_charts_links_and_reruns_a_push(
    stack: Stack, api: Api
) -> None:
    chromium_or_skip()  # before placing orders: a machine without the browser skips at once
    storefront = base_url(stack, "storefront")
    shipped, refused = f"ops-{uuid.uuid4().hex[:8]}", f"ops-{uuid.uuid4().hex[:8]}"
    async with httpx.AsyncClient(timeout=10) as http:
        await place(http, stack, shipped)
        await api.wait_order("storefront", shipped, lambda v: v["status"] == "completed")
        await http.post(f"{storefront}/_sandbox/config", json={"reject_fulfillments": True})
        try:
            await place(http, stack, refused)
            await api.wait_order("storefront", refused, open_exception("tracking_rejected"))
        finally:
            await http.post(f"{storefront}/_sandbox/config", json={"reject_fulfillments": False})
    workflow_id = f"order/storefront/{refused}"

    async with headless_chromium() as browser:
        page = await browser.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        other_origins: list[str] = []
        page.on(
            "request",
            lambda request: None if request.url.startswith(stack.gateway_url) else other_origins.append(request.url),
        )
        await page.goto(f"{stack.gateway_url}/ops")

        # A wrong token: the API's own 401 reason, and the form again.
        await page.fill("#token", "not-the-token")
        await page.click("#token-form button[type=submit]")
        await page.wait_for_selector("#auth-error:not([hidden])")
        reason = await page.text_content("#auth-error")
        assert reason is not None and reason.startswith("wrong bearer token")
        assert await page.is_hidden("#ops")

        await page.fill("#token", TOKEN)
        await page.click("#token-form button[type=submit]")
        mark = await loaded(page)
        assert await page.evaluate("sessionStorage.getItem('orderloop.operatorToken')") == TOKEN

        # The scorecard shows the report's figures (reloaded while orders elsewhere still move).
        for _ in range(5):
            shown, expected = await scorecard(page), await expected_scorecard(api)
            if all(shown.get(c, {}) | fields == shown.get(c) for c, fields in expected.items()):
                break
            await page.click("#refresh")
            mark = await loaded(page, mark)
        assert set(shown) == set(expected)
        for channel, fields in expected.items():
            assert {k: shown[channel][k] for k in fields} == fields, channel
        assert int(shown["storefront"]["orders"]) >= 2 and int(shown["storefront"]["exceptions"]) >= 1
        readiness = (await api.http.get("/api/channels/storefront/golive/readiness")).json()
        assert shown["storefront"]["stage"] == (readiness["stage"] or "\u2013")
        assert shown["storefront"]["ready"] == ("ready" if readiness["ready"] else "not ready")

        # The charts of the storefront: the exceptions series is drawn (its colour on the canvas).
        await page.select_option("#channel", "storefront")
        await page.wait_for_function("() => Number(document.querySelector('#chart-exceptions').dataset.points) > 0")
        drawn = await page.evaluate(
            """([r, g, b]) => {
                const canvas = document.querySelector('#chart-exceptions canvas');
                const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
                let n = 0;
                for (let i = 0; i < data.length; i += 4) {
                    if (Math.abs(data[i] - r) < 30 && Math.abs(data[i + 1] - g) < 30 && Math.abs(data[i + 2] - b) < 30
                        && data[i + 3] > 128) n++;
                }
                return n;
            }""",
            list(EXCEPTIONS_RGB),
        )
        assert drawn > 20, "the exceptions chart drew no bar"
        assert await page.locator("#chart-ship canvas").count() == 1
        assert await page.locator("#chart-cost canvas").count() == 1

        # The open exception links to the order in the Temporal UI.
        opened = (await api.http.get("/api/exceptions/open", params={"channel": "storefront"})).json()
        (mine,) = [e for e in opened["exceptions"] if e["workflowId"] == workflow_id]
        link = page.locator(f'#open-exceptions tr[data-workflow-id="{workflow_id}"] a.ui-link')
        assert await link.get_attribute("href") == mine["uiUrl"]
        assert mine["uiUrl"].endswith(f"/workflows/{quote(workflow_id, safe='')}") and "/namespaces/" in mine["uiUrl"]

        # The exchange log: the refused push, then its re-run.
        await page.select_option("#exchange-filters [name=channel]", "storefront")
        await page.select_option("#exchange-filters [name=status]", "failed")
        await page.fill("#exchange-filters [name=order]", workflow_id)
        await page.click("#exchange-filters button[type=submit]")
        failed_push = page.locator("#exchanges tbody tr.failed", has_text="push_tracking").first
        await failed_push.wait_for()
        assert "422 failed" in (await failed_push.locator("td[data-field=status]").text_content() or "")
        assert "reject_fulfillments" in (await failed_push.locator("td[data-field=what]").text_content() or "")
        assert await page.locator("#exchanges tbody tr").count() >= 1
        await failed_push.locator("button.show").click()
        await page.wait_for_selector("#exchange-detail:not([hidden])")
        sent = await page.text_content("#exchange-request")
        assert sent is not None and "trackingNumbers" in sent

        await failed_push.locator("button.rerun").click()
        await page.wait_for_function("() => document.querySelector('#rerun-result').textContent.includes('re-run of')")
        result = await page.text_content("#rerun-result")
        assert result is not None and "refused" not in result and workflow_id in result

        view = await api.wait_order("storefront", refused, lambda v: v["status"] == "completed")
        assert view["shipments"]
        await page.select_option("#exchange-filters [name=status]", "ok")
        deadline = time.monotonic() + 20
        while True:
            await page.click("#exchange-filters button[type=submit]")
            await asyncio.sleep(0.5)
            pushed = page.locator("#exchanges tbody tr.ok", has_text="push_tracking")
            if await pushed.count() or time.monotonic() > deadline:
                break
        assert await pushed.count() >= 1, "the re-run push is not in the exchange log"
        assert errors == [], errors
        assert other_origins == [], other_origins

    rows = (await api.http.get("/api/exchanges", params={"order": workflow_id, "status": "failed"})).json()
    assert any(row["rerunBy"] == "operator" for row in rows["exchanges"])
    # The order's whole conversation is in the log: its webhook in, its shipping request out.
    everything = (await api.http.get("/api/exchanges", params={"order": workflow_id})).json()["exchanges"]
    seen = {(row["direction"], row["channel"], row["operation"], row["status"]) for row in everything}
    assert ("inbound", "storefront", "webhook", "ok") in seen
    assert ("outbound", "wms", "send_shipping_request", "ok") in seen
    assert ("outbound", "storefront", "push_tracking", "failed") in seen
    assert ("outbound", "storefront", "push_tracking", "ok") in seen
