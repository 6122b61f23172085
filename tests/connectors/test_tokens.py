"""The shared token holder (connectors/tokens.py) on its own: renewal before expiry, one renewal
however many calls wait, one repeat after a 401, the rotated refresh token spent next, and the
tokens kept out of every repr; on the shared store, a failed renewal lets go of its claim and a
claim whose lease ran out is taken over."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from connectors.tokens import LEASE, MARGIN, Token, TokenHolder, fingerprint, token_from_answer
from orderloop.ledger import Ledger


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


class Grants:
    """A grant that hands out `access-N` / `refresh-N` and records the refresh token it got;
    `gate`, when set, holds each grant until released (to line concurrent callers up)."""

    def __init__(self, ttl: float = 3600.0, rotate: bool = True) -> None:
        self.ttl = ttl
        self.rotate = rotate
        self.spent: list[str | None] = []
        self.gate: asyncio.Event | None = None

    async def __call__(self, refresh_token: str | None) -> Token:
        self.spent.append(refresh_token)
        if self.gate is not None:
            await self.gate.wait()
        n = len(self.spent)
        return Token(f"access-{n}", self.ttl, f"refresh-{n}" if self.rotate else None)


def holder(grants: Grants, clock: Clock, refresh: str | None = "configured") -> TokenHolder:
    return TokenHolder(grants, refresh_token=(lambda: refresh) if refresh else None, clock=clock)


async def test_a_token_serves_until_the_margin_before_its_expiry_then_is_renewed() -> None:
    grants, clock = Grants(ttl=3600), Clock()
    tokens = holder(grants, clock)
    assert await tokens.token() == "access-1"
    clock.now += 3600 - MARGIN - 1
    assert await tokens.token() == "access-1"
    clock.now += 1
    assert await tokens.token() == "access-2"
    assert grants.spent == ["configured", "refresh-1"]  # the rotated one, not the configured
    assert tokens.grants == 2


async def test_a_grant_without_a_refresh_token_keeps_spending_the_configured_one() -> None:
    grants, clock = Grants(ttl=100, rotate=False), Clock()
    tokens = holder(grants, clock)
    await tokens.token()
    clock.now += 100
    await tokens.token()
    assert grants.spent == ["configured", "configured"]


async def test_concurrent_callers_share_one_renewal() -> None:
    grants, clock = Grants(), Clock()
    grants.gate = asyncio.Event()
    tokens = holder(grants, clock, refresh=None)
    waiting = [asyncio.create_task(tokens.token()) for _ in range(20)]
    await asyncio.sleep(0)
    grants.gate.set()
    assert set(await asyncio.gather(*waiting)) == {"access-1"}
    assert grants.spent == [None]


async def test_calls_refused_with_the_same_token_renew_it_once() -> None:
    grants, clock = Grants(), Clock()
    tokens = holder(grants, clock)
    stale = await tokens.token()
    grants.gate = asyncio.Event()
    renewals = [asyncio.create_task(tokens.renew(stale)) for _ in range(5)]
    await asyncio.sleep(0)
    grants.gate.set()
    assert set(await asyncio.gather(*renewals)) == {"access-2"}
    assert len(grants.spent) == 2
    # A 401 for a token already replaced takes the current one without a grant.
    assert await tokens.renew(stale) == "access-2"
    assert len(grants.spent) == 2


async def test_send_repeats_once_with_a_new_token_after_a_401() -> None:
    grants, clock = Grants(), Clock()
    tokens = holder(grants, clock)
    used: list[str] = []

    async def refused_once(token: str) -> httpx.Response:
        used.append(token)
        return httpx.Response(401 if len(used) == 1 else 200)

    assert (await tokens.send(refused_once)).status_code == 200
    assert used == ["access-1", "access-2"]

    async def always_refused(token: str) -> httpx.Response:
        used.append(token)
        return httpx.Response(401)

    used.clear()
    assert (await tokens.send(always_refused)).status_code == 401
    assert used == ["access-2", "access-3"]  # one repeat, not a loop


async def test_a_failed_grant_leaves_no_token_and_the_next_call_tries_again() -> None:
    clock = Clock()
    failures = [RuntimeError("token endpoint down")]

    async def flaky(refresh_token: str | None) -> Token:
        if failures:
            raise failures.pop()
        return Token("access", 60 + MARGIN)

    tokens = TokenHolder(flaky, clock=clock)
    with pytest.raises(RuntimeError):
        await tokens.token()
    assert tokens.access_token is None
    assert await tokens.token() == "access"


def test_an_oauth_answer_becomes_a_token_and_secrets_stay_out_of_its_repr() -> None:
    token = token_from_answer({"access_token": "A-SECRET", "expires_in": 7200, "refresh_token": "R-SECRET"})
    assert token == Token("A-SECRET", 7200.0, "R-SECRET")
    assert "SECRET" not in repr(token)
    assert token_from_answer({"access_token": "a", "expires_in": True}) == Token("a", 0.0, None)
    assert token_from_answer({"error": "invalid_grant"}) is None
    assert token_from_answer("not json") is None


def test_only_a_holder_with_a_refresh_token_shares_it() -> None:
    with pytest.raises(ValueError, match="refresh token"):
        holder(Grants(), Clock(), refresh=None).share(object(), "k")  # type: ignore[arg-type]


async def test_a_shared_renewal_that_fails_lets_go_of_its_claim(tmp_path: Path) -> None:
    ledger = await Ledger.open(f"sqlite:///{tmp_path / 'ledger.db'}")
    clock = Clock()

    async def refused(refresh_token: str | None) -> Token:
        raise RuntimeError("token endpoint down")

    failing = TokenHolder(refused, refresh_token=lambda: "configured", clock=clock)
    failing.share(ledger, "rydership/a")
    with pytest.raises(RuntimeError):
        await failing.token()
    record = await ledger.stored_token("rydership/a")
    assert record is not None and (record.version, record.claimed_by) == (0, None)

    grants = Grants()
    working = holder(grants, clock)
    working.share(ledger, "rydership/a")
    assert await working.token() == "access-1"
    assert grants.spent == ["configured"]
    await ledger.close()


async def test_a_claim_whose_lease_ran_out_is_taken_over(tmp_path: Path) -> None:
    ledger = await Ledger.open(f"sqlite:///{tmp_path / 'ledger.db'}")
    clock = Clock()
    await ledger.seed_token("rydership/b", "configured", fingerprint("configured"))
    # Another worker claimed the renewal and died before saving.
    assert await ledger.claim_token_renewal("rydership/b", 0, "dead-worker", clock.now + LEASE, clock.now)
    clock.now += LEASE + 1
    grants = Grants()
    tokens = holder(grants, clock)
    tokens.share(ledger, "rydership/b")
    assert await tokens.token() == "access-1"
    record = await ledger.stored_token("rydership/b")
    assert record is not None and (record.version, record.access_token, record.claimed_by) == (1, "access-1", None)
    await ledger.close()
