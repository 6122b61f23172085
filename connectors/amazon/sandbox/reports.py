"""The Reports API 2021-06-30 of the emulated seller, for its returns: `createReport`,
`getReport` (a report passes IN_QUEUE, then IN_PROGRESS, then ends DONE with its document, or
CANCELLED when it has no rows, as Amazon cancels a report with no data), `getReportDocument`
(a pre-signed URL valid 5 minutes, `compressionAlgorithm` GZIP unless the knob
`compress_reports` is off), and the document itself at that URL, which takes no access token and
refuses a wrong signature or an expired URL as S3 does (403 with an XML `Error`).

Report types served: `GET_FLAT_FILE_RETURNS_DATA_BY_RETURN_DATE` (the tab-delimited document of
`connectors.amazon.returns`, rows whose return request date is in the report's data range); any
other type answers 400 InvalidInput (not emulated). A range beyond Amazon's documented 60 days
answers 400 InvalidInput (the limit is documented, Amazon's answer to a longer one is not: an
assumption).

The buyer's side is a control: `return_units` opens a return (one Amazon RMA ID) of shipped
units of an order, its rows as the report lists them.
"""

from __future__ import annotations

import gzip
import hashlib
import hmac
import itertools
import secrets
import string
import time
import uuid
from datetime import timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from fastapi import Request, Response

from connectors.amazon import returns
from connectors.amazon.client import ProcessingStatus
from connectors.amazon.sandbox.seller import amazon_error, invalid_input, iso, now
from connectors.json_values import integer, text, utc_time
from connectors.sandbox_kit import SandboxError

if TYPE_CHECKING:
    from connectors.amazon.sandbox.orders import AmazonSandbox

Row = dict[str, Any]

DOCUMENT_PATH = "/sandbox-report-documents"
URL_TTL_SECONDS = 300
SERVED_TYPES = frozenset({returns.FLAT_FILE_REPORT})
# Amazon's documented reason codes of MFN returns (a few of them).
RETURN_REASONS = frozenset(
    {"CR-UNWANTED_ITEM", "CR-DEFECTIVE", "CR-DAMAGED_BY_CARRIER", "CR-ORDERED_WRONG_ITEM", "CR-SWITCHEROO"}
)


class ReportsDesk:
    """The seller's reports and buyers' returns; the sandbox app serves it."""

    def __init__(self, shop: AmazonSandbox) -> None:
        self.shop = shop
        self.reports: dict[str, Row] = {}
        self.documents: dict[str, bytes] = {}
        # Amazon RMA id -> the return's report rows (one per SKU).
        self.returns: dict[str, list[Row]] = {}
        self._report_numbers = itertools.count(50_039_018_001)
        self._signing_key = secrets.token_bytes(32)

    # --- Reports API ---

    def create_report(self, request: Request, body: Any) -> Response:
        """CreateReportSpecification {reportType, marketplaceIds[1-25], dataStartTime?,
        dataEndTime?, reportOptions?}: 202 {"reportId"}"""
        if not isinstance(body, dict):
            raise invalid_input("The request body must be a CreateReportSpecification object.")
        report_type = text(body.get("reportType"))
        if report_type is None:
            raise invalid_input("reportType is required.")
        if report_type not in SERVED_TYPES:
            raise invalid_input(f"Report type {report_type} is not supported (sandbox: not emulated).")
        marketplaces = body.get("marketplaceIds")
        if not isinstance(marketplaces, list) or not 1 <= len(marketplaces) <= 25:
            raise invalid_input("marketplaceIds must list 1 to 25 marketplace identifiers.")
        if self.shop.settings.marketplace_id not in marketplaces:
            raise invalid_input(f"marketplaceIds {marketplaces} do not include the seller's marketplace.")
        at = now()
        start = self._time(body, "dataStartTime", at)
        end = self._time(body, "dataEndTime", at)
        if start > at or end > at:
            raise invalid_input("dataStartTime and dataEndTime must be prior to or equal to the current date and time.")
        if start > end:
            raise invalid_input("dataStartTime must be before dataEndTime.")
        if end - start > timedelta(days=returns.REPORT_MAX_DAYS):
            raise invalid_input(f"The report's data range may not exceed {returns.REPORT_MAX_DAYS} days.")
        report_id = str(next(self._report_numbers))
        rows = [
            row
            for rows in self.returns.values()
            for row in rows
            if start <= (utc_time(row[returns.REQUEST_DATE]) or at) <= end
        ]
        self.reports[report_id] = {
            "reportId": report_id,
            "reportType": report_type,
            "dataStartTime": iso(start),
            "dataEndTime": iso(end),
            "marketplaceIds": [str(m) for m in marketplaces],
            "createdTime": iso(at),
            "_created": time.monotonic(),
            "_rows": rows,
            "_fatal": self.shop.knobs.value.fatal_reports,
        }
        return self.shop.reply(request, {"reportId": report_id}, status=202)

    def get_report(self, request: Request, report_id: str) -> Response:
        """The report: processingStatus IN_QUEUE, IN_PROGRESS, then DONE (reportDocumentId),
        CANCELLED (no data) or FATAL"""
        return self.shop.reply(request, self.view(self._report(report_id)))

    def view(self, report: Row) -> Row:
        knobs = self.shop.knobs.value
        elapsed = time.monotonic() - report["_created"]
        shown = {k: v for k, v in report.items() if not k.startswith("_")}
        created = utc_time(report["createdTime"])
        assert created is not None
        if elapsed < knobs.report_queue_seconds:
            return {**shown, "processingStatus": ProcessingStatus.IN_QUEUE.value}
        started = iso(created + timedelta(seconds=knobs.report_queue_seconds))
        if elapsed < knobs.report_queue_seconds + knobs.report_processing_seconds:
            return {**shown, "processingStatus": ProcessingStatus.IN_PROGRESS.value, "processingStartTime": started}
        ended = iso(created + timedelta(seconds=knobs.report_queue_seconds + knobs.report_processing_seconds))
        shown = {**shown, "processingStartTime": started, "processingEndTime": ended}
        if report["_fatal"]:
            return {**shown, "processingStatus": ProcessingStatus.FATAL.value}
        if not report["_rows"]:
            return {**shown, "processingStatus": ProcessingStatus.CANCELLED.value}
        document_id = report.get("_document")
        if document_id is None:
            document_id = f"amzn1.spdoc.1.4.na.{uuid.uuid4()}"
            data = returns.write_report(report["_rows"]).encode("utf-8")
            self.documents[document_id] = gzip.compress(data) if knobs.compress_reports else data
            report["_document"] = document_id
            report["_compressed"] = knobs.compress_reports
        return {**shown, "processingStatus": ProcessingStatus.DONE.value, "reportDocumentId": document_id}

    def get_report_document(self, request: Request, document_id: str) -> Response:
        """{reportDocumentId, url (pre-signed, 5 minutes), compressionAlgorithm?}"""
        report = next((r for r in self.reports.values() if r.get("_document") == document_id), None)
        if report is None:
            raise amazon_error(404, "NotFound", f"Report document {document_id} not found.")
        expires = int(time.time()) + URL_TTL_SECONDS
        signature = self._sign(document_id, expires)
        query = urlencode({"X-Amz-Expires": URL_TTL_SECONDS, "X-Amz-Date": expires, "X-Amz-Signature": signature})
        base = str(request.base_url).rstrip("/")
        body: Row = {"reportDocumentId": document_id, "url": f"{base}{DOCUMENT_PATH}/{document_id}?{query}"}
        if report["_compressed"]:
            body["compressionAlgorithm"] = "GZIP"
        return self.shop.reply(request, body)

    def download(self, request: Request, document_id: str) -> Response:
        """The document's bytes at its pre-signed URL (no access token; 403 as S3 answers a wrong
        signature or an expired URL)"""
        query = request.query_params
        expires = integer(query.get("X-Amz-Date"))
        signature = query.get("X-Amz-Signature", "")
        if document_id not in self.documents or expires is None:
            return _s3_error(404 if document_id not in self.documents else 403, "NoSuchKey", "Not found.")
        if not hmac.compare_digest(signature, self._sign(document_id, expires)):
            return _s3_error(403, "SignatureDoesNotMatch", "The request signature we calculated does not match.")
        if time.time() > expires:
            return _s3_error(403, "AccessDenied", "Request has expired")
        return Response(self.documents[document_id], media_type="text/plain", headers={"Content-Type": "text/plain"})

    def _sign(self, document_id: str, expires: int) -> str:
        return hmac.new(self._signing_key, f"{document_id}\n{expires}".encode(), hashlib.sha256).hexdigest()

    def _report(self, report_id: str) -> Row:
        report = self.reports.get(report_id)
        if report is None:
            raise amazon_error(404, "NotFound", f"Report {report_id} not found.")
        return report

    @staticmethod
    def _time(body: Row, name: str, default: Any) -> Any:
        if body.get(name) is None:
            return default
        at = utc_time(body.get(name))
        if at is None:
            raise invalid_input(f"{name} must be an ISO 8601 date-time.")
        return at

    # --- the buyer's side ---

    def return_units(self, order_id: str, spec: Any) -> Row:
        """A buyer returns shipped units: `{"lines": [{"sku", "quantity", "reason"?}], "status"?}`
        (default: every shipped unit not returned yet); one Amazon RMA ID, a report row per SKU."""
        order = self.shop.orders.find(order_id)
        spec = spec if isinstance(spec, dict) else {}
        returnable = self._returnable(order)
        lines = spec.get("lines")
        if lines is None:
            lines = [{"sku": sku, "quantity": q} for sku, q in returnable.items() if q > 0]
        if not isinstance(lines, list) or not lines:
            raise SandboxError(409, f"order {order_id} has no shipped unit left to return")
        rma = "D" + "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(9)) + "RRMA"
        at = iso(now())
        status = str(spec.get("status") or "Approved")
        currency = order["proceeds"]["grandTotal"]["currencyCode"]
        rows = []
        for n, line in enumerate(lines):
            sku = text(line.get("sku")) if isinstance(line, dict) else None
            quantity = integer(line.get("quantity", 1)) if isinstance(line, dict) else None
            if sku is None or quantity is None or quantity <= 0:
                raise SandboxError(422, f"lines[{n}]: a sku and a positive quantity are required")
            if quantity > returnable.get(sku, 0):
                raise SandboxError(
                    409, f"lines[{n}]: {quantity} of {sku} to return, {returnable.get(sku, 0)} shipped and not returned"
                )
            returnable[sku] -= quantity
            reason = str(line.get("reason") or "CR-UNWANTED_ITEM")
            if reason not in RETURN_REASONS:
                raise SandboxError(422, f"lines[{n}]: reason must be one of {', '.join(sorted(RETURN_REASONS))}")
            item = next(i for i in order["orderItems"] if i["product"]["sellerSku"] == sku)
            rows.append(
                {
                    returns.ORDER_ID: order_id,
                    returns.ORDER_DATE: order["createdTime"],
                    returns.REQUEST_DATE: at,
                    returns.REQUEST_STATUS: status,
                    returns.RMA_ID: rma,
                    returns.LABEL_TYPE: "AmazonUnPaidLabel",
                    returns.LABEL_COST: "0.00",
                    returns.CURRENCY: currency,
                    returns.CARRIER: "UPS",
                    returns.TRACKING_ID: "1ZRETURN" + rma[1:9].upper(),
                    returns.LABEL_PAID_BY: "Customer",
                    returns.A_TO_Z: "N",
                    returns.IS_PRIME: "N",
                    returns.ASIN: item["product"]["asin"],
                    returns.SKU: sku,
                    returns.ITEM_NAME: item["product"]["title"],
                    returns.QUANTITY: str(quantity),
                    returns.REASON: reason,
                    returns.IN_POLICY: "Y",
                    returns.RETURN_TYPE: "C-Returns",
                    returns.RESOLUTION: "StandardRefund",
                    returns.ORDER_AMOUNT: order["proceeds"]["grandTotal"]["amount"],
                    returns.ORDER_QUANTITY: str(sum(i["quantityOrdered"] for i in order["orderItems"])),
                    returns.REFUNDED_AMOUNT: "0.00",
                }
            )
        self.returns[rma] = rows
        return {"amazonRmaId": rma, "orderId": order_id, "rows": rows}

    def _returnable(self, order: Row) -> dict[str, int]:
        """SKU -> units shipped and not in a return yet."""
        left: dict[str, int] = {}
        for item in order["orderItems"]:
            sku = item["product"]["sellerSku"]
            left[sku] = left.get(sku, 0) + int(item["fulfillment"]["quantityFulfilled"])
        for rows in self.returns.values():
            for row in rows:
                if row[returns.ORDER_ID] == order["orderId"] and returns.returning(row):
                    left[row[returns.SKU]] = left.get(row[returns.SKU], 0) - int(row[returns.QUANTITY])
        return left

    def listing(self) -> list[Row]:
        return [{"amazonRmaId": rma, "rows": rows} for rma, rows in self.returns.items()]

    def report_listing(self) -> list[Row]:
        return [self.view(r) for r in self.reports.values()]


def _s3_error(status: int, code: str, message: str) -> Response:
    body = f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{message}</Message></Error>'
    return Response(body, status_code=status, media_type="application/xml")
