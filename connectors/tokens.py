"""The token holder every OAuth-style vendor client shares: one access token per connector
instance, renewed before it expires (`margin` seconds early), renewed once and the call repeated
after the vendor refused it (401), and one renewal at a time however many calls wait for it.

A vendor client gives the holder its grant (`Grant`: the refresh token in hand, or None for a
grant that needs none such as Logiwa's password grant, to a `Token`) and sends its calls
through `send`. Where the refresh token rotates (RyderShip), `share` puts the holder on the
shared token store (orderloop.tokens, kept in the ledger database), so several workers renew
through one compare-and-swap record instead of revoking each other's token.

Tokens are secrets: `Token` leaves them out of its `repr`, and the holder logs none.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from connectors.base import RetryableError
from orderloop.tokens import StoredToken, TokenStore

# Renew this many seconds before a token's `expires_in` runs out.
MARGIN = 60.0
# How long a renewal claimed in the shared store may take before another holder may claim it
# (the token request's own timeout is 10 s).
LEASE = 30.0
# First wait of a holder whose claim lost, doubling up to a second, while the winner renews.
FIRST_WAIT = 0.05


@dataclass(frozen=True)
class Token:
    """A grant's answer: the access token, its lifetime, and the refresh token it carries."""

    access_token: str = field(repr=False)
    expires_in: float
    refresh_token: str | None = field(default=None, repr=False)


def token_from_answer(body: Any) -> Token | None:
    """The token of an OAuth token answer (`access_token`, `expires_in`, `refresh_token`), or
    None when the body carries no access token."""
    if not isinstance(body, dict):
        return None
    access = body.get("access_token")
    if not isinstance(access, str) or not access:
        return None
    expires_in = body.get("expires_in")
    ttl = float(expires_in) if isinstance(expires_in, int | float) and not isinstance(expires_in, bool) else 0.0
    refresh = body.get("refresh_token")
    return Token(access, max(0.0, ttl), refresh if isinstance(refresh, str) and refresh else None)


def fingerprint(secret: str) -> str:
    """What the store keeps to notice a newly configured refresh token (never the token)."""
    return hashlib.sha256(secret.encode()).hexdigest()


Grant = Callable[[str | None], Awaitable[Token]]
Attempt = Callable[[str], Awaitable[httpx.Response]]


class TokenHolder:
    """One per vendor client. `refresh_token` reads the configured refresh token (the first
    grant's, until a grant returns a new one); `clock` is wall-clock epoch seconds."""

    def __init__(
        self,
        grant: Grant,
        *,
        refresh_token: Callable[[], str] | None = None,
        margin: float = MARGIN,
        lease: float = LEASE,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._grant = grant
        self._configured = refresh_token
        self._margin = margin
        self._lease = lease
        self._clock = clock
        self._access: str | None = None
        self._expires_at = 0.0
        self._refresh: str | None = None
        self._lock = asyncio.Lock()
        self._store: TokenStore | None = None
        self._key = ""
        self._claimant = f"{socket.gethostname()}/{os.getpid()}/{uuid.uuid4().hex[:8]}"
        # Grants this holder made (tests and the sandbox's request log count them).
        self.grants = 0

    def share(self, store: TokenStore, key: str) -> None:
        """Keep the token in `store` under `key`, shared with every holder of that key."""
        if self._configured is None:
            raise ValueError("only a holder with a refresh token shares it through a token store")
        self._store, self._key = store, key

    @property
    def access_token(self) -> str | None:
        return self._access

    def _valid(self, access: str | None, expires_at: float) -> bool:
        return access is not None and self._clock() < expires_at - self._margin

    async def token(self) -> str:
        """A valid access token, renewed first when it expires within the margin."""
        if self._valid(self._access, self._expires_at):
            assert self._access is not None
            return self._access
        return await self.renew(self._access)

    async def renew(self, stale: str | None) -> str:
        """A token other than `stale` (the one the vendor refused or that expired); the first
        caller renews, those waiting on the lock take its result."""
        async with self._lock:
            if self._access is None or self._access == stale or not self._valid(self._access, self._expires_at):
                if self._store is None:
                    await self._renew_alone()
                else:
                    await self._renew_shared(self._store, stale)
            assert self._access is not None
            return self._access

    async def send(self, attempt: Attempt) -> httpx.Response:
        """Make `attempt` with a valid token; a 401 renews the token once and repeats it."""
        used = await self.token()
        response = await attempt(used)
        if response.status_code == 401:
            response = await attempt(await self.renew(used))
        return response

    def _take(self, access: str, expires_at: float, refresh: str | None) -> None:
        self._access, self._expires_at = access, expires_at
        if refresh:
            self._refresh = refresh

    async def _renew_alone(self) -> None:
        self._access = None
        configured = self._configured() if self._configured is not None else None
        token = await self._grant(self._refresh or configured)
        self.grants += 1
        self._take(token.access_token, self._clock() + token.expires_in, token.refresh_token)

    async def _renew_shared(self, store: TokenStore, stale: str | None) -> None:
        """Take the stored token if another holder renewed it; else win the claim and renew,
        or wait for the winner (a claim whose lease ended may be taken over)."""
        assert self._configured is not None
        configured = self._configured()
        record: StoredToken | None = await store.seed_token(self._key, configured, fingerprint(configured))
        wait, waited = FIRST_WAIT, 0.0
        while True:
            if record is None:
                record = await store.seed_token(self._key, configured, fingerprint(configured))
            if record.access_token != stale and self._valid(record.access_token, record.expires_at):
                assert record.access_token is not None
                self._take(record.access_token, record.expires_at, record.refresh_token)
                return
            now = self._clock()
            if await store.claim_token_renewal(self._key, record.version, self._claimant, now + self._lease, now):
                await self._renew_claimed(store, record)
                return
            if waited > 2 * self._lease:
                raise RetryableError(f"token of {self._key}: another worker's renewal has not finished")
            await asyncio.sleep(wait)
            waited += wait
            wait = min(wait * 2, 1.0)
            record = await store.stored_token(self._key)

    async def _renew_claimed(self, store: TokenStore, record: StoredToken) -> None:
        try:
            token = await self._grant(record.refresh_token)
        except BaseException:
            # Not renewed: let another holder try now rather than after the lease.
            await asyncio.shield(store.release_token_claim(self._key, record.version, self._claimant))
            raise
        self.grants += 1
        expires_at = self._clock() + token.expires_in
        refresh = token.refresh_token or record.refresh_token
        # The grant spent the record's refresh token, so this renewal is the only valid one:
        # it is saved whenever the record is still at the version claimed, even if this call
        # is cancelled meanwhile (the token would be lost to every worker otherwise).
        await asyncio.shield(store.save_token(self._key, record.version, token.access_token, expires_at, refresh))
        self._take(token.access_token, expires_at, refresh)
