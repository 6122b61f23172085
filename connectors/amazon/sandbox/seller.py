"""The seller's state and the API gate: knobs, Login with Amazon (`POST /auth/o2/token`, access
tokens that expire), the gate every SP-API call passes (the `x-amz-access-token`, then the
operation's token bucket), Amazon's error bodies and headers, and ORDER_CHANGE notifications sent
the way a relay of Amazon's SQS queue forwards them."""

from __future__ import annotations

import hmac
import json
import secrets
import time
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any
from urllib.parse import parse_qs

from fastapi import Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from connectors.amazon.client import (
    ACCESS_TOKEN_HEADER,
    EXPIRED_TOKEN,
    RATE_LIMIT_HEADER,
    REQUEST_ID_HEADER,
    USAGE_PLANS,
    AmazonSettings,
    Operation,
    operation_of,
)
from connectors.amazon.notifications import ORDER_CHANGE
from connectors.base import SandboxOptions, channel_settings
from connectors.sandbox_kit import LeakyBucket, SandboxState, VendorError, Webhook

DEMO_SELLER_ID = "A2SANDBOXSELLER"
APPLICATION_ID = "amzn1.sp.solution.orderloop-sandbox"


class NotificationFormat(StrEnum):
    """How the relay forwards a notification: the SQS message body (the notification itself) or
    the EventBridge event (the notification in `detail`)."""

    SQS = "sqs"
    EVENTBRIDGE = "eventbridge"


class AmazonKnobs(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Lifetime of an LWA access token (Amazon's is 3600 s).
    token_ttl: float = Field(default=3600.0, gt=0)
    # Per operation (rate per second, burst) replacing Amazon's default plan; a change starts
    # full buckets.
    usage_plans: dict[Operation, tuple[float, int]] = Field(default_factory=dict)
    # Orders placed through /_sandbox/orders stay Pending this long (payment authorisation),
    # then turn Unshipped; 0: placed Unshipped.
    pending_seconds: float = Field(default=0.0, ge=0)
    # Hours from the purchase to `shipByWindow.latestDateTime` (Amazon's LatestShipDate).
    ship_by_hours: float = Field(default=48.0, gt=0)
    # Off: notifications are logged under /_sandbox/webhooks but never sent (for the poll).
    deliver_notifications: bool = True
    notification_delay: float = Field(default=0.0, ge=0)
    notification_format: NotificationFormat = NotificationFormat.SQS
    # Answer 400 InvalidInput to every confirmShipment (drives `tracking_rejected`).
    reject_confirmations: bool = False
    # Listings of the demo's SKUs, each with a DEFAULT (merchant) availability.
    seed_listings: bool = True
    max_page_size: int = Field(default=100, ge=1, le=100)
    # Reports: seconds a new report waits IN_QUEUE, then IN_PROGRESS, before it ends.
    report_queue_seconds: float = Field(default=0.5, ge=0)
    report_processing_seconds: float = Field(default=1.0, ge=0)
    # Documents compressed with GZIP (Amazon compresses its report documents).
    compress_reports: bool = True
    # Reports created while on end FATAL.
    fatal_reports: bool = False


SEED_LISTINGS = ("TSHIRT-BLK-M", "TSHIRT-WHT-M", "MUG-11OZ", "POSTER-A2", "HOODIE-GRY-L", "GIFT-SET")


def amazon_error(status: int, code: str, message: str, details: str | None = None) -> VendorError:
    """Amazon's error body: `{"errors": [{"code", "message", "details"?}]}`."""
    error: dict[str, str] = {"code": code, "message": message}
    if details is not None:
        error["details"] = details
    return VendorError(status, {"errors": [error]})


def invalid_input(message: str) -> VendorError:
    return amazon_error(400, "InvalidInput", message)


def amazon_error_body(status: int, message: str) -> dict[str, Any]:
    """Amazon's shape for every route the sandbox does not serve."""
    code = {404: "NotFound", 405: "MethodNotAllowed"}.get(status, "InternalFailure")
    return {"errors": [{"code": code, "message": message}]}


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def iso(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


class SellerState(SandboxState[AmazonKnobs]):
    """One seller of one app: its credentials, tokens, buckets and notification sending."""

    def __init__(self, options: SandboxOptions) -> None:
        super().__init__(options, AmazonKnobs)
        channel = options.channel
        self.settings = channel_settings(channel, AmazonSettings)
        self.client_id = channel.credential("client_id")
        self.client_secret = channel.credential("client_secret")
        self.refresh_token = channel.credential("refresh_token")
        self.notification_key = channel.credential("notification_key")
        # Access token -> when it expires (monotonic).
        self.tokens: dict[str, float] = {}
        self.buckets: dict[Operation, LeakyBucket] = {}
        self._reset_buckets()

    def knobs_changed(self, changes: dict[str, Any]) -> None:
        if "usage_plans" in changes:
            self._reset_buckets()

    def plan(self, op: Operation) -> tuple[float, int]:
        return self.knobs.value.usage_plans.get(op, USAGE_PLANS[op])

    def _reset_buckets(self) -> None:
        # A token bucket of `burst` refilled at `rate` is a leaky bucket of that size and leak.
        self.buckets = {op: LeakyBucket(self.plan(op)[1], self.plan(op)[0]) for op in Operation}

    # --- Login with Amazon ---

    async def lwa_token(self, request: Request) -> JSONResponse:
        """grant_type=refresh_token&refresh_token=&client_id=&client_secret= (form): an access
        token for `token_ttl` seconds; LWA's `{"error", "error_description"}` otherwise"""
        form = {k: v[-1] for k, v in parse_qs((await request.body()).decode("utf-8", "replace")).items()}
        if form.get("grant_type") != "refresh_token":
            return _lwa_error(400, "unsupported_grant_type", "The authorization grant type is not supported")
        if not _same(form.get("client_id"), self.client_id) or not _same(form.get("client_secret"), self.client_secret):
            return _lwa_error(401, "invalid_client", "Client authentication failed")
        if not _same(form.get("refresh_token"), self.refresh_token):
            return _lwa_error(400, "invalid_grant", "The request has an invalid grant parameter : refresh_token")
        token = "Atza|" + secrets.token_urlsafe(48)
        ttl = self.knobs.value.token_ttl
        self.tokens[token] = time.monotonic() + ttl
        body = {
            "access_token": token,
            "refresh_token": self.refresh_token,
            "token_type": "bearer",
            "expires_in": int(ttl),
        }
        return JSONResponse(body, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})

    def expire_tokens(self) -> int:
        """Every access token issued so far expires now (a client must renew)."""
        for token in self.tokens:
            self.tokens[token] = 0.0
        return len(self.tokens)

    # --- the gate of every SP-API call ---

    async def gate(self, request: Request) -> None:
        request.state.request_id = str(uuid.uuid4())
        given = request.headers.get(ACCESS_TOKEN_HEADER, "")
        expires_at = self.tokens.get(given) if given else None
        if not given:
            raise amazon_error(403, "Unauthorized", "Access to requested resource is denied.", "")
        if expires_at is None:
            raise amazon_error(
                403,
                "Unauthorized",
                "Access to requested resource is denied.",
                "The access token you provided is revoked, malformed or invalid.",
            )
        if time.monotonic() >= expires_at:
            raise amazon_error(403, "Unauthorized", "Access to requested resource is denied.", EXPIRED_TOKEN)
        op = operation_of(request.method, request.url.path)
        if op is None:
            return
        if self.buckets[op].acquire() > 0:
            # Amazon's 429 carries `x-amzn-RequestId` only: no Retry-After, no rate limit.
            raise amazon_error(429, "QuotaExceeded", "You exceeded your quota for the requested resource.")
        request.state.rate_limit = f"{self.plan(op)[0]:g}"

    @staticmethod
    def api_headers(request: Request) -> dict[str, str]:
        headers = {}
        request_id = getattr(request.state, "request_id", None)
        if request_id:
            headers[REQUEST_ID_HEADER] = request_id
        limit = getattr(request.state, "rate_limit", None)
        if limit:
            headers[RATE_LIMIT_HEADER] = limit
        return headers

    def reply(self, request: Request, content: Any, status: int = 200) -> JSONResponse:
        return JSONResponse(content, status_code=status, headers=self.api_headers(request))

    # --- notifications ---

    def notify(self, notification: dict[str, Any], *, duplicate: bool = False) -> Webhook:
        """Send an SP-API notification to Orderloop as the relay forwards it, with the key."""
        metadata = {
            "ApplicationId": APPLICATION_ID,
            "SubscriptionId": f"subscription-{self.settings.seller_id}-{notification['NotificationType']}",
            "PublishTime": _now_ms(),
            "NotificationId": str(uuid.uuid4()),
        }
        document: dict[str, Any] = {**notification, "NotificationMetadata": metadata}
        knobs = self.knobs.value
        if knobs.notification_format is NotificationFormat.EVENTBRIDGE:
            document = {
                "version": "0",
                "id": str(uuid.uuid4()),
                "detail-type": notification["NotificationType"],
                "source": f"aws.partner/sellingpartnerapi.amazon.com/{APPLICATION_ID}",
                "account": "000000000000",
                "time": iso(now()),
                "region": "us-east-1",
                "resources": [],
                "detail": document,
            }
        headers = {"Content-Type": "application/json", self.settings.notification_key_header: self.notification_key}
        return self.sender.emit(
            self.options.webhook_url,
            str(notification["NotificationType"]),
            json.dumps(document).encode(),
            headers,
            webhook_id=metadata["NotificationId"],
            delay=knobs.notification_delay,
            duplicate=duplicate,
            deliver=knobs.deliver_notifications,
        )

    def order_change(self, summary: Mapping[str, Any], order_id: str, change_type: str, reason: str) -> dict[str, Any]:
        at = _now_ms()
        return {
            "NotificationVersion": "1.0",
            "NotificationType": ORDER_CHANGE,
            "PayloadVersion": "1.0",
            "EventTime": at,
            "Payload": {
                "OrderChangeNotification": {
                    "NotificationLevel": "OrderLevel",
                    "SellerId": self.settings.seller_id,
                    "AmazonOrderId": order_id,
                    "OrderChangeType": change_type,
                    "OrderChangeTrigger": {"TimeOfOrderChange": at, "ChangeReason": reason},
                    "Summary": dict(summary),
                }
            },
        }


def _lwa_error(status: int, error: str, description: str) -> JSONResponse:
    return JSONResponse({"error_description": description, "error": error}, status_code=status)


def _same(given: str | None, expected: str) -> bool:
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())


def _now_ms() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
