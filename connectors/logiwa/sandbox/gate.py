"""The gate of the Logiwa sandbox: its knobs, the password grant with expiring tokens, the tier's
two windows (per second and per minute) answering Logiwa's 403 with the delay in its text, and
Logiwa's three error shapes (`{"Message"}` for auth and unserved routes, `{"error",
"error_description"}` from the token host, `{"Success": false, "Errors"}` for refusals)."""

from __future__ import annotations

import math
import secrets
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any, Literal
from urllib.parse import parse_qs

import httpx
from fastapi import Request
from pydantic import BaseModel, ConfigDict, Field

from connectors.base import SandboxOptions
from connectors.logiwa.mapping import TIER_LIMITS, Tier
from connectors.sandbox_kit import SandboxState, SlidingWindow, VendorError

DENIED = "Authorization has been denied for this request."
THROTTLED = (
    "Request has been throttled (blocked) because of the request limit per {window}. "
    "Please retry after {ms} milliseconds later."
)
# Stock every warehouse starts with when the channel's locations seed none.
SEED_STOCK = {"TSHIRT-BLK-M": 500, "TSHIRT-WHT-M": 500, "MUG-11OZ": 300, "POSTER-A2": 50, "HOODIE-GRY-L": 200}


class LogiwaKnobs(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Seconds a token lives (Logiwa's are about two weeks).
    token_ttl: float = Field(default=14 * 24 * 3600, gt=0)
    # The API user's tier; `per_second` / `per_minute` override its limits when set.
    tier: Tier | None = None
    per_second: float | None = Field(default=None, gt=0)
    per_minute: int | None = Field(default=None, ge=1)
    # Seconds from order creation to shipped (picked half-way); 0 ships at once.
    ship_delay: float = Field(default=1.0, ge=0)
    # Off: orders move only by `POST /_sandbox/pick|ship/{code}`.
    auto_ship: bool = True
    # Off: webhooks are logged but never sent (Logiwa guarantees no delivery).
    deliver_webhooks: bool = True
    duplicate_deliveries: bool = False
    # The next n InsertShipmentOrder answers are lost after the orders were created (504), as a
    # timeout on the way back would lose them: the client's retry must find its order.
    lose_create_answers: int = Field(default=0, ge=0)
    carrier: Literal["UPS", "FedEx", "USPS"] = "UPS"
    # Initial stock: {warehouse_code: {sku: on_hand}}; empty = the locations' seed stock.
    stock: dict[str, dict[str, int]] = Field(default_factory=dict)


class LogiwaError(VendorError):
    """An answer in one of Logiwa's own shapes, `body` as it is."""


def refused(*errors: str) -> LogiwaError:
    """A refusal as Logiwa answers it: HTTP 200 `{"Success": false, "Errors": [...]}`."""
    return LogiwaError(200, {"Success": False, "Errors": list(errors), "Data": None})


def message_body(status: int, message: str) -> dict[str, Any]:
    """ASP.NET Web API's `{"Message": ...}`: Logiwa's 401, and every route not served."""
    return {"Message": message}


class Gate(SandboxState[LogiwaKnobs]):
    """Credentials, tokens and windows of one Logiwa tenant."""

    def __init__(self, options: SandboxOptions, webhook_transport: httpx.AsyncBaseTransport | None = None) -> None:
        super().__init__(options, LogiwaKnobs, webhook_transport=webhook_transport)
        channel = options.channel
        self.username = channel.credential("username")
        self.password = channel.credential("password")
        self.webhook_token = channel.credential("webhook_token")
        settings = channel.settings
        self.depositor = str(settings.get("depositor_code") or "BRAND")
        self.token_header = str(settings.get("webhook_token_header") or "X-Orderloop-Token")
        self.channel_tier = Tier(settings.get("tier") or Tier.STANDARD)
        self.tokens: dict[str, float] = {}
        self.tokens_issued = 0
        self.throttled = 0
        self._windows()

    def knobs_changed(self, changes: dict[str, Any]) -> None:
        if {"tier", "per_second", "per_minute"} & set(changes):
            self._windows()

    def _windows(self) -> None:
        knobs = self.knobs.value
        per_second, per_minute = TIER_LIMITS[knobs.tier or self.channel_tier]
        per_second = knobs.per_second or per_second
        per_minute = knobs.per_minute or per_minute
        # "1 per 113 ms" counted over a second (8 a second), so a client's quick pair of calls
        # (a search after a refused create) passes on the upper tiers, as it does at Logiwa.
        self.second = SlidingWindow(max(1, round(per_second)), 1.0)
        self.minute = SlidingWindow(per_minute, 60.0)

    # --- token host ---

    async def token(self, request: Request) -> Any:
        """form grant_type=password&username&password: {access_token, token_type, expires_in, .issued, .expires}"""
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode("utf-8", "replace")).items()}
        if form.get("grant_type") != "password":
            raise LogiwaError(400, {"error": "unsupported_grant_type"})
        if not form.get("username"):
            return {"expires_in": 0, ".error": "invalid_grant", ".error_description": "Username cannot be empty."}
        good = secrets.compare_digest(form.get("username", ""), self.username) and secrets.compare_digest(
            form.get("password", ""), self.password
        )
        if not good:
            return {"error": "invalid_grant", "error_description": "The user name or password is incorrect."}
        ttl = self.knobs.value.token_ttl
        token = secrets.token_urlsafe(48)
        self.tokens[token] = time.monotonic() + ttl
        self.tokens_issued += 1
        issued = datetime.now(UTC)
        return {
            "access_token": token,
            "token_type": "bearer",
            "username": self.username,
            "expires_in": int(ttl),
            ".issued": format_datetime(issued, usegmt=True),
            ".expires": format_datetime(issued + timedelta(seconds=ttl), usegmt=True),
        }

    def expire_tokens(self) -> int:
        """Every token issued so far is expired now (the control behind `/_sandbox/tokens/expire`)."""
        count = len(self.tokens)
        self.tokens = dict.fromkeys(self.tokens, 0.0)
        return count

    # --- API dependencies ---

    async def throttle(self) -> None:
        """Both windows; over one: 403 with the wait in the text, no header (Logiwa's)."""
        for name, window in (("second", self.second), ("minute", self.minute)):
            wait = window.acquire()
            if wait > 0:
                self.throttled += 1
                text = THROTTLED.format(window=name, ms=max(1, math.ceil(wait * 1000)))
                raise LogiwaError(403, text)

    async def authenticate(self, request: Request) -> None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        expires = self.tokens.get(token.strip()) if scheme.lower() == "bearer" else None
        if expires is None or time.monotonic() >= expires:
            raise LogiwaError(401, {"Message": DENIED})
