"""Returns of the sandbox shop (Return and Refund API 202309): the returns search, the seller's
approve and reject decisions as TikTok documents them (approve-return-202309, reject-return-202309),
and the buyer's side as controls: a return opened on shipped line items, the parcel shipped back,
the request withdrawn. Each status change sends TikTok's RETURN_STATUS_CHANGE notification (type
12). Once the seller approves the received package TikTok refunds the buyer:
`RETURN_OR_REFUND_REQUEST_SUCCESS`, then `..._COMPLETE` after the knob `refund_seconds`.

A decision the return's status does not allow is a business refusal (HTTP 200, code
`RETURN_STATUS_NOT_ALLOWED`); a retried decision with the same `idempotency_key` is answered as
the first was, and changes nothing. Not emulated: replacements, partial refunds, returnless
refunds by `buyer_keep_item`, arbitration, combined returns, return shipping documents, TikTok
approving a request on its own at the seller's deadline.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from connectors.sandbox_kit import SandboxError
from connectors.signing import json_type
from connectors.tiktok.client import RETURNS_PAGE_SIZES, TikTokCode
from connectors.tiktok.returns import Decision, ReturnStatus, ReturnType
from connectors.tiktok.sandbox.shop import Row, ShopState, TikTokApiError, invalid, not_found
from connectors.tiktok.webhooks import NotificationType

_APPROVALS = {
    Decision.APPROVE_RETURN: (
        ReturnType.RETURN_AND_REFUND,
        {ReturnStatus.REQUEST_PENDING},
        ReturnStatus.AWAITING_BUYER_SHIP,
    ),
    Decision.APPROVE_REFUND: (ReturnType.REFUND, {ReturnStatus.REQUEST_PENDING}, ReturnStatus.REQUEST_SUCCESS),
    Decision.APPROVE_RECEIVED_PACKAGE: (
        ReturnType.RETURN_AND_REFUND,
        {ReturnStatus.AWAITING_BUYER_SHIP, ReturnStatus.BUYER_SHIPPED_ITEM},
        ReturnStatus.REQUEST_SUCCESS,
    ),
}
_REJECTIONS = {
    Decision.REJECT_RETURN: (ReturnType.RETURN_AND_REFUND, {ReturnStatus.REQUEST_PENDING}, ReturnStatus.REQUEST_REJECT),
    Decision.REJECT_REFUND: (ReturnType.REFUND, {ReturnStatus.REQUEST_PENDING}, ReturnStatus.REQUEST_REJECT),
    Decision.REJECT_RECEIVED_PACKAGE: (
        ReturnType.RETURN_AND_REFUND,
        {ReturnStatus.BUYER_SHIPPED_ITEM},
        ReturnStatus.REJECT_RECEIVE_PACKAGE,
    ),
}
# What the seller is to do next, per status (`seller_next_action_response[].action`).
_NEXT_ACTION = {
    ReturnStatus.REQUEST_PENDING: "SELLER_RESPOND_RETURN",
    ReturnStatus.BUYER_SHIPPED_ITEM: "SELLER_RESPOND_RECEIVE_PACKAGE",
}
# A line item in a return in these is free to be returned again.
_RELEASED = frozenset({ReturnStatus.REQUEST_CANCEL, ReturnStatus.REQUEST_REJECT})


def _now() -> int:
    return int(time.time())


class ReturnDesk:
    """The shop's returns; `orders` is the shop's order table (read only here)."""

    def __init__(self, shop: ShopState, orders: Mapping[str, Row]) -> None:
        self.shop = shop
        self.orders = orders
        self.returns: dict[str, Row] = {}
        # Every decision applied, in order (`GET /_sandbox/returns/decisions`).
        self.decisions: list[Row] = []
        # (return id, idempotency key) -> the decision it carried.
        self.answered: dict[tuple[str, str], str] = {}

    # --- API ---

    def search(self, query: Mapping[str, str], body: Any) -> dict[str, Any]:
        low, high = RETURNS_PAGE_SIZES
        size = query.get("page_size", "")
        if not size.isdigit() or not low <= int(size) <= high:
            raise invalid(f"page_size must be a whole number from {low} to {high}")
        filters = body if isinstance(body, dict) else {}
        rows = list(self.returns.values())
        for name, attr in (("return_ids", "return_id"), ("order_ids", "order_id")):
            wanted = filters.get(name)
            if wanted is not None:
                if not isinstance(wanted, list):
                    raise invalid(f"{name} must be an array of ids")
                rows = [r for r in rows if r[attr] in {str(w) for w in wanted}]
        for name, attr in (("return_status", "return_status"), ("return_types", "return_type")):
            wanted = filters.get(name)
            if wanted is not None:
                if not isinstance(wanted, list):
                    raise invalid(f"{name} must be an array")
                rows = [r for r in rows if r[attr] in wanted]
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
            rows = [r for r in rows if keep(r[attr], bound)]
        field = query.get("sort_field") or "create_time"
        if field not in ("create_time", "update_time"):
            raise invalid("sort_field must be create_time or update_time")
        order = query.get("sort_order") or "ASC"
        if order not in ("ASC", "DESC"):
            raise invalid("sort_order must be ASC or DESC")
        rows.sort(key=lambda r: (r[field], r["return_id"]), reverse=order == "DESC")
        return self.shop.token_page([copy.deepcopy(r) for r in rows], query, "return_orders")

    def approve(self, return_id: str, query: Mapping[str, str], body: Any) -> dict[str, Any]:
        return self._decide(return_id, query, body, _APPROVALS, "approve")

    def reject(self, return_id: str, query: Mapping[str, str], body: Any) -> dict[str, Any]:
        reason = body.get("reject_reason") if isinstance(body, dict) else None
        if not isinstance(reason, str) or not reason.strip():
            raise invalid("reject_reason is required")
        return self._decide(return_id, query, body, _REJECTIONS, "reject")

    def _decide(
        self,
        return_id: str,
        query: Mapping[str, str],
        body: Any,
        allowed: Mapping[Decision, tuple[ReturnType, set[ReturnStatus], ReturnStatus]],
        verb: str,
    ) -> dict[str, Any]:
        found = self.returns.get(return_id)
        if found is None:
            raise not_found(f"return {return_id}")
        decision = body.get("decision") if isinstance(body, dict) else None
        names = ", ".join(d.value for d in allowed)
        if decision not in {d.value for d in allowed}:
            raise invalid(f"decision must be one of {names} to {verb} a return, not {decision!r}")
        key = query.get("idempotency_key")
        if key:
            earlier = self.answered.get((return_id, key))
            if earlier == decision:
                return {}
            if earlier is not None:
                raise invalid(f"idempotency_key {key!r} was used for {earlier} on this return")
        return_type, statuses, then = allowed[Decision(decision)]
        if found["return_type"] != return_type or found["return_status"] not in statuses:
            raise TikTokApiError(
                200,
                TikTokCode.RETURN_STATUS_NOT_ALLOWED,
                f"{decision} is not allowed: return {return_id} ({found['return_type']}) is {found['return_status']}",
            )
        if key:
            self.answered[(return_id, key)] = decision
        if isinstance(body, dict) and body.get("reject_reason"):
            found["seller_reject_reason"] = body["reject_reason"]
        self.decisions.append({"return_id": return_id, "decision": decision, "at": time.time()})
        self._move(found, then)
        if then is ReturnStatus.REQUEST_SUCCESS:
            delay = self.shop.knobs.value.refund_seconds
            self.shop.timers.schedule(("refund", return_id), delay, lambda: self._refunded(return_id))
        return {}

    def _refunded(self, return_id: str) -> None:
        found = self.returns[return_id]
        if found["return_status"] == ReturnStatus.REQUEST_SUCCESS:
            self._move(found, ReturnStatus.REQUEST_COMPLETE)

    def _move(self, found: Row, status: ReturnStatus, *, duplicate: bool = False, bad_signature: bool = False) -> None:
        now = _now()
        found["return_status"] = status.value
        # Whole seconds, as TikTok's: a change within the same second still moves it on.
        found["update_time"] = max(now, found["update_time"] + 1) if found.get("update_time") else now
        action = _NEXT_ACTION.get(status)
        hours = self.shop.knobs.value.return_sla_hours
        found["seller_next_action_response"] = (
            [{"action": action, "deadline": now + int(hours * 3600)}] if action else []
        )
        self.shop.emit(
            NotificationType.RETURN_STATUS_CHANGE,
            {
                "order_id": found["order_id"],
                "return_id": found["return_id"],
                "return_role": found["role"],
                "return_type": found["return_type"],
                "return_status": found["return_status"],
                "create_time": found["create_time"],
                "update_time": found["update_time"],
            },
            duplicate=duplicate,
            bad_signature=bad_signature,
        )

    # --- the buyer's side (controls) ---

    def open(self, order_id: str, body: Any, *, duplicate: bool = False, bad_signature: bool = False) -> Row:
        """The buyer asks to return shipped line items: `{"line_items": [{"sku", "quantity"}]}` or
        `{"order_line_item_ids": [...]}` (default: every shipped line item not in a return yet),
        `"reason"?`, `"return_type"?` (RETURN_AND_REFUND, or REFUND for a returnless refund)."""
        order = self.orders.get(order_id)
        if order is None:
            raise SandboxError(404, f"order {order_id} does not exist")
        body = body if body is not None else {}
        if not isinstance(body, dict):
            raise SandboxError(422, f"the body must be a JSON object, not {json_type(body)}")
        return_type = str(body.get("return_type") or ReturnType.RETURN_AND_REFUND)
        if return_type not in (ReturnType.RETURN_AND_REFUND, ReturnType.REFUND):
            raise SandboxError(422, "return_type must be RETURN_AND_REFUND or REFUND (replacements are not emulated)")
        free = [i for i in order["line_items"] if i["package_id"] and i["id"] not in self._claimed()]
        items = self._chosen(order, free, body)
        now = _now()
        return_id = str(next(self.shop.ids.returns))
        reason = str(body.get("reason") or "ecom_order_delivered_refund_and_return_reason_not_as_described")
        currency = order["payment"]["currency"]
        lines = [self._return_line(item, currency) for item in items]
        subtotal = sum((Decimal(i["sale_price"]) for i in items), Decimal("0"))
        found: Row = {
            "return_id": return_id,
            "order_id": order_id,
            "return_type": return_type,
            "return_status": ReturnStatus.REQUEST_PENDING.value,
            "role": "BUYER",
            "return_reason": reason,
            "return_reason_text": str(body.get("reason_text") or "Item not as described"),
            "create_time": now,
            "update_time": 0,
            "return_method": "PLATFORM_SHIPPED",
            "shipment_type": "PLATFORM",
            "handover_method": "DROP_OFF",
            "return_tracking_number": "",
            "return_provider_id": "",
            "return_provider_name": "",
            "can_buyer_keep_item": return_type == ReturnType.REFUND,
            "is_combined_return": False,
            "refund_amount": _refund(subtotal, currency),
            "return_line_items": lines,
            "seller_next_action_response": [],
        }
        self.returns[return_id] = found
        self._move(found, ReturnStatus.REQUEST_PENDING, duplicate=duplicate, bad_signature=bad_signature)
        return found

    def _claimed(self) -> set[str]:
        return {
            line["order_line_item_id"]
            for r in self.returns.values()
            if r["return_status"] not in _RELEASED
            for line in r["return_line_items"]
        }

    @staticmethod
    def _chosen(order: Row, free: list[Row], body: Mapping[str, Any]) -> list[Row]:
        ids, lines = body.get("order_line_item_ids"), body.get("line_items")
        if ids is not None:
            by_id = {i["id"]: i for i in free}
            if not isinstance(ids, list) or not ids or any(str(i) not in by_id for i in ids):
                raise SandboxError(422, "order_line_item_ids must name shipped line items not in a return yet")
            return [by_id[str(i)] for i in ids]
        if lines is None:
            if not free:
                raise SandboxError(409, f"order {order['id']} has no shipped line item left to return")
            return free
        if not isinstance(lines, list) or not lines:
            raise SandboxError(422, 'line_items must be a non-empty array of {"sku", "quantity"}')
        chosen: list[Row] = []
        for index, line in enumerate(lines):
            sku = line.get("sku") if isinstance(line, dict) else None
            quantity = line.get("quantity", 1) if isinstance(line, dict) else None
            if not isinstance(sku, str) or isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
                raise SandboxError(422, f'line_items[{index}] must be {{"sku", "quantity"}} with a positive quantity')
            left = [i for i in free if i["seller_sku"] == sku and i not in chosen]
            if len(left) < quantity:
                raise SandboxError(
                    422, f"{quantity} x {sku} to return but {len(left)} shipped line item(s) of it are not in a return"
                )
            chosen.extend(left[:quantity])
        return chosen

    def _return_line(self, item: Row, currency: str) -> Row:
        return {
            "return_line_item_id": str(next(self.shop.ids.return_line_items)),
            "order_line_item_id": item["id"],
            "sku_id": item["sku_id"],
            "seller_sku": item["seller_sku"],
            "sku_name": item["sku_name"],
            "product_name": item["product_name"],
            "product_image": {"url": "", "width": 0, "height": 0},
            "refund_amount": _refund(Decimal(item["sale_price"]), currency),
        }

    def _buyer(self, return_id: str) -> Row:
        found = self.returns.get(return_id)
        if found is None:
            raise SandboxError(404, f"return {return_id} does not exist")
        return found

    def ship(self, return_id: str, body: Any) -> Row:
        """The buyer hands the parcel over: `{"tracking_number"?, "provider"?}`."""
        found = self._buyer(return_id)
        if found["return_status"] != ReturnStatus.AWAITING_BUYER_SHIP:
            raise SandboxError(409, f"return {return_id} is {found['return_status']}, not AWAITING_BUYER_SHIP")
        given = body if isinstance(body, dict) else {}
        found["return_tracking_number"] = str(given.get("tracking_number") or f"9400{return_id[-12:]}")
        found["return_provider_name"] = str(given.get("provider") or "USPS")
        found["return_provider_id"] = "6617675021119438850"
        self._move(found, ReturnStatus.BUYER_SHIPPED_ITEM)
        return found

    def cancel(self, return_id: str) -> Row:
        """The buyer withdraws the request (before the parcel is on its way)."""
        found = self._buyer(return_id)
        if found["return_status"] not in (ReturnStatus.REQUEST_PENDING, ReturnStatus.AWAITING_BUYER_SHIP):
            raise SandboxError(409, f"return {return_id} is {found['return_status']}: it can no longer be withdrawn")
        self._move(found, ReturnStatus.REQUEST_CANCEL)
        return found


def _refund(subtotal: Decimal, currency: str) -> Row:
    return {
        "currency": currency,
        "refund_subtotal": str(subtotal),
        "refund_shipping_fee": "0",
        "refund_tax": "0",
        "refund_total": str(subtotal),
        "buyer_service_fee": "0",
        "retail_delivery_fee": "0",
    }
