"""Orders, packages and cancellations of the sandbox shop: TikTok's order search and read, a
package marked shipped by the seller (line items, tracking number, shipping provider), the
buyer's remorse window (`ON_HOLD`, then `AWAITING_SHIPMENT`), recipient address updates, and
the buyer's cancellation request the seller approves or rejects before `cancel_order_sla_time`
(TikTok approves it itself when the seller lets the deadline pass). Each change sends the
notification TikTok sends."""

from __future__ import annotations

import copy
import time
from collections.abc import Mapping
from decimal import Decimal
from enum import StrEnum
from typing import Any

from connectors.sandbox_kit import SandboxError
from connectors.sandbox_kit.values import decimal_amount, pick, positive_int
from connectors.signing import json_type
from connectors.tiktok.client import TikTokCode
from connectors.tiktok.mapping import OrderStatus
from connectors.tiktok.sandbox.returns import ReturnDesk
from connectors.tiktok.sandbox.shop import (
    DEFAULT_DELIVERY_OPTION_ID,
    SHIPPING_PROVIDERS,
    Row,
    ShopState,
    TikTokApiError,
    invalid,
    not_found,
)
from connectors.tiktok.webhooks import NotificationType

MAX_IDS = 50
_PROVIDERS = dict(SHIPPING_PROVIDERS)


class CancelStatus(StrEnum):
    """`cancel_status` of a cancellation (names as SDKs show them [?])."""

    PENDING = "CANCELLATION_REQUEST_PENDING"
    APPROVED = "CANCELLATION_REQUEST_SUCCESS"
    REJECTED = "CANCELLATION_REQUEST_CANCEL"


def _now() -> int:
    return int(time.time())


def _amount(value: Any, where: str, default: str) -> Decimal:
    given = decimal_amount(value, where)
    return Decimal(default) if given is None else given


class TikTokSandbox(ShopState):
    """The whole shop; `create_app` serves it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.orders: dict[str, Row] = {}
        self.cancellations: dict[str, Row] = {}
        self.packages: dict[str, Row] = {}
        # (cancel id, idempotency key) already answered: a retried approve or reject succeeds.
        self.answered: set[tuple[str, str]] = set()
        self.returns = ReturnDesk(self, self.orders)

    # --- orders (API) ---

    def order(self, order_id: str) -> Row:
        found = self.orders.get(order_id)
        if found is None:
            raise not_found(f"order {order_id}")
        return found

    def get_orders(self, query: Mapping[str, str]) -> dict[str, Any]:
        ids = [i.strip() for i in (query.get("ids") or "").split(",") if i.strip()]
        if not ids or len(ids) > MAX_IDS:
            raise invalid(f"ids must name 1 to {MAX_IDS} order ids")
        return {"orders": [copy.deepcopy(self.orders[i]) for i in ids if i in self.orders]}

    def search_orders(self, query: Mapping[str, str], body: Any) -> dict[str, Any]:
        filters = body if isinstance(body, dict) else {}
        rows = list(self.orders.values())
        for name, attr, keep in (
            ("create_time_ge", "create_time", lambda at, bound: at >= bound),
            ("create_time_lt", "create_time", lambda at, bound: at < bound),
            ("update_time_ge", "update_time", lambda at, bound: at >= bound),
            ("update_time_lt", "update_time", lambda at, bound: at < bound),
        ):
            bound = filters.get(name)
            if bound is None:
                continue
            if isinstance(bound, bool) or not isinstance(bound, int):
                raise invalid(f"{name} must be a Unix time in seconds")
            rows = [o for o in rows if keep(o[attr], bound)]
        if filters.get("order_status"):
            rows = [o for o in rows if o["status"] == filters["order_status"]]
        field = query.get("sort_field") or "create_time"
        if field not in ("create_time", "update_time"):
            raise invalid("sort_field must be create_time or update_time")
        order = query.get("sort_order") or "DESC"
        if order not in ("ASC", "DESC"):
            raise invalid("sort_order must be ASC or DESC")
        rows.sort(key=lambda o: (o[field], o["id"]), reverse=order == "DESC")
        return self.token_page([copy.deepcopy(o) for o in rows], query, "orders")

    def _changed(self, order: Row, kind: NotificationType | None = NotificationType.ORDER_STATUS_CHANGE) -> None:
        # TikTok's times are whole seconds: a change within the same second still moves it on,
        # so a poller comparing update times sees every change.
        order["update_time"] = max(_now(), order["update_time"] + 1)
        if kind is NotificationType.ORDER_STATUS_CHANGE:
            self.emit(
                kind,
                {
                    "order_id": order["id"],
                    "order_status": order["status"],
                    "is_on_hold_order": order["is_on_hold_order"],
                    "update_time": order["update_time"],
                },
            )
        elif kind is not None:
            self.emit(kind, {"order_id": order["id"], "update_time": order["update_time"]})

    # --- packages (API) ---

    def mark_package_shipped(self, order_id: str, body: Any) -> dict[str, Any]:
        order = self.order(order_id)
        if not isinstance(body, dict):
            raise invalid("the body must be a JSON object")
        item_ids, tracking, provider_id = (
            body.get("order_line_item_ids"),
            body.get("tracking_number"),
            body.get("shipping_provider_id"),
        )
        if not isinstance(item_ids, list) or not item_ids or not all(isinstance(i, str) for i in item_ids):
            raise invalid("order_line_item_ids must be a non-empty array of line item ids")
        if not isinstance(tracking, str) or not tracking.strip():
            raise invalid("tracking_number is required")
        if self.knobs.value.reject_packages:
            raise _refusal(TikTokCode.LINE_ITEMS_NOT_SHIPPABLE, "package refused (sandbox knob reject_packages)")
        if order["status"] not in (OrderStatus.AWAITING_SHIPMENT, OrderStatus.PARTIALLY_SHIPPING):
            raise _refusal(TikTokCode.ORDER_STATUS_NOT_SHIPPABLE, f"the order is {order['status']}: it cannot ship")
        if provider_id not in _PROVIDERS:
            raise _refusal(TikTokCode.INVALID_SHIPPING_PROVIDER, f"shipping_provider_id {provider_id!r} is invalid")
        items = {item["id"]: item for item in order["line_items"]}
        for item_id in item_ids:
            item = items.get(item_id)
            if item is None:
                raise _refusal(TikTokCode.LINE_ITEMS_NOT_SHIPPABLE, f"line item {item_id} is not in the order")
            if item["package_id"] or item["display_status"] == OrderStatus.CANCELLED:
                raise _refusal(TikTokCode.LINE_ITEMS_NOT_SHIPPABLE, f"line item {item_id} cannot ship again")
        package_id = str(next(self.ids.packages))
        for item_id in item_ids:
            items[item_id].update(
                package_id=package_id,
                package_status="SHIPPED",
                display_status=OrderStatus.IN_TRANSIT.value,
                tracking_number=tracking,
                shipping_provider_id=provider_id,
                shipping_provider_name=_PROVIDERS[provider_id],
                rts_time=_now(),
            )
        self.packages[package_id] = {
            "id": package_id,
            "order_id": order_id,
            "order_line_item_ids": list(item_ids),
            "tracking_number": tracking,
            "shipping_provider_id": provider_id,
            "create_time": _now(),
        }
        order["packages"].append({"id": package_id})
        live = [i for i in order["line_items"] if i["display_status"] != OrderStatus.CANCELLED]
        shipped_all = all(i["package_id"] for i in live)
        order["status"] = (OrderStatus.IN_TRANSIT if shipped_all else OrderStatus.PARTIALLY_SHIPPING).value
        order.update(
            tracking_number=tracking, shipping_provider_id=provider_id, shipping_provider=_PROVIDERS[provider_id]
        )
        self._changed(order, None)
        self.emit(
            NotificationType.PACKAGE_UPDATE,
            {"order_id": order_id, "package_id": package_id, "update_time": order["update_time"]},
        )
        self._changed(order)
        return {"order_id": order_id, "order_line_item_ids": list(item_ids), "package_id": package_id, "warning": None}

    # --- cancellations (API) ---

    def search_cancellations(self, query: Mapping[str, str], body: Any) -> dict[str, Any]:
        filters = body if isinstance(body, dict) else {}
        rows = list(self.cancellations.values())
        if filters.get("order_ids"):
            rows = [c for c in rows if c["order_id"] in set(filters["order_ids"])]
        if filters.get("cancel_ids"):
            rows = [c for c in rows if c["cancel_id"] in set(filters["cancel_ids"])]
        if filters.get("cancel_status"):
            rows = [c for c in rows if c["cancel_status"] == filters["cancel_status"]]
        return self.token_page([copy.deepcopy(c) for c in rows], query, "cancellations")

    def _pending(self, cancel_id: str, key: str | None) -> Row | None:
        cancellation = self.cancellations.get(cancel_id)
        if cancellation is None:
            raise not_found(f"cancellation {cancel_id}")
        if key and (cancel_id, key) in self.answered:
            return None
        if cancellation["cancel_status"] != CancelStatus.PENDING:
            raise _refusal(
                TikTokCode.CANCELLATION_NOT_PENDING, f"cancellation {cancel_id} is {cancellation['cancel_status']}"
            )
        return cancellation

    def approve(self, cancel_id: str, query: Mapping[str, str]) -> dict[str, Any]:
        key = query.get("idempotency_key")
        cancellation = self._pending(cancel_id, key)
        if cancellation is not None:
            self._decide(cancellation, CancelStatus.APPROVED)
        if key:
            self.answered.add((cancel_id, key))
        return {}

    def reject(self, cancel_id: str, query: Mapping[str, str], body: Any) -> dict[str, Any]:
        reason = body.get("reject_reason") if isinstance(body, dict) else None
        if not isinstance(reason, str) or not reason.strip():
            raise invalid("reject_reason is required")
        key = query.get("idempotency_key")
        cancellation = self._pending(cancel_id, key)
        if cancellation is not None:
            cancellation["reject_reason"] = reason
            self._decide(cancellation, CancelStatus.REJECTED)
        if key:
            self.answered.add((cancel_id, key))
        return {}

    def _decide(self, cancellation: Row, status: CancelStatus) -> None:
        self.timers.cancel(("cancel", cancellation["cancel_id"]))
        cancellation["cancel_status"] = status.value
        cancellation["update_time"] = _now()
        order = self.orders[cancellation["order_id"]]
        order["is_buyer_request_cancel"] = False
        self._emit_cancellation(cancellation)
        if status is CancelStatus.APPROVED:
            self._cancel(order, cancellation["cancel_reason"], "BUYER")
        else:
            self._changed(order, None)

    def _emit_cancellation(self, cancellation: Row) -> None:
        self.emit(
            NotificationType.CANCELLATION_STATUS_CHANGE,
            {
                "order_id": cancellation["order_id"],
                "cancel_id": cancellation["cancel_id"],
                "cancel_status": cancellation["cancel_status"],
                "cancellations_role": cancellation["cancellations_role"],
                "cancel_order_sla_time": cancellation["cancel_order_sla_time"],
                "update_time": cancellation["update_time"],
            },
        )

    def _cancel(self, order: Row, reason: str, by: str) -> None:
        order["status"] = OrderStatus.CANCELLED.value
        order.update(cancel_reason=reason, cancel_user=by, cancellation_initiator=by)
        for item in order["line_items"]:
            if not item["package_id"]:
                item.update(display_status=OrderStatus.CANCELLED.value, cancel_reason=reason, cancel_user=by)
        self.timers.cancel(("hold", order["id"]))
        self._changed(order)

    # --- controls ---

    def place(self, body: Any, *, duplicate: bool = False, bad_signature: bool = False) -> Row:
        """An order from an onX-ish body: each unit one line item, as TikTok's are."""
        if not isinstance(body, dict):
            raise SandboxError(422, f"the order must be a JSON object, not {json_type(body)}")
        lines = pick(body, "line_items", "lineItems")
        if not isinstance(lines, list) or not lines:
            raise SandboxError(422, 'line_items must be a non-empty array of {"sku", "quantity"}')
        now = _now()
        currency = str(body.get("currency") or self.knobs.value.currency)
        order_id = str(next(self.ids.orders))
        items: list[Row] = []
        for index, line in enumerate(lines):
            where = f"line_items[{index}]"
            if not isinstance(line, dict) or not isinstance(line.get("sku"), str) or not line["sku"].strip():
                raise SandboxError(422, f"{where}.sku is missing")
            quantity = positive_int(line.get("quantity", 1), f"{where}.quantity")
            found = self.sku_by_seller_sku(line["sku"].strip()) or self._new_product(line["sku"].strip())
            product, sku = found
            price = _amount(pick(line, "price", "unitPrice"), f"{where}.price", sku["price"]["sale_price"])
            for _ in range(quantity):
                items.append(self._line_item(product, sku, price, currency))
        sub_total = sum((Decimal(i["sale_price"]) for i in items), Decimal("0"))
        shipping_fee = _amount(body.get("shipping_fee"), "shipping_fee", "0")
        unpaid = body.get("unpaid") is True
        hold = self.knobs.value.on_hold_seconds
        status = OrderStatus.UNPAID if unpaid else (OrderStatus.ON_HOLD if hold > 0 else OrderStatus.AWAITING_SHIPMENT)
        customer = body.get("customer") if isinstance(body.get("customer"), dict) else {}
        assert isinstance(customer, dict)
        order: Row = {
            "id": order_id,
            "status": status.value,
            "create_time": now,
            "update_time": now,
            "paid_time": None if unpaid else now,
            "shipping_type": "SELLER",
            "fulfillment_type": str(body.get("fulfillment_type") or "FULFILLMENT_BY_SELLER"),
            "delivery_type": "HOME_DELIVERY",
            "delivery_option_id": DEFAULT_DELIVERY_OPTION_ID,
            "delivery_option_name": "Standard shipping",
            "warehouse_id": self.warehouse_id,
            "is_on_hold_order": status is OrderStatus.ON_HOLD,
            "is_buyer_request_cancel": False,
            "is_cod": False,
            "rts_sla_time": now + int(self.knobs.value.rts_sla_hours * 3600),
            "tts_sla_time": now + int((self.knobs.value.rts_sla_hours + 72) * 3600),
            "user_id": str(7_494_000_000_000_000_000 + int(order_id) % 1_000_000),
            "buyer_email": pick(body, "email") or pick(customer, "email") or "buyer@scs.tiktokw.us",
            "buyer_message": str(body.get("note") or ""),
            "payment": {
                "currency": currency,
                "sub_total": str(sub_total),
                "shipping_fee": str(shipping_fee),
                "tax": "0",
                "total_amount": str(sub_total + shipping_fee),
                "original_total_product_price": str(sub_total),
                "seller_discount": "0",
                "platform_discount": "0",
            },
            "recipient_address": recipient_address(pick(body, "shipping_address", "shippingAddress")),
            "packages": [],
            "line_items": items,
            "tracking_number": "",
            "shipping_provider": "",
            "shipping_provider_id": "",
            "cancel_reason": "",
            "cancel_user": "",
        }
        for item in items:
            item["order_id"] = order_id
        self.orders[order_id] = order
        self.emit(
            NotificationType.ORDER_STATUS_CHANGE,
            {
                "order_id": order_id,
                "order_status": order["status"],
                "is_on_hold_order": order["is_on_hold_order"],
                "update_time": now,
            },
            duplicate=duplicate,
            bad_signature=bad_signature,
        )
        if status is OrderStatus.ON_HOLD:
            self.timers.schedule(("hold", order_id), hold, lambda: self._end_hold(order))
        return order

    def _new_product(self, seller_sku: str) -> tuple[Row, Row]:
        product = self.add_product(seller_sku)
        return product, product["skus"][0]

    def _line_item(self, product: Row, sku: Row, price: Decimal, currency: str) -> Row:
        return {
            "id": str(next(self.ids.line_items)),
            "sku_id": sku["id"],
            "seller_sku": sku["seller_sku"],
            "product_id": product["id"],
            "product_name": product["title"],
            "sku_name": "",
            "sku_image": "",
            "sale_price": str(price),
            "original_price": str(price),
            "currency": currency,
            "package_id": "",
            "package_status": "TO_FULFILL",
            "display_status": OrderStatus.AWAITING_SHIPMENT.value,
            "tracking_number": "",
            "shipping_provider_id": "",
            "shipping_provider_name": "",
            "cancel_reason": "",
            "cancel_user": "",
            "is_gift": False,
            "rts_time": None,
        }

    def _end_hold(self, order: Row) -> None:
        if order["status"] != OrderStatus.ON_HOLD:
            return
        order["status"] = OrderStatus.AWAITING_SHIPMENT.value
        order["is_on_hold_order"] = False
        self._changed(order)

    def end_hold(self, order_id: str) -> Row:
        order = self.order(order_id)
        if order["status"] != OrderStatus.ON_HOLD:
            raise SandboxError(409, f"order {order_id} is {order['status']}, not ON_HOLD")
        self.timers.cancel(("hold", order_id))
        self._end_hold(order)
        return order

    def pay(self, order_id: str) -> Row:
        order = self.order(order_id)
        if order["status"] != OrderStatus.UNPAID:
            raise SandboxError(409, f"order {order_id} is {order['status']}, not UNPAID")
        order["paid_time"] = _now()
        hold = self.knobs.value.on_hold_seconds
        order["status"] = (OrderStatus.ON_HOLD if hold > 0 else OrderStatus.AWAITING_SHIPMENT).value
        order["is_on_hold_order"] = hold > 0
        self._changed(order)
        if hold > 0:
            self.timers.schedule(("hold", order_id), hold, lambda: self._end_hold(order))
        return order

    def buyer_cancel(self, order_id: str, body: Any) -> Row:
        """The buyer cancels: at once while UNPAID or ON_HOLD (the remorse window), else a request
        the seller answers before `cancel_order_sla_time` (TikTok approves it at the deadline)."""
        order = self.order(order_id)
        reason = str((body or {}).get("reason") or "No longer needed") if isinstance(body, dict) else "No longer needed"
        if order["status"] in (OrderStatus.UNPAID, OrderStatus.ON_HOLD):
            self._cancel(order, reason, "BUYER")
            return {"order": order, "cancellation": None}
        if order["status"] != OrderStatus.AWAITING_SHIPMENT or order["packages"]:
            raise SandboxError(409, f"order {order_id} is {order['status']}: the buyer can only ask for a return")
        if order["is_buyer_request_cancel"]:
            raise SandboxError(409, f"order {order_id} already has a pending cancellation request")
        now = _now()
        deadline_seconds = self.knobs.value.cancel_sla_hours * 3600
        cancel_id = str(next(self.ids.cancellations))
        cancellation = {
            "cancel_id": cancel_id,
            "order_id": order_id,
            "cancel_status": CancelStatus.PENDING.value,
            "cancel_type": "CANCEL",
            "cancellations_role": "BUYER",
            "cancel_reason": reason,
            "cancel_reason_text": reason,
            "create_time": now,
            "update_time": now,
            "cancel_order_sla_time": now + int(deadline_seconds),
            "order_line_items": [{"id": i["id"], "sku_id": i["sku_id"]} for i in order["line_items"]],
        }
        self.cancellations[cancel_id] = cancellation
        order.update(is_buyer_request_cancel=True, cancel_order_sla_time=cancellation["cancel_order_sla_time"])
        self._changed(order, None)
        self._emit_cancellation(cancellation)
        self.timers.schedule(("cancel", cancel_id), deadline_seconds, lambda: self._lapse(cancel_id))
        return {"order": order, "cancellation": cancellation}

    def _lapse(self, cancel_id: str) -> None:
        cancellation = self.cancellations[cancel_id]
        if cancellation["cancel_status"] == CancelStatus.PENDING:
            self._decide(cancellation, CancelStatus.APPROVED)

    def update_address(self, order_id: str, body: Any) -> Row:
        order = self.order(order_id)
        if order["status"] not in (OrderStatus.UNPAID, OrderStatus.ON_HOLD, OrderStatus.AWAITING_SHIPMENT):
            raise SandboxError(409, f"order {order_id} is {order['status']}: its address cannot change")
        order["recipient_address"] = recipient_address(body)
        self._changed(order, NotificationType.RECIPIENT_ADDRESS_UPDATE)
        return order


def _refusal(code: int, message: str) -> TikTokApiError:
    """A business refusal: HTTP 200, TikTok's `code` in the body."""
    return TikTokApiError(200, code, message)


_COUNTRY_NAMES = {"US": "United States", "GB": "United Kingdom", "CA": "Canada"}


def recipient_address(value: Any) -> Row | None:
    """TikTok's `recipient_address` from an onX- or Shopify-style address."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise SandboxError(422, f"the address must be a JSON object, not {json_type(value)}")
    first, last = pick(value, "first_name", "firstName"), pick(value, "last_name", "lastName")
    name = pick(value, "name") or " ".join(p for p in (first, last) if p)
    country = str(pick(value, "country_code", "countryCode", "region_code", "country") or "US").upper()[:2]
    state = pick(value, "province_code", "stateOrProvince", "province", "state")
    city = pick(value, "city")
    line1, line2 = pick(value, "address1", "address_line1"), pick(value, "address2", "address_line2")
    postal = pick(value, "zip", "zipCodeOrPostalCode", "postal_code")
    phone = str(pick(value, "phone", "phone_number") or "")
    districts = [
        {"address_level_name": "Country", "address_name": _COUNTRY_NAMES.get(country, country), "address_level": "L0"}
    ]
    if state:
        districts.append({"address_level_name": "State", "address_name": state, "address_level": "L1"})
    if city:
        districts.append({"address_level_name": "City", "address_name": city, "address_level": "L3"})
    return {
        "name": name,
        "first_name": first or "",
        "last_name": last or "",
        # TikTok masks the buyer's phone number.
        "phone_number": f"(+1){phone[:3]}*****{phone[-2:]}" if len(phone) >= 5 else "",
        "address_line1": line1 or "",
        "address_line2": line2 or "",
        "address_line3": "",
        "address_line4": "",
        "postal_code": postal or "",
        "region_code": country,
        "district_info": districts,
        "full_address": ", ".join(str(p) for p in (line1, line2, city, state, postal, country) if p),
    }
