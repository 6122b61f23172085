"""Orders (Orders API v2026-01-01 reads, v0's confirmShipment) and listings (Listings Items API)
of the emulated seller, and the controls that place, authorise and cancel orders, each sending
the ORDER_CHANGE Amazon sends."""

from __future__ import annotations

import copy
import hashlib
import itertools
import uuid
from datetime import datetime, timedelta
from typing import Any

from fastapi import Request, Response

from connectors.amazon.mapping import INCLUDED_DATA, FulfillmentStatus, IncludedData
from connectors.amazon.notifications import OrderChangeType, SummaryStatus
from connectors.amazon.sandbox.reports import ReportsDesk
from connectors.amazon.sandbox.seller import (
    SEED_LISTINGS,
    SellerState,
    amazon_error,
    invalid_input,
    iso,
    now,
)
from connectors.base import SandboxOptions
from connectors.json_values import integer, text, utc_time
from connectors.sandbox_kit import ResourceStore, SandboxError, cursor_state, cursor_token

Row = dict[str, Any]

# CarrierCode values confirmShipment accepts (a subset of Amazon's carrier-code table).
CARRIER_CODES = frozenset(
    {
        "UPS", "USPS", "FedEx", "DHL", "DHL eCommerce", "OnTrac", "LaserShip", "Amazon Shipping", "Canada Post",
        "Royal Mail", "DPD", "GLS", "Other",
    }
)  # fmt: skip
_V0_STATUS = {
    FulfillmentStatus.PENDING: SummaryStatus.PENDING,
    FulfillmentStatus.PENDING_AVAILABILITY: SummaryStatus.PENDING_AVAILABILITY,
    FulfillmentStatus.UNSHIPPED: SummaryStatus.UNSHIPPED,
    FulfillmentStatus.PARTIALLY_SHIPPED: SummaryStatus.PARTIALLY_SHIPPED,
    FulfillmentStatus.SHIPPED: SummaryStatus.SHIPPED,
    FulfillmentStatus.CANCELLED: SummaryStatus.CANCELED,
    FulfillmentStatus.UNFULFILLABLE: SummaryStatus.UNFULFILLABLE,
}
_SEARCH_PARAMS = frozenset(
    {
        "createdAfter", "createdBefore", "lastUpdatedAfter", "lastUpdatedBefore", "fulfillmentStatuses",
        "marketplaceIds", "fulfilledBy", "maxResultsPerPage", "paginationToken", "includedData",
    }
)  # fmt: skip


def _not_found(order_id: Any) -> Exception:
    return amazon_error(404, "NotFound", f"Order {order_id} not found.")


class AmazonSandbox(SellerState):
    """The seller's orders and listings; `create_app` serves it."""

    def __init__(self, options: SandboxOptions) -> None:
        super().__init__(options)
        self._numbers = itertools.count(1)
        self._item_ids = itertools.count(40_000_000_000_001)
        self.orders: ResourceStore[Row] = ResourceStore(id_of=lambda o: o["orderId"], missing=_not_found)
        # Order id -> packageReferenceId -> the package as confirmShipment recorded it.
        self.packages: dict[str, dict[str, Row]] = {}
        self.listings: dict[str, Row] = {}
        self.listing_log: list[Row] = []
        self.desk = ReportsDesk(self)
        if self.knobs.value.seed_listings:
            for sku in SEED_LISTINGS:
                self.add_listing({"sku": sku, "quantity": 0})

    # --- Orders API v2026-01-01 ---

    def search_orders(self, request: Request) -> Response:
        """?createdAfter|lastUpdatedAfter (exactly one), ...Before, fulfillmentStatuses, fulfilledBy,
        marketplaceIds, maxResultsPerPage (1-100), paginationToken, includedData"""
        query = request.query_params
        unknown = sorted(set(query) - _SEARCH_PARAMS)
        if unknown:
            raise invalid_input(f"Unknown query parameters: {', '.join(unknown)}")
        if ("createdAfter" in query) == ("lastUpdatedAfter" in query):
            raise invalid_input("Exactly one of createdAfter and lastUpdatedAfter must be provided.")
        by_update = "lastUpdatedAfter" in query
        time_key = "lastUpdatedTime" if by_update else "createdTime"
        after = _time(query, "lastUpdatedAfter" if by_update else "createdAfter")
        before_name = "lastUpdatedBefore" if by_update else "createdBefore"
        before = _time(query, before_name) if before_name in query else None
        if before is not None and before > now() - timedelta(minutes=2):
            raise invalid_input(f"{before_name} must be at least two minutes before the time of the request.")
        size = integer(query.get("maxResultsPerPage", "100"))
        if size is None or not 1 <= size <= 100:
            raise invalid_input("maxResultsPerPage must be between 1 and 100.")
        size = min(size, self.knobs.value.max_page_size)
        statuses = _csv(query.get("fulfillmentStatuses"), {s.value for s in FulfillmentStatus}, "fulfillmentStatuses")
        fulfilled_by = _csv(query.get("fulfilledBy"), {"MERCHANT", "AMAZON"}, "fulfilledBy")
        marketplaces = _csv(query.get("marketplaceIds"), None, "marketplaceIds")
        included = _included(query.get("includedData"))
        # The token carries the filters it was made for (Amazon: the same values, except page size).
        filters = {
            k: v for k, v in sorted(query.items()) if k not in ("paginationToken", "maxResultsPerPage", "includedData")
        }
        fingerprint = hashlib.sha256(repr(filters).encode()).hexdigest()[:16]
        offset = 0
        if "paginationToken" in query:
            state = cursor_state(query["paginationToken"], lambda: invalid_input("Invalid paginationToken."))
            if state.get("f") != fingerprint or not isinstance(state.get("o"), int):
                raise invalid_input("Invalid paginationToken: the filters differ from the first request's.")
            offset = state["o"]
        rows = [
            o
            for o in self.orders.values()
            if utc_time(o[time_key]) >= after  # type: ignore[operator]
            and (before is None or utc_time(o[time_key]) <= before)  # type: ignore[operator]
            and (not statuses or o["fulfillment"]["fulfillmentStatus"] in statuses)
            and (not fulfilled_by or o["fulfillment"]["fulfilledBy"] in fulfilled_by)
            and (not marketplaces or o["salesChannel"]["marketplaceId"] in marketplaces)
        ]
        rows.sort(key=lambda o: (o[time_key], o["orderId"]))
        page = rows[offset : offset + size]
        body: Row = {"orders": [self.view(o, included) for o in page]}
        if offset + size < len(rows):
            body["pagination"] = {"nextToken": cursor_token({"f": fingerprint, "o": offset + size})}
        if by_update:
            body["lastUpdatedBefore"] = iso(before or now())
        else:
            body["createdBefore"] = iso(before or now())
        return self.reply(request, body)

    def get_order(self, request: Request, order_id: str) -> Response:
        """?includedData=: one order"""
        order = self.orders.find(order_id)
        return self.reply(request, {"order": self.view(order, _included(request.query_params.get("includedData")))})

    def view(self, order: Row, included: frozenset[str]) -> Row:
        """The order with the datasets asked for; Pending orders carry no address and no prices."""
        pending = order["fulfillment"]["fulfillmentStatus"] in (
            FulfillmentStatus.PENDING,
            FulfillmentStatus.PENDING_AVAILABILITY,
        )
        shown = {k: copy.deepcopy(v) for k, v in order.items() if k not in _DATASETS.values()}
        for dataset, key in _DATASETS.items():
            if dataset in included and key in order and not (pending and key in ("recipient", "proceeds")):
                shown[key] = copy.deepcopy(order[key])
        items = []
        for item in order["orderItems"]:
            kept = {
                k: copy.deepcopy(v) for k, v in item.items() if k not in ("proceeds", "fulfillment", "cancellation")
            }
            if pending:
                kept["product"].pop("price", None)
            for dataset, key in (
                (IncludedData.PROCEEDS, "proceeds"),
                (IncludedData.FULFILLMENT, "fulfillment"),
                (IncludedData.CANCELLATION, "cancellation"),
            ):
                if dataset in included and key in item and not (pending and key == "proceeds"):
                    kept[key] = copy.deepcopy(item[key])
            items.append(kept)
        shown["orderItems"] = items
        if "PACKAGES" in included:
            shown["packages"] = [self._package_view(p) for p in self.packages.get(order["orderId"], {}).values()]
        return shown

    # --- Orders API v0: confirmShipment ---

    def confirm_shipment(self, request: Request, order_id: str, body: Any) -> Response:
        """ConfirmShipmentRequest {marketplaceId, packageDetail{packageReferenceId, carrierCode,
        carrierName?, trackingNumber, shipDate, orderItems[{orderItemId, quantity}]}}: 204"""
        order = self.orders.find(order_id)
        detail = _confirm_detail(body, self.settings.marketplace_id)
        if self.knobs.value.reject_confirmations:
            raise invalid_input("Shipment confirmation refused (sandbox knob reject_confirmations).")
        status = order["fulfillment"]["fulfillmentStatus"]
        if status == FulfillmentStatus.CANCELLED:
            raise invalid_input(f"Order {order_id} has been canceled and cannot be confirmed.")
        if status in (FulfillmentStatus.PENDING, FulfillmentStatus.PENDING_AVAILABILITY):
            raise invalid_input(f"Order {order_id} is {status} and cannot be confirmed yet.")
        packages = self.packages.setdefault(order_id, {})
        reference = detail["packageReferenceId"]
        others = {ref: p for ref, p in packages.items() if ref != reference}
        items = {item["orderItemId"]: item for item in order["orderItems"]}
        for line in detail["orderItems"]:
            item = items.get(line["orderItemId"])
            if item is None:
                raise invalid_input(f"orderItemId {line['orderItemId']} is not an item of order {order_id}.")
            elsewhere = sum(
                q["quantity"]
                for p in others.values()
                for q in p["orderItems"]
                if q["orderItemId"] == line["orderItemId"]
            )
            if elsewhere + line["quantity"] > item["quantityOrdered"]:
                raise invalid_input(
                    f"Quantity {line['quantity']} of orderItemId {line['orderItemId']} exceeds the "
                    f"{item['quantityOrdered'] - elsewhere} unshipped."
                )
        # A known packageReferenceId edits that package's details (Amazon: confirmShipment edits).
        packages[reference] = {
            **detail,
            "confirmedAt": iso(now()),
            "edits": packages.get(reference, {}).get("edits", -1) + 1,
        }
        self._apply_packages(order)
        return Response(status_code=204, headers=self.api_headers(request))

    def _apply_packages(self, order: Row) -> None:
        packages = self.packages.get(order["orderId"], {}).values()
        shipped_total = 0
        for item in order["orderItems"]:
            shipped = sum(
                q["quantity"] for p in packages for q in p["orderItems"] if q["orderItemId"] == item["orderItemId"]
            )
            item["fulfillment"]["quantityFulfilled"] = shipped
            item["fulfillment"]["quantityUnfulfilled"] = item["quantityOrdered"] - shipped
            shipped_total += shipped
        ordered = sum(item["quantityOrdered"] for item in order["orderItems"])
        status = FulfillmentStatus.SHIPPED if shipped_total >= ordered else FulfillmentStatus.PARTIALLY_SHIPPED
        self._set_status(order, status, OrderChangeType.ORDER_STATUS_CHANGE, "Shipment confirmed")

    def _package_view(self, package: Row) -> Row:
        return {
            "packageReferenceId": package["packageReferenceId"],
            "createdTime": package["confirmedAt"],
            "packageStatus": {"status": "SHIPPED"},
            "carrier": package.get("carrierName") or package["carrierCode"],
            "shipTime": package["shipDate"],
            "shippingService": package.get("shippingMethod"),
            "trackingNumber": package["trackingNumber"],
            "packageItems": [
                {"orderItemId": q["orderItemId"], "quantity": q["quantity"]} for q in package["orderItems"]
            ],
        }

    # --- Listings Items API ---

    def patch_listing(self, request: Request, seller_id: str, sku: str, body: Any) -> Response:
        """?marketplaceIds=&mode=VALIDATION_PREVIEW: {productType, patches[{op, path, value}]}"""
        self._listing_path(request, seller_id)
        listing = self.listings.get(sku)
        if listing is None:
            raise amazon_error(
                404, "NOT_FOUND", f"Requested item '{sku}' not found in marketplace {self.settings.marketplace_id}."
            )
        if (
            not isinstance(body, dict)
            or not text(body.get("productType"))
            or not isinstance(body.get("patches"), list)
            or not body["patches"]
        ):
            raise invalid_input("productType and patches are required.")
        changed = copy.deepcopy(listing["attributes"])
        for n, patch in enumerate(body["patches"]):
            _apply_patch(changed, patch, n)
        preview = request.query_params.get("mode") == "VALIDATION_PREVIEW"
        if not preview:
            listing["attributes"] = changed
            listing["productType"] = body["productType"]
            self.listing_log.append({"sku": sku, "attributes": copy.deepcopy(changed), "at": iso(now())})
        status = "VALID" if preview else "ACCEPTED"
        return self.reply(request, {"sku": sku, "status": status, "submissionId": uuid.uuid4().hex, "issues": []})

    def get_listing(self, request: Request, seller_id: str, sku: str) -> Response:
        """?marketplaceIds=&includedData=summaries,attributes: one listing"""
        self._listing_path(request, seller_id)
        listing = self.listings.get(sku)
        if listing is None:
            raise amazon_error(
                404, "NOT_FOUND", f"SKU '{sku}' not found in marketplace {self.settings.marketplace_id}."
            )
        summary = {
            "marketplaceId": self.settings.marketplace_id,
            "productType": listing["productType"],
            "status": ["BUYABLE"],
        }
        return self.reply(
            request, {"sku": sku, "summaries": [summary], "attributes": copy.deepcopy(listing["attributes"])}
        )

    def _listing_path(self, request: Request, seller_id: str) -> None:
        if seller_id != self.settings.seller_id:
            raise amazon_error(
                403,
                "Unauthorized",
                "Access to requested resource is denied.",
                f"sellerId {seller_id} is not this selling partner.",
            )
        if self.settings.marketplace_id not in _csv(request.query_params.get("marketplaceIds"), None, "marketplaceIds"):
            raise invalid_input("marketplaceIds must include the listing's marketplace.")

    def add_listing(self, spec: Any) -> Row:
        if not isinstance(spec, dict) or not text(spec.get("sku")):
            raise SandboxError(422, "a listing needs a sku")
        quantity = integer(spec.get("quantity", 0)) or 0
        availability = {"fulfillment_channel_code": "DEFAULT", "quantity": quantity, "lead_time_to_ship_max_days": 2}
        if spec.get("restock_date"):
            availability["restock_date"] = str(spec["restock_date"])
        listing: Row = {
            "sku": str(spec["sku"]),
            "productType": str(spec.get("productType") or "PRODUCT"),
            "attributes": {"fulfillment_availability": [availability]},
        }
        self.listings[listing["sku"]] = listing
        return listing

    def quantities(self) -> dict[str, int]:
        """The merchant (DEFAULT) quantity of every listing."""
        found = {}
        for sku, listing in self.listings.items():
            for entry in listing["attributes"].get("fulfillment_availability", []):
                if entry.get("fulfillment_channel_code") == "DEFAULT" and "quantity" in entry:
                    found[sku] = int(entry["quantity"])
        return found

    # --- controls ---

    def place(self, spec: Any, *, pending: bool = False, duplicate: bool = False) -> Row:
        """An order from an onX-ish body (`lineItems`, `shippingAddress`, `customer`, ...)."""
        if not isinstance(spec, dict):
            raise SandboxError(422, "the order must be a JSON object")
        lines = spec.get("lineItems") or spec.get("line_items")
        if not isinstance(lines, list) or not lines:
            raise SandboxError(422, "lineItems: at least one {sku, quantity} is required")
        at = now()
        number = next(self._numbers)
        # Amazon's 3-7-7 order id.
        tail = int(hashlib.sha256(str(number).encode()).hexdigest(), 16) % 10_000_000
        order_id = f"11{number % 4 + 1}-{7_300_000 + number:07d}-{tail:07d}"
        currency = str(spec.get("currency") or "USD")
        items = [self._item(line, n, currency) for n, line in enumerate(lines)]
        address = spec.get("shippingAddress") or spec.get("shipping_address") or {}
        customer = spec.get("customer") or {}
        express = str(spec.get("shippingCode") or "").lower() in ("express", "expedited", "next_day")
        total = sum(float(i["product"]["price"]["unitPrice"]["amount"]) * i["quantityOrdered"] for i in items)
        order: Row = {
            "orderId": order_id,
            "orderAliases": [{"aliasId": str(spec["externalId"]), "aliasType": "SELLER_ORDER_ID"}]
            if spec.get("externalId")
            else [],
            "createdTime": iso(at),
            "lastUpdatedTime": iso(at),
            "programs": [],
            "salesChannel": {
                "channelName": "AMAZON",
                "marketplaceId": self.settings.marketplace_id,
                "marketplaceName": "Amazon.com",
            },
            "buyer": {
                "buyerName": " ".join(p for p in (customer.get("firstName"), customer.get("lastName")) if p) or None,
                "buyerEmail": f"{uuid.uuid4().hex[:16]}@marketplace.amazon.com",
            },
            "recipient": {"deliveryAddress": _delivery_address(address)},
            "proceeds": {"grandTotal": {"amount": f"{total:.2f}", "currencyCode": currency}},
            "fulfillment": {
                "fulfillmentStatus": FulfillmentStatus.PENDING
                if pending or self.knobs.value.pending_seconds > 0
                else FulfillmentStatus.UNSHIPPED,
                "fulfilledBy": "MERCHANT",
                "fulfillmentServiceLevel": "EXPEDITED" if express else "STANDARD",
                "shipByWindow": {
                    "earliestDateTime": iso(at),
                    "latestDateTime": iso(at + timedelta(hours=self.knobs.value.ship_by_hours)),
                },
            },
            "orderItems": items,
        }
        self.orders.add(order)
        self._notify(order, OrderChangeType.ORDER_STATUS_CHANGE, "Order placed", duplicate=duplicate)
        if order["fulfillment"]["fulfillmentStatus"] == FulfillmentStatus.PENDING and not pending:
            self.timers.schedule(order_id, self.knobs.value.pending_seconds, lambda: self.authorize(order_id))
        return {"id": order_id, "order": self.view(order, frozenset(INCLUDED_DATA) | {"PACKAGES"})}

    def _item(self, line: Any, n: int, currency: str) -> Row:
        if not isinstance(line, dict) or not text(line.get("sku")):
            raise SandboxError(422, f"lineItems[{n}]: sku is required")
        quantity = integer(line.get("quantity", 1))
        if quantity is None or quantity <= 0:
            raise SandboxError(422, f"lineItems[{n}]: quantity must be a positive whole number")
        price = float(line.get("unitPrice") or line.get("price") or 19.0)
        return {
            "orderItemId": str(next(self._item_ids)),
            "quantityOrdered": quantity,
            "programs": [],
            "product": {
                "asin": "B0" + hashlib.sha256(str(line["sku"]).encode()).hexdigest()[:8].upper(),
                "title": str(line.get("name") or line["sku"]),
                "sellerSku": str(line["sku"]),
                "condition": {"conditionType": "NEW", "conditionSubtype": "NEW"},
                "price": {"unitPrice": {"amount": f"{price:.2f}", "currencyCode": currency}},
            },
            "proceeds": {"proceedsTotal": {"amount": f"{price * quantity:.2f}", "currencyCode": currency}},
            "fulfillment": {"quantityFulfilled": 0, "quantityUnfulfilled": quantity},
        }

    def authorize(self, order_id: str) -> Row:
        """Pending -> Unshipped: the payment is authorised."""
        order = self.orders.find(order_id)
        if order["fulfillment"]["fulfillmentStatus"] != FulfillmentStatus.PENDING:
            raise SandboxError(409, f"order {order_id} is {order['fulfillment']['fulfillmentStatus']}, not PENDING")
        self.timers.cancel(order_id)
        self._set_status(order, FulfillmentStatus.UNSHIPPED, OrderChangeType.ORDER_STATUS_CHANGE, "Payment authorized")
        return self.view(order, frozenset(INCLUDED_DATA))

    def cancel(self, order_id: str, reason: str | None) -> Row:
        """Amazon cancels the order (a payment that failed, or the buyer's cancel accepted)."""
        order = self.orders.find(order_id)
        status = order["fulfillment"]["fulfillmentStatus"]
        if status in (FulfillmentStatus.SHIPPED, FulfillmentStatus.CANCELLED):
            raise SandboxError(409, f"order {order_id} is {status}")
        self.timers.cancel(order_id)
        for item in order["orderItems"]:
            item["cancellation"] = {
                **item.get("cancellation", {}),
                "cancellationExecution": {"cancelledBy": "AMAZON", "cancelReason": reason or "Payment failed"},
            }
        self._set_status(
            order, FulfillmentStatus.CANCELLED, OrderChangeType.ORDER_STATUS_CHANGE, reason or "Order canceled"
        )
        return self.view(order, frozenset(INCLUDED_DATA))

    def buyer_cancel(self, order_id: str, reason: str | None) -> Row:
        """The buyer asks to cancel (every item's cancellationRequest): a BuyerRequestedChange."""
        order = self.orders.find(order_id)
        for item in order["orderItems"]:
            item["cancellation"] = {
                "cancellationRequest": {"requester": "BUYER", "cancelReason": reason or "No longer needed"}
            }
        order["lastUpdatedTime"] = iso(now())
        self._notify(order, OrderChangeType.BUYER_REQUESTED_CHANGE, "Buyer Requested Cancel")
        return self.view(order, frozenset(INCLUDED_DATA))

    def _set_status(self, order: Row, status: FulfillmentStatus, change_type: str, reason: str) -> None:
        if order["fulfillment"]["fulfillmentStatus"] == status:
            return
        order["fulfillment"]["fulfillmentStatus"] = status
        order["lastUpdatedTime"] = iso(now())
        self._notify(order, change_type, reason)

    def _notify(self, order: Row, change_type: str, reason: str, *, duplicate: bool = False) -> None:
        status = FulfillmentStatus(order["fulfillment"]["fulfillmentStatus"])
        window = order["fulfillment"]["shipByWindow"]
        items = [
            {
                "OrderItemId": item["orderItemId"],
                "SellerSKU": item["product"]["sellerSku"],
                "OrderItemStatus": _V0_STATUS[status].value,
                "Quantity": item["quantityOrdered"],
                "QuantityShipped": item["fulfillment"]["quantityFulfilled"],
                "IsBuyerRequestedCancel": item.get("cancellation", {}).get("cancellationRequest", {}).get("requester")
                == "BUYER",
            }
            for item in order["orderItems"]
        ]
        summary = {
            "MarketplaceId": order["salesChannel"]["marketplaceId"],
            "OrderStatus": _V0_STATUS[status].value,
            "PurchaseDate": order["createdTime"],
            "DestinationPostalCode": order["recipient"]["deliveryAddress"].get("postalCode"),
            "FulfillmentType": "MFN",
            "OrderType": "StandardOrder",
            "NumberOfItemsShipped": sum(i["QuantityShipped"] for i in items),
            "NumberOfItemsUnshipped": sum(i["Quantity"] - i["QuantityShipped"] for i in items),
            "EarliestShipDate": window["earliestDateTime"],
            "LatestShipDate": window["latestDateTime"],
            "OrderItems": items,
        }
        self.notify(self.order_change(summary, order["orderId"], change_type, reason), duplicate=duplicate)


_DATASETS = {
    IncludedData.BUYER: "buyer",
    IncludedData.RECIPIENT: "recipient",
    IncludedData.FULFILLMENT: "fulfillment",
    IncludedData.PROCEEDS: "proceeds",
}
_INCLUDED = frozenset(
    {
        "BUYER",
        "RECIPIENT",
        "PROCEEDS",
        "EXPENSE",
        "PROMOTION",
        "CANCELLATION",
        "FULFILLMENT",
        "PACKAGES",
        "TAX",
        "PAYMENT",
        "FULFILLMENT_ORDERS",
    }
)


def _included(value: str | None) -> frozenset[str]:
    return frozenset(_csv(value, _INCLUDED, "includedData"))


def _csv(value: str | None, allowed: Any, name: str) -> list[str]:
    parts = [p.strip() for p in (value or "").split(",") if p.strip()]
    if allowed is not None:
        bad = [p for p in parts if p not in allowed]
        if bad:
            raise invalid_input(f"Invalid {name} value(s): {', '.join(bad)}")
    return parts


def _time(query: Any, name: str) -> datetime:
    at = utc_time(query.get(name))
    if at is None:
        raise invalid_input(f"{name} must be an ISO 8601 date-time.")
    return at


def _delivery_address(address: Any) -> Row:
    address = address if isinstance(address, dict) else {}

    def pick(*names: str) -> str | None:
        for name in names:
            if address.get(name):
                return str(address[name])
        return None

    name = " ".join(p for p in (pick("firstName", "first_name"), pick("lastName", "last_name")) if p)
    found = {
        "name": name or None,
        "companyName": pick("company"),
        "addressLine1": pick("address1"),
        "addressLine2": pick("address2"),
        "city": pick("city"),
        "stateOrRegion": pick("stateOrProvince", "province_code", "province"),
        "postalCode": pick("zipCodeOrPostalCode", "zip"),
        "countryCode": pick("country", "country_code") or "US",
        "phone": pick("phone"),
        "addressType": "RESIDENTIAL",
    }
    return {k: v for k, v in found.items() if v is not None}


def _confirm_detail(body: Any, marketplace_id: str) -> Row:
    """The packageDetail of a ConfirmShipmentRequest, validated as Amazon does (400 InvalidInput)."""
    if not isinstance(body, dict):
        raise invalid_input("The request body must be a ConfirmShipmentRequest object.")
    if body.get("marketplaceId") != marketplace_id:
        raise invalid_input(f"marketplaceId {body.get('marketplaceId')!r} is not the order's marketplace.")
    detail = body.get("packageDetail")
    if not isinstance(detail, dict):
        raise invalid_input("packageDetail is required.")
    missing = [
        k
        for k in ("packageReferenceId", "carrierCode", "trackingNumber", "shipDate", "orderItems")
        if not detail.get(k)
    ]
    if missing:
        raise invalid_input(f"packageDetail is missing {', '.join(missing)}.")
    reference = str(detail["packageReferenceId"])
    if not reference.isdigit() or int(reference) <= 0:
        raise invalid_input("packageReferenceId must be a positive numeric value.")
    if detail["carrierCode"] not in CARRIER_CODES:
        raise invalid_input(f"Invalid carrierCode {detail['carrierCode']!r}.")
    if detail["carrierCode"] == "Other" and not text(detail.get("carrierName")):
        raise invalid_input("carrierName is required when carrierCode is Other.")
    tracking = str(detail["trackingNumber"])
    if not (6 <= len(tracking) <= 40 and tracking.replace("-", "").isalnum()):
        raise invalid_input(f"Invalid trackingNumber {tracking!r}.")
    if utc_time(detail["shipDate"]) is None:
        raise invalid_input("shipDate must be an ISO 8601 date-time.")
    lines = []
    for n, line in enumerate(detail["orderItems"] if isinstance(detail["orderItems"], list) else []):
        quantity = integer(line.get("quantity")) if isinstance(line, dict) else None
        if not isinstance(line, dict) or not text(line.get("orderItemId")) or quantity is None or quantity <= 0:
            raise invalid_input(f"orderItems[{n}] needs an orderItemId and a positive quantity.")
        lines.append({"orderItemId": str(line["orderItemId"]), "quantity": quantity})
    if not lines:
        raise invalid_input("orderItems must list at least one item.")
    return {**{k: detail[k] for k in detail if k != "orderItems"}, "packageReferenceId": reference, "orderItems": lines}


def _apply_patch(attributes: Row, patch: Any, n: int) -> None:
    if not isinstance(patch, dict) or patch.get("op") not in ("add", "replace", "merge", "delete"):
        raise invalid_input(f"patches[{n}].op must be add, replace, merge or delete.")
    path = str(patch.get("path") or "")
    if not path.startswith("/attributes/") or path.count("/") != 2:
        raise invalid_input(
            f"patches[{n}].path {path!r}: only top-level attributes (/attributes/<name>) can be patched."
        )
    name = path.rsplit("/", 1)[1]
    if patch["op"] == "delete":
        attributes.pop(name, None)
        return
    value = patch.get("value")
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise invalid_input(f"patches[{n}].value must be an array of objects.")
    if patch["op"] != "merge":
        attributes[name] = copy.deepcopy(value)
        return
    if name == "fulfillment_availability" and not all(text(v.get("fulfillment_channel_code")) for v in value):
        raise invalid_input(
            f"patches[{n}]: merge of fulfillment_availability needs a fulfillment_channel_code selector."
        )
    current = attributes.setdefault(name, [])
    for entry in value:
        code = entry.get("fulfillment_channel_code")
        existing = next((e for e in current if e.get("fulfillment_channel_code") == code), None)
        if existing is None:
            current.append(copy.deepcopy(entry))
        else:
            existing.update(copy.deepcopy(entry))
