"""The shop's state and its API gate: the knobs, TikTok's envelope and error answers, the gate
every Partner API call passes (app key, timestamp, signature over path, query and raw body,
access token, shop cipher, the per-second QPS window), the auth host's token refresh, the
catalogue (products, SKUs, the warehouse, delivery options with their shipping providers) and
webhooks signed as TikTok signs them."""

from __future__ import annotations

import hmac
import itertools
import json
import secrets
import time
from collections import deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request
from pydantic import BaseModel, ConfigDict, Field

from connectors.base import SandboxOptions
from connectors.sandbox_kit import SandboxState, SlidingWindow, VendorError, Webhook
from connectors.tiktok.client import (
    ACCESS_TOKEN_HEADER,
    NO_SHOP_CIPHER_PREFIXES,
    TikTokCode,
    sign_request,
)
from connectors.tiktok.mapping import MAX_INVENTORY
from connectors.tiktok.webhooks import SIGNATURE_HEADER, NotificationType, webhook_signature

Row = dict[str, Any]
# TikTok refuses a `timestamp` older (or newer) than five minutes.
TIMESTAMP_TOLERANCE = 300
DEFAULT_SHOP_ID = "7494049642642441621"
DEFAULT_WAREHOUSE_ID = "7068517275539719942"
DEFAULT_DELIVERY_OPTION_ID = "7091146663229654785"
# The demo's SKUs (orderloop.yaml), each a live product of the shop.
SEED_SKUS = {
    "TSHIRT-BLK-M": ("Classic tee, black, M", "19.00"),
    "TSHIRT-WHT-M": ("Classic tee, white, M", "19.00"),
    "MUG-11OZ": ("Mug 11 oz", "12.00"),
    "POSTER-A2": ("Poster A2", "15.00"),
    "HOODIE-GRY-L": ("Hoodie, grey, L", "45.00"),
    "GIFT-SET": ("Tee and mug gift set", "29.00"),
}
SHIPPING_PROVIDERS = (
    ("6617675021119438849", "UPS"),
    ("6617675021119438850", "USPS"),
    ("6617675021119438851", "FedEx"),
    ("6617675021119438852", "DHL eCommerce"),
)


class TikTokKnobs(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # The buyer's remorse window: a placed order is ON_HOLD this long before AWAITING_SHIPMENT
    # (0: it is AWAITING_SHIPMENT at once). TikTok's is about an hour; the demo's a second.
    on_hold_seconds: float = Field(default=1.0, ge=0)
    # Ready-to-ship deadline after payment (`rts_sla_time`), and the seller's time to answer a
    # buyer's cancellation request (`cancel_order_sla_time`).
    rts_sla_hours: float = Field(default=48.0, gt=0)
    cancel_sla_hours: float = Field(default=48.0, gt=0)
    # The seller's time to answer a return request or a returned package (the deadline of
    # `seller_next_action_response`), and the time from the received package's approval to the
    # refund (`RETURN_OR_REFUND_REQUEST_SUCCESS` -> `..._COMPLETE`).
    return_sla_hours: float = Field(default=48.0, gt=0)
    refund_seconds: float = Field(default=1.0, ge=0)
    # Calls per second per path (TikTok publishes none [?]).
    qps: int = Field(default=50, ge=1)
    # Lifetime of an access token the refresh issues (TikTok's are about 7 days).
    token_ttl_seconds: int = Field(default=604_800, ge=1)
    deliver_webhooks: bool = True
    webhook_delay: float = Field(default=0.0, ge=0)
    # Refuse every package (drives `tracking_rejected`).
    reject_packages: bool = False
    seed_products: bool = True
    currency: str = "USD"


class TikTokApiError(VendorError):
    """An answer in TikTok's envelope with a non-zero `code`."""

    def __init__(self, status: int, code: int, message: str, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(status, envelope(None, code, message), headers)
        self.code = code
        self.message = message


def envelope(data: Any, code: int = TikTokCode.SUCCESS, message: str = "Success") -> dict[str, Any]:
    request_id = time.strftime("%Y%m%d%H%M%S") + secrets.token_hex(9).upper()
    return {"code": int(code), "message": message, "request_id": request_id, "data": data}


def tiktok_error_body(status: int, message: str) -> dict[str, Any]:
    """TikTok's envelope for the routes the sandbox does not serve."""
    code = TikTokCode.NOT_FOUND if status == 404 else TikTokCode.INVALID_PARAMS
    return envelope(None, code, message)


def not_found(what: str) -> TikTokApiError:
    return TikTokApiError(404, TikTokCode.NOT_FOUND, f"{what} does not exist")


def invalid(message: str) -> TikTokApiError:
    return TikTokApiError(400, TikTokCode.INVALID_PARAMS, message)


@dataclass
class Ids:
    """Id sequences at the magnitude of TikTok's (19-digit strings)."""

    orders: Iterator[int] = field(default_factory=lambda: itertools.count(576_461_413_000_000_001))
    line_items: Iterator[int] = field(default_factory=lambda: itertools.count(577_086_512_000_000_001))
    packages: Iterator[int] = field(default_factory=lambda: itertools.count(1_152_321_127_000_000_001))
    products: Iterator[int] = field(default_factory=lambda: itertools.count(1_729_385_000_000_000_001))
    skus: Iterator[int] = field(default_factory=lambda: itertools.count(1_729_386_000_000_000_001))
    cancellations: Iterator[int] = field(default_factory=lambda: itertools.count(4_035_318_000_000_000_001))
    notifications: Iterator[int] = field(default_factory=lambda: itertools.count(7_327_112_000_000_000_001))
    returns: Iterator[int] = field(default_factory=lambda: itertools.count(4_035_633_475_000_000_001))
    return_line_items: Iterator[int] = field(default_factory=lambda: itertools.count(4_035_633_476_000_000_001))


class ShopState(SandboxState[TikTokKnobs]):
    """The shop's state, the gate and the catalogue; the orders build on it."""

    def __init__(self, options: SandboxOptions) -> None:
        super().__init__(options, TikTokKnobs)
        channel = options.channel
        self.app_key = channel.credential("app_key")
        self.app_secret = channel.credential("app_secret")
        self.refresh_tokens = {channel.credential("refresh_token")}
        self.shop_cipher = str(channel.settings.get("shop_cipher") or "")
        self.shop_id = str(channel.settings.get("shop_id") or DEFAULT_SHOP_ID)
        self.warehouse_id = str(channel.settings.get("warehouse_id") or DEFAULT_WAREHOUSE_ID)
        # Access token -> its expiry (Unix seconds).
        self.access_tokens: dict[str, int] = {}
        self.windows: dict[str, SlidingWindow] = {}
        self.ids = Ids()
        self.products: dict[str, Row] = {}
        self.inventory_log: deque[Row] = deque(maxlen=10_000)
        if self.knobs.value.seed_products:
            for sku, (title, price) in SEED_SKUS.items():
                self.add_product(sku, title, price)

    def knobs_changed(self, changes: dict[str, Any]) -> None:
        if "qps" in changes:
            self.windows.clear()

    # --- the auth host ---

    def refresh(self, query: Mapping[str, str]) -> dict[str, Any]:
        """`GET /api/v2/token/refresh`: a new access token and refresh token for a known refresh
        token; `access_token_expire_in` is the Unix time it expires."""
        if query.get("app_key") != self.app_key or not hmac.compare_digest(
            query.get("app_secret", ""), self.app_secret
        ):
            raise TikTokApiError(401, TikTokCode.INVALID_PARAMS, "app_key or app_secret is invalid")
        if query.get("grant_type") != "refresh_token":
            raise invalid("grant_type must be refresh_token")
        used = query.get("refresh_token", "")
        if used not in self.refresh_tokens:
            raise TikTokApiError(401, TikTokCode.INVALID_ACCESS_TOKEN, "refresh_token is invalid or expired")
        now = int(time.time())
        access, refresh = f"ROW_{secrets.token_urlsafe(24)}", f"ROW_{secrets.token_urlsafe(24)}"
        expires = now + self.knobs.value.token_ttl_seconds
        self.access_tokens[access] = expires
        # The used refresh token stays valid too: a connector that lost the answer retries with it.
        self.refresh_tokens.add(refresh)
        return envelope(
            {
                "access_token": access,
                "access_token_expire_in": expires,
                "refresh_token": refresh,
                "refresh_token_expire_in": now + 365 * 86_400,
                "open_id": "7010736057180325637",
                "seller_name": "Orderloop sandbox shop",
                "seller_base_region": "US",
                "user_type": 0,
                "granted_scopes": [
                    "seller.order.info",
                    "seller.fulfillment.basic",
                    "seller.product.basic",
                    "seller.return_refund.basic",
                ],
            }
        )

    def expire_tokens(self) -> int:
        """Every access token issued so far expires now (a control, for the refresh path)."""
        for token in self.access_tokens:
            self.access_tokens[token] = 0
        return len(self.access_tokens)

    # --- the gate of every Partner API call ---

    async def gate(self, request: Request) -> None:
        query = dict(request.query_params)
        path = request.url.path
        if query.get("app_key") != self.app_key:
            raise TikTokApiError(401, TikTokCode.INVALID_PARAMS, "app_key is invalid")
        timestamp = query.get("timestamp", "")
        if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > TIMESTAMP_TOLERANCE:
            raise TikTokApiError(401, TikTokCode.EXPIRED_TIMESTAMP, "timestamp is invalid or expired")
        multipart = "multipart/form-data" in (request.headers.get("content-type") or "")
        body = b"" if multipart else await request.body()
        expected = sign_request(self.app_secret, path, query, body)
        if not hmac.compare_digest(query.get("sign", ""), expected):
            raise TikTokApiError(401, TikTokCode.INVALID_SIGN, "sign is invalid")
        token = request.headers.get(ACCESS_TOKEN_HEADER, "")
        expires = self.access_tokens.get(token)
        if expires is None:
            raise TikTokApiError(401, TikTokCode.INVALID_ACCESS_TOKEN, "access token is invalid")
        if expires <= time.time():
            raise TikTokApiError(401, TikTokCode.EXPIRED_ACCESS_TOKEN, "access token is expired")
        cipher = query.get("shop_cipher")
        if path.startswith(NO_SHOP_CIPHER_PREFIXES):
            if cipher is not None:
                raise invalid("shop_cipher is not allowed on this path")
        elif cipher != self.shop_cipher:
            raise invalid("shop_cipher is missing or invalid")
        window = self.windows.setdefault(path, SlidingWindow(self.knobs.value.qps, 1.0))
        if window.acquire() > 0:
            raise TikTokApiError(429, TikTokCode.TOO_MANY_REQUESTS, "Too many requests, please try again later")

    @staticmethod
    def page_size(query: Mapping[str, str]) -> int:
        raw = query.get("page_size", "")
        if not raw.isdigit() or not 1 <= int(raw) <= 100:
            raise invalid("page_size must be a whole number from 1 to 100")
        return int(raw)

    # --- the catalogue ---

    def add_product(self, seller_sku: str, title: str | None = None, price: str = "10.00", live: bool = True) -> Row:
        product_id = str(next(self.ids.products))
        product = {
            "id": product_id,
            "title": title or seller_sku,
            "status": "ACTIVATE" if live else "SELLER_DEACTIVATED",
            "create_time": int(time.time()),
            "update_time": int(time.time()),
            "skus": [
                {
                    "id": str(next(self.ids.skus)),
                    "seller_sku": seller_sku,
                    "price": {"currency": self.knobs.value.currency, "sale_price": price, "tax_exclusive_price": price},
                    "inventory": [{"warehouse_id": self.warehouse_id, "quantity": 0}],
                }
            ],
        }
        self.products[product_id] = product
        return product

    def sku_by_seller_sku(self, seller_sku: str) -> tuple[Row, Row] | None:
        for product in self.products.values():
            for sku in product["skus"]:
                if sku["seller_sku"] == seller_sku:
                    return product, sku
        return None

    def search_products(self, query: Mapping[str, str], body: Any) -> dict[str, Any]:
        wanted = body.get("status") if isinstance(body, dict) else None
        rows = [p for p in self.products.values() if wanted in (None, "ALL", p["status"])]
        return self.token_page(rows, query, "products")

    def update_inventory(self, product_id: str, body: Any) -> dict[str, Any]:
        """Per SKU and warehouse; a SKU of a product not live, an unknown warehouse or a quantity
        beyond 0-99999 is an error of that SKU in `data.errors` (the others are applied)."""
        product = self.products.get(product_id)
        if product is None:
            raise not_found(f"product {product_id}")
        skus = body.get("skus") if isinstance(body, dict) else None
        if not isinstance(skus, list) or not skus:
            raise invalid("skus is required")
        errors: list[Row] = []
        by_id = {s["id"]: s for s in product["skus"]}
        for entry in skus:
            sku = by_id.get(entry.get("id")) if isinstance(entry, dict) else None
            if sku is None:
                errors.append(sku_error(TikTokCode.NOT_FOUND, "sku does not belong to the product", entry))
                continue
            if product["status"] != "ACTIVATE":
                errors.append(sku_error(TikTokCode.SKU_NOT_LIVE, "the product is not live", entry))
                continue
            extra = []
            for level in entry.get("inventory") or []:
                warehouse = str(level.get("warehouse_id") or self.warehouse_id)
                quantity = level.get("quantity")
                if warehouse != self.warehouse_id:
                    extra.append({"warehouse_id": warehouse, "code": TikTokCode.NOT_FOUND, "message": "no warehouse"})
                elif isinstance(quantity, bool) or not isinstance(quantity, int) or not 0 <= quantity <= MAX_INVENTORY:
                    extra.append(
                        {
                            "warehouse_id": warehouse,
                            "code": TikTokCode.INVENTORY_OUT_OF_RANGE,
                            "message": f"quantity must be 0-{MAX_INVENTORY}",
                        }
                    )
                else:
                    sku["inventory"] = [{"warehouse_id": warehouse, "quantity": quantity}]
                    self.inventory_log.append(
                        {"seller_sku": sku["seller_sku"], "quantity": quantity, "at": time.time()}
                    )
            if extra:
                errors.append(
                    {
                        "code": TikTokCode.INVENTORY_OUT_OF_RANGE,
                        "message": "inventory update failed for some warehouses",
                        "detail": {"sku_id": sku["id"], "extra_errors": extra},
                    }
                )
        return {"errors": errors}

    def inventory_by_sku(self) -> dict[str, int]:
        return {
            sku["seller_sku"]: sum(level["quantity"] for level in sku["inventory"])
            for product in self.products.values()
            for sku in product["skus"]
        }

    def warehouses(self) -> dict[str, Any]:
        return {
            "warehouses": [
                {
                    "id": self.warehouse_id,
                    "name": "Orderloop sandbox warehouse",
                    "type": "SALES_WAREHOUSE",
                    "sub_type": "DOMESTIC_WAREHOUSE",
                    "effect_status": "ENABLED",
                    "is_default": True,
                    "address": {"region_code": "US", "postal_code": "07001"},
                }
            ]
        }

    @staticmethod
    def shipping_providers(delivery_option_id: str) -> dict[str, Any]:
        if delivery_option_id != DEFAULT_DELIVERY_OPTION_ID:
            raise not_found(f"delivery option {delivery_option_id}")
        return {"shipping_providers": [{"id": i, "name": n} for i, n in SHIPPING_PROVIDERS]}

    # --- pagination ---

    def token_page(self, rows: list[Row], query: Mapping[str, str], key: str) -> dict[str, Any]:
        """A page of `rows` at `page_token` (an opaque offset), with `next_page_token` ("" on the
        last page) and `total_count`."""
        size = self.page_size(query)
        token = query.get("page_token") or ""
        try:
            start = int(bytes.fromhex(token).decode()) if token else 0
        except ValueError:
            raise invalid("page_token is invalid") from None
        page = rows[start : start + size]
        more = start + size < len(rows)
        return {
            key: page,
            "next_page_token": str(start + size).encode().hex() if more else "",
            "total_count": len(rows),
        }

    # --- webhooks ---

    def emit(
        self, kind: NotificationType, data: dict[str, Any], *, duplicate: bool = False, bad_signature: bool = False
    ) -> Webhook:
        """Sign and send (or only log, with `deliver_webhooks` off); a duplicate is TikTok's retry
        of the same notification (same `tts_notification_id`, same body)."""
        notification_id = str(next(self.ids.notifications))
        payload = {
            "type": int(kind),
            "tts_notification_id": notification_id,
            "shop_id": self.shop_id,
            "timestamp": int(time.time()),
            "data": data,
        }
        body = json.dumps(payload).encode()
        secret = "not-the-app-secret" if bad_signature else self.app_secret
        headers = {"Content-Type": "application/json", SIGNATURE_HEADER: webhook_signature(self.app_key, secret, body)}
        knobs = self.knobs.value
        return self.sender.emit(
            self.options.webhook_url,
            kind.name,
            body,
            headers,
            webhook_id=notification_id,
            delay=knobs.webhook_delay,
            duplicate=duplicate,
            deliver=knobs.deliver_webhooks,
        )


def sku_error(code: int, message: str, entry: Any) -> Row:
    sku_id = entry.get("id") if isinstance(entry, dict) else None
    return {"code": int(code), "message": message, "detail": {"sku_id": sku_id, "extra_errors": []}}
