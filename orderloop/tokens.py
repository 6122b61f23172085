"""A channel's OAuth tokens as the shared token store keeps them, and the store's protocol.

A vendor whose refresh token rotates (each renewal returns a new refresh token and revokes the
one spent: RyderShip / Whiplash) cannot let several workers each keep their own copy: the first
renewal would revoke everybody else's. The store (the ledger database, `orderloop.ledger.tokens`)
holds the one current token per channel, and a renewal is a compare-and-swap on its `version`:

1. read the record; its access token, if still valid, serves everybody;
2. `claim_token_renewal` marks the record (version unchanged) as being renewed by one holder
   until a lease ends; only the holder whose claim succeeded spends the refresh token;
3. `save_token` writes the renewed token and bumps the version, only if the version is still
   the one read; the others, whose claim failed, wait and read the winner's token.

Lives outside `connectors` and `orderloop.ledger` so that both use it without a connector
loading the SQL ledger. Tokens are secrets: their fields are left out of `repr`, and nothing
here logs them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class StoredToken:
    """One channel's token record: `version` counts the renewals saved."""

    version: int
    refresh_token: str = field(repr=False)
    access_token: str | None = field(default=None, repr=False)
    # Epoch seconds (wall clock: the record is shared between machines).
    expires_at: float = 0.0
    # Who renews it now, and until when (epoch seconds); None when nobody does.
    claimed_by: str | None = None
    claimed_until: float | None = None


class TokenStore(Protocol):
    """The shared store of rotating tokens, keyed by channel (see the module docstring)."""

    async def seed_token(self, key: str, refresh_token: str, fingerprint: str) -> StoredToken:
        """The record of `key`, created from the configured refresh token when there is none.
        `fingerprint` identifies the configured token: when it differs from the one the record
        was seeded from (the operator consented again), the record restarts from it."""
        ...

    async def stored_token(self, key: str) -> StoredToken | None: ...

    async def claim_token_renewal(self, key: str, version: int, claimant: str, until: float, now: float) -> bool:
        """True if `claimant` may renew record `version` (nobody else holds an unexpired claim)."""
        ...

    async def save_token(
        self, key: str, version: int, access_token: str, expires_at: float, refresh_token: str
    ) -> StoredToken | None:
        """Write a renewal of record `version`; the new record, or None if it moved on."""
        ...

    async def release_token_claim(self, key: str, version: int, claimant: str) -> None:
        """Give up a claim whose renewal failed, so another holder need not wait for the lease."""
        ...
