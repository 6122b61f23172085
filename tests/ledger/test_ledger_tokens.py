"""The shared token store (orderloop.ledger.tokens) on both databases: seeded once per
configured refresh token, one claim at a time, a save only at the version read."""

from __future__ import annotations

from collections.abc import Callable

from orderloop.ledger import Ledger

Uid = Callable[[str], str]
NOW = 1_000_000.0


async def test_a_record_is_seeded_once_and_restarts_for_a_new_configured_token(ledger: Ledger, uid: Uid) -> None:
    key = uid("rydership")
    first = await ledger.seed_token(key, "R0", "fp-0")
    assert (first.version, first.refresh_token, first.access_token) == (0, "R0", None)
    saved = await ledger.save_token(key, 0, "A1", NOW + 7200, "R1")
    assert saved is not None and (saved.version, saved.refresh_token) == (1, "R1")
    # The same configured token again (a worker restart): the rotated record stays.
    again = await ledger.seed_token(key, "R0", "fp-0")
    assert (again.version, again.refresh_token, again.access_token) == (1, "R1", "A1")
    # The operator consented again: the record restarts from the new token, at a new version.
    fresh = await ledger.seed_token(key, "R9", "fp-9")
    assert (fresh.version, fresh.refresh_token, fresh.access_token) == (2, "R9", None)
    assert await ledger.stored_token(uid("other")) is None


async def test_one_claimant_at_a_time_until_its_lease_ends_or_it_lets_go(ledger: Ledger, uid: Uid) -> None:
    key = uid("rydership")
    await ledger.seed_token(key, "R0", "fp")
    assert await ledger.claim_token_renewal(key, 0, "worker-a", NOW + 30, NOW) is True
    assert await ledger.claim_token_renewal(key, 0, "worker-b", NOW + 31, NOW + 1) is False
    record = await ledger.stored_token(key)
    assert record is not None and (record.claimed_by, record.claimed_until) == ("worker-a", NOW + 30)
    # A's lease ran out (it died mid-renewal): B may take over.
    assert await ledger.claim_token_renewal(key, 0, "worker-b", NOW + 61, NOW + 31) is True
    # A letting go of a claim it no longer holds changes nothing; B letting go frees it.
    await ledger.release_token_claim(key, 0, "worker-a")
    assert await ledger.claim_token_renewal(key, 0, "worker-c", NOW + 62, NOW + 32) is False
    await ledger.release_token_claim(key, 0, "worker-b")
    assert await ledger.claim_token_renewal(key, 0, "worker-c", NOW + 62, NOW + 32) is True


async def test_a_save_and_a_claim_succeed_only_at_the_version_read(ledger: Ledger, uid: Uid) -> None:
    key = uid("rydership")
    await ledger.seed_token(key, "R0", "fp")
    assert await ledger.save_token(key, 0, "A1", NOW + 7200, "R1") is not None
    # A second save of version 0 (a renewal from a stale read) is refused; the record keeps R1.
    assert await ledger.save_token(key, 0, "A-late", NOW + 7200, "R-late") is None
    assert await ledger.claim_token_renewal(key, 0, "worker-a", NOW + 30, NOW) is False
    record = await ledger.stored_token(key)
    assert record is not None
    assert (record.version, record.access_token, record.refresh_token, record.claimed_by) == (1, "A1", "R1", None)
    assert "R1" not in repr(record) and "A1" not in repr(record)
