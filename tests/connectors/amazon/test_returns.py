"""Amazon's returns role: the flat-file returns report (Amazon's documented columns) parsed and
its RMAs mapped to the canonical return against the order's items (onX-valid), what cannot be
mapped refused with the reason; against the sandbox the Reports API lifecycle (IN_QUEUE ->
IN_PROGRESS -> DONE, CANCELLED without data, FATAL), the pre-signed GZIP document, a buyer's
return polled with the exact calls it costs, a slow report waited for once across a retry, and
"received" telling Amazon nothing."""

from __future__ import annotations

import asyncio
import copy
import gzip
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from connectors.amazon import AmazonConnector, returns
from connectors.amazon.client import DOCUMENTS_PATH, REPORTS_PATH
from connectors.amazon.sandbox import create_app
from connectors.base import MappingError, RetryableError
from orderloop.config import ChannelConfig
from orderloop.returns_model import ReceivedUnits, ReturnCondition, ReturnReceipt
from tests.connectors.amazon.conftest import (
    FIXTURES,
    MARKETPLACE,
    ORDER,
    RECEIVED_AT,
    TENANT,
    make_channel,
    map_fixture,
    parcel,
    payload,
)
from tests.connectors.amazon.test_sandbox_api import token
from tests.connectors.contract.sandbox_session import SandboxSession, open_sandbox
from tests.onx.test_conformance import validate

ORDER_ID = "113-7012345-6789012"
RETURN_ID = "return/amazon/DCqTm2bRnRRMA"


def report_rows() -> list[returns.Row]:
    return returns.parse_report((FIXTURES / "returns_report.tsv").read_text())


def shipped_items() -> list[dict[str, Any]]:
    """The fixture order's items once every unit shipped, as getOrder answers them."""
    items: list[dict[str, Any]] = copy.deepcopy(payload("order_unshipped.json")["orderItems"])
    for item in items:
        item["fulfillment"] = {"quantityFulfilled": item["quantityOrdered"], "quantityUnfulfilled": 0}
    return items


def rma_payload(rma: str = "DCqTm2bRnRRMA", items: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return returns.return_payload(rma, returns.group_by_rma(report_rows())[rma], items or shipped_items())


def mapped(raw: dict[str, Any]) -> Any:
    return returns.map_return(
        raw,
        return_id=RETURN_ID,
        tenant_id=TENANT,
        channel_id="amazon",
        order_id=f"order/amazon/{ORDER_ID}",
        received_at=RECEIVED_AT,
    )


# --- the report and the mapping ---------------------------------------------------------------


def test_the_flat_file_parses_to_rows_keyed_by_amazons_column_names() -> None:
    rows = report_rows()

    assert len(rows) == 3
    assert set(returns.COLUMNS) <= set(rows[0])
    assert [(r[returns.RMA_ID], r[returns.SKU], r[returns.QUANTITY]) for r in rows] == [
        ("DCqTm2bRnRRMA", "TSHIRT-BLK-M", "1"),
        ("DCqTm2bRnRRMA", "MUG-11OZ", "1"),
        ("DzRejected0RRMA", "TSHIRT-BLK-M", "1"),
    ]
    assert returns.parse_report("") == []


def test_a_report_without_the_columns_the_mapping_needs_is_refused_with_them() -> None:
    with pytest.raises(MappingError, match="Amazon RMA ID, Merchant SKU"):
        returns.parse_report("Order ID\tReturn quantity\r\n113-1\t1\r\n")


def test_an_rma_maps_its_rows_to_the_orders_items_by_sku_and_is_onx_valid() -> None:
    request = mapped(rma_payload())

    assert request.external_id == "DCqTm2bRnRRMA" and request.external_order_id == ORDER_ID
    got = request.return_line_items
    lines = [(ln.order_line_item_id, ln.sku, ln.quantity_returned, ln.return_reason) for ln in got]
    assert lines == [
        ("40112345678901", "TSHIRT-BLK-M", 1, "cr-unwanted_item"),
        ("40112345678902", "MUG-11OZ", 1, "cr-damaged_by_carrier"),
    ]
    assert request.requested_at == request.created_at == datetime(2026, 11, 30, 8, 15, 40, tzinfo=UTC)
    assert request.updated_at == datetime(2026, 12, 3, 17, 20, tzinfo=UTC)
    assert request.return_number == "RMA-1001" and request.status == "Approved"
    assert [(label.carrier, label.tracking_number) for label in request.labels] == [("UPS", "1ZRET0000000000001")]
    assert {f.name: f.value for f in request.custom_fields}["resolution"] == "StandardRefund"
    # The order as the workflow holds it names the same line ids (Amazon's orderItemId).
    order = map_fixture(AmazonConnector(_offline_channel()), payload("order_unshipped.json"))
    assert {ln.order_line_item_id for ln in request.return_line_items} <= {ln.id for ln in order.line_items}
    validate(request.to_onx(), "return")


def test_units_of_a_sku_on_two_items_are_spread_by_what_each_shipped() -> None:
    items = shipped_items()
    second = copy.deepcopy(items[0])
    second["orderItemId"] = "40112345678903"
    items[0]["fulfillment"]["quantityFulfilled"] = 1
    raw = rma_payload(items=[items[0], second])
    raw["rows"] = [{**raw["rows"][0], returns.QUANTITY: "3"}]

    lines = mapped(raw).return_line_items

    assert [(ln.order_line_item_id, ln.quantity_returned) for ln in lines] == [
        ("40112345678901", 1),
        ("40112345678903", 2),
    ]


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda raw: raw.pop("orderItems"), "could not be read"),
        (lambda raw: raw["rows"][0].update({returns.SKU: "POSTER-A2"}), "POSTER-A2 is on no item"),
        (lambda raw: raw["rows"][0].update({returns.QUANTITY: "0"}), "positive whole number"),
        (lambda raw: raw["rows"][1].update({returns.ORDER_ID: "114-0000000-0000000"}), "names orders"),
        (lambda raw: raw.update({"rows": []}), "no row"),
        (lambda raw: raw.pop("amazonRmaId"), "amazonRmaId is missing"),
    ],
)
def test_an_rma_that_cannot_be_mapped_is_refused_with_the_reason(change: Any, reason: str) -> None:
    raw = rma_payload()
    change(raw)

    with pytest.raises(MappingError, match=reason):
        mapped(raw)


def test_a_rejected_request_is_not_a_return_to_receive_and_other_dates_are_read() -> None:
    rows = report_rows()

    assert [returns.returning(r) for r in rows] == [True, True, False]
    assert returns.report_time(rows[2][returns.REQUEST_DATE]) == datetime(2026, 12, 1, tzinfo=UTC)


def _offline_channel() -> ChannelConfig:
    return ChannelConfig.model_validate(
        {
            "id": "amazon",
            "type": "amazon",
            "role": "selling",
            "base_url": "http://amazon.sandbox",
            "settings": {"seller_id": "A2SANDBOXSELLER"},
        }
    )


# --- the sandbox's Reports API ----------------------------------------------------------------


async def shipped_order(session: SandboxSession, connector: AmazonConnector) -> Any:
    """An order placed and shipped whole at the sandbox, as the workflow holds it."""
    placed = await session.control("POST", "/_sandbox/orders", json=ORDER)
    order = connector.map_order(
        placed["order"], order_id=f"order/amazon/{placed['id']}", tenant_id=TENANT, received_at=RECEIVED_AT
    )
    await connector.push_shipment(order, parcel(order, "S1"))
    return order


def report_body(start: datetime, end: datetime | None = None) -> dict[str, Any]:
    return {
        "reportType": returns.FLAT_FILE_REPORT,
        "dataStartTime": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "dataEndTime": (end or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "marketplaceIds": [MARKETPLACE],
    }


async def test_a_report_is_queued_then_in_progress_then_done_with_a_gzip_document(
    session: SandboxSession, connector: AmazonConnector
) -> None:
    await session.configure(report_queue_seconds=0.3, report_processing_seconds=0.3)
    order = await shipped_order(session, connector)
    await session.control("POST", f"/_sandbox/orders/{order.external_id}/returns", json={})
    headers = await token(session)
    start = datetime.now(UTC) - timedelta(days=1)

    created = await session.http.post(REPORTS_PATH, json=report_body(start), headers=headers)
    report_id = created.json()["reportId"]
    statuses: list[str] = []
    while not statuses or statuses[-1] in ("IN_QUEUE", "IN_PROGRESS"):
        answer = (await session.http.get(f"{REPORTS_PATH}/{report_id}", headers=headers)).json()
        statuses.append(answer["processingStatus"])
        await asyncio.sleep(0.1)
    document = (await session.http.get(f"{DOCUMENTS_PATH}/{answer['reportDocumentId']}", headers=headers)).json()
    downloaded = await session.http.get(document["url"])

    assert created.status_code == 202 and created.headers["x-amzn-RateLimit-Limit"] == "0.0167"
    assert list(dict.fromkeys(statuses)) == ["IN_QUEUE", "IN_PROGRESS", "DONE"]
    assert answer["processingStartTime"] <= answer["processingEndTime"]
    assert document["compressionAlgorithm"] == "GZIP"
    rows = returns.parse_report(gzip.decompress(downloaded.content).decode())
    assert sorted((r[returns.SKU], r[returns.QUANTITY]) for r in rows) == [("MUG-11OZ", "1"), ("TSHIRT-BLK-M", "2")]
    assert {r[returns.ORDER_ID] for r in rows} == {order.external_id}


async def test_a_report_without_data_is_cancelled_and_a_bad_request_is_amazons_400(session: SandboxSession) -> None:
    await session.configure(report_queue_seconds=0, report_processing_seconds=0)
    headers = await token(session)
    start = datetime.now(UTC) - timedelta(days=1)

    empty = (await session.http.post(REPORTS_PATH, json=report_body(start), headers=headers)).json()
    status = (await session.http.get(f"{REPORTS_PATH}/{empty['reportId']}", headers=headers)).json()
    too_long = await session.http.post(REPORTS_PATH, json=report_body(start - timedelta(days=61)), headers=headers)
    other_type = await session.http.post(
        REPORTS_PATH, json={**report_body(start), "reportType": "GET_MERCHANT_LISTINGS_ALL_DATA"}, headers=headers
    )
    no_market = await session.http.post(
        REPORTS_PATH, json={**report_body(start), "marketplaceIds": []}, headers=headers
    )
    unknown = await session.http.get(f"{REPORTS_PATH}/999", headers=headers)

    assert status["processingStatus"] == "CANCELLED" and "reportDocumentId" not in status
    for refused in (too_long, other_type, no_market):
        assert refused.status_code == 400 and refused.json()["errors"][0]["code"] == "InvalidInput"
    assert unknown.status_code == 404


async def test_the_document_url_is_signed_and_takes_no_access_token(
    session: SandboxSession, connector: AmazonConnector
) -> None:
    await session.configure(report_queue_seconds=0, report_processing_seconds=0, compress_reports=False)
    order = await shipped_order(session, connector)
    await session.control("POST", f"/_sandbox/orders/{order.external_id}/returns", json={})
    headers = await token(session)
    report_id = (await session.http.post(REPORTS_PATH, json=report_body(an_hour_ago()), headers=headers)).json()
    done = (await session.http.get(f"{REPORTS_PATH}/{report_id['reportId']}", headers=headers)).json()
    document = (await session.http.get(f"{DOCUMENTS_PATH}/{done['reportDocumentId']}", headers=headers)).json()

    plain = await session.http.get(document["url"])
    forged = await session.http.get(document["url"].replace("X-Amz-Signature=", "X-Amz-Signature=0"))

    assert "compressionAlgorithm" not in document
    assert plain.status_code == 200 and plain.text.startswith("Order ID\t")
    assert forged.status_code == 403 and "<Code>SignatureDoesNotMatch</Code>" in forged.text


def an_hour_ago() -> datetime:
    return datetime.now(UTC) - timedelta(hours=1)


# --- the connector against the sandbox --------------------------------------------------------


async def test_poll_returns_reads_a_buyers_return_with_the_orders_items_in_exact_calls(
    session: SandboxSession, connector: AmazonConnector
) -> None:
    await session.configure(report_queue_seconds=0.2, report_processing_seconds=0.2)
    order = await shipped_order(session, connector)
    one_shirt = {"lines": [{"sku": "TSHIRT-BLK-M", "quantity": 1}]}
    await session.control("POST", f"/_sandbox/orders/{order.external_id}/returns", json=one_shirt)
    connector.settings = connector.settings.model_copy(update={"report_poll_interval": 0.1})
    mark = len(await session.control("GET", "/_sandbox/requests"))

    [polled] = await connector.poll_returns(an_hour_ago())

    request = connector.map_return(
        polled.payload, return_id=f"return/amazon/{polled.external_id}", tenant_id=TENANT, order_id=order.id,
        received_at=RECEIVED_AT,
    )  # fmt: skip
    assert polled.external_order_id == order.external_id == connector.return_order_id(polled.payload)
    first = order.line_items[0]
    assert [(ln.order_line_item_id, ln.sku, ln.quantity_returned) for ln in request.return_line_items] == [
        (first.id, "TSHIRT-BLK-M", 1)
    ]
    calls = [(c["method"], c["path"]) for c in (await session.control("GET", "/_sandbox/requests"))[mark:]]
    api = [c for c in calls if c[1] != "/auth/o2/token"]
    assert api.count(("POST", REPORTS_PATH)) == 1
    assert sum(1 for m, p in api if m == "GET" and p.startswith(REPORTS_PATH + "/")) >= 2
    assert sum(1 for m, p in api if p.startswith(DOCUMENTS_PATH)) == 1
    assert sum(1 for m, p in api if p.startswith("/sandbox-report-documents/")) == 1
    assert api.count(("GET", f"/orders/2026-01-01/orders/{order.external_id}")) == 1


async def test_a_report_still_processing_is_retryable_and_the_retry_reads_the_same_report(
    session: SandboxSession, connector: AmazonConnector
) -> None:
    await session.configure(report_queue_seconds=0.6, report_processing_seconds=0)
    order = await shipped_order(session, connector)
    await session.control("POST", f"/_sandbox/orders/{order.external_id}/returns", json={})
    connector.settings = connector.settings.model_copy(update={"report_wait": 0, "report_poll_interval": 0.1})
    since = an_hour_ago()

    with pytest.raises(RetryableError, match="still IN_QUEUE") as slow:
        await connector.poll_returns(since)
    await asyncio.sleep(0.7)
    polled = await connector.poll_returns(since)

    assert slow.value.retry_after == 1.0
    assert [p.external_order_id for p in polled] == [order.external_id]
    assert len(await session.control("GET", "/_sandbox/reports")) == 1


async def test_a_fatal_report_is_retryable_and_a_cancelled_one_is_no_returns(
    session: SandboxSession, connector: AmazonConnector
) -> None:
    await session.configure(report_queue_seconds=0, report_processing_seconds=0)

    assert await connector.poll_returns(an_hour_ago()) == []
    await session.configure(fatal_reports=True)
    with pytest.raises(RetryableError, match="FATAL"):
        await connector.poll_returns(an_hour_ago())


async def test_received_tells_amazon_nothing_and_answers_none(
    session: SandboxSession, connector: AmazonConnector
) -> None:
    request = mapped(rma_payload())
    receipt = ReturnReceipt(
        return_id=RETURN_ID, lines=[ReceivedUnits(sku="TSHIRT-BLK-M", quantity=1, condition=ReturnCondition.SELLABLE)]
    )
    mark = len(await session.control("GET", "/_sandbox/requests"))

    assert await connector.push_return_received(request, receipt) is None
    assert await connector.push_return_received(request, receipt) is None
    assert (await session.control("GET", "/_sandbox/requests"))[mark:] == []


async def test_a_buyer_returns_no_more_than_shipped(monkeypatch: pytest.MonkeyPatch) -> None:
    channel = make_channel(monkeypatch)
    async with open_sandbox(channel, create_app) as session:
        connector = AmazonConnector(channel, http=session.http)
        placed = await session.control("POST", "/_sandbox/orders", json=ORDER)
        unshipped = await session.http.post(f"/_sandbox/orders/{placed['id']}/returns", json={})
        order = await shipped_order(session, connector)
        lines = {"lines": [{"sku": "MUG-11OZ", "quantity": 1}]}
        first = await session.http.post(f"/_sandbox/orders/{order.external_id}/returns", json=lines)
        again = await session.http.post(f"/_sandbox/orders/{order.external_id}/returns", json=lines)
        await connector.aclose()

    assert unshipped.status_code == 409
    assert first.status_code == 201 and first.json()["amazonRmaId"].endswith("RRMA")
    assert again.status_code == 409 and "0 shipped and not returned" in again.text
