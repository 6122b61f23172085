"""The shared token store (orderloop.tokens.TokenStore) in the ledger database: one record per
channel whose refresh token rotates, so every worker renews through the same record.

Invariants: a record's `version` grows by one with each saved renewal and never otherwise
(save is `UPDATE ... WHERE version = :read`, checked by row count); a claim is granted to one
claimant at a time (`UPDATE ... WHERE version = :read AND (claim absent or expired)`); a record
is seeded once per configured refresh token (INSERT ON CONFLICT, replaced only when the
configured token's fingerprint changes).

The table is this part's own and is created on first use (`CREATE TABLE IF NOT EXISTS` under the
migration lock on PostgreSQL), so the part adds no step to the shared migration list.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import Column, Float, Integer, MetaData, String, Table, Text, select, text, update
from sqlalchemy.engine import Connection, Row

from orderloop.ledger.base import LedgerBase
from orderloop.tokens import StoredToken

T = TypeVar("T")
_metadata = MetaData()

channel_tokens = Table(
    "channel_tokens",
    _metadata,
    Column("key", String(128), primary_key=True),
    Column("version", Integer, nullable=False),
    Column("seed", String(64), nullable=False),
    Column("refresh_token", Text, nullable=False),
    Column("access_token", Text, nullable=True),
    Column("expires_at", Float, nullable=False),
    Column("claimed_by", String(255), nullable=True),
    Column("claimed_until", Float, nullable=True),
)


def _record(row: Row[Any] | None) -> StoredToken | None:
    if row is None:
        return None
    m = row._mapping
    return StoredToken(
        version=m["version"],
        refresh_token=m["refresh_token"],
        access_token=m["access_token"],
        expires_at=m["expires_at"],
        claimed_by=m["claimed_by"],
        claimed_until=m["claimed_until"],
    )


class TokenRecords(LedgerBase):
    """Rotating OAuth tokens shared by the workers (see orderloop.tokens)."""

    _tokens_table_ready = False

    def _ensure_tokens_table(self, conn: Connection) -> None:
        if self._tokens_table_ready:
            return
        if self._dialect == "postgresql":
            # The migration lock, so two processes opening at once do not both create it.
            conn.execute(
                text("SELECT pg_advisory_xact_lock(hashtext(current_schema() || :key))").bindparams(
                    key="/orderloop-migrate"
                )
            )
        channel_tokens.create(conn, checkfirst=True)

    async def _token_tx(self, body: Callable[[Connection], T]) -> T:
        def tx(conn: Connection) -> T:
            self._ensure_tokens_table(conn)
            return body(conn)

        result = await self._write(tx)
        self._tokens_table_ready = True
        return result

    def _select(self, conn: Connection, key: str) -> StoredToken | None:
        return _record(conn.execute(select(channel_tokens).where(channel_tokens.c.key == key)).first())

    async def seed_token(self, key: str, refresh_token: str, fingerprint: str) -> StoredToken:
        def body(conn: Connection) -> StoredToken | None:
            insert = self._insert(channel_tokens).values(
                key=key, version=0, seed=fingerprint, refresh_token=refresh_token, access_token=None, expires_at=0.0
            )
            conn.execute(
                insert.on_conflict_do_update(
                    index_elements=[channel_tokens.c.key],
                    set_={
                        "version": channel_tokens.c.version + 1,
                        "seed": insert.excluded.seed,
                        "refresh_token": insert.excluded.refresh_token,
                        "access_token": None,
                        "expires_at": 0.0,
                        "claimed_by": None,
                        "claimed_until": None,
                    },
                    where=channel_tokens.c.seed != insert.excluded.seed,
                )
            )
            return self._select(conn, key)

        record = await self._token_tx(body)
        assert record is not None
        return record

    async def stored_token(self, key: str) -> StoredToken | None:
        return await self._token_tx(lambda conn: self._select(conn, key))

    async def claim_token_renewal(self, key: str, version: int, claimant: str, until: float, now: float) -> bool:
        def body(conn: Connection) -> bool:
            c = channel_tokens.c
            free = (c.claimed_until.is_(None)) | (c.claimed_until < now)
            result = conn.execute(
                update(channel_tokens)
                .where(c.key == key, c.version == version, free)
                .values(claimed_by=claimant, claimed_until=until)
            )
            return bool(result.rowcount == 1)

        return await self._token_tx(body)

    async def save_token(
        self, key: str, version: int, access_token: str, expires_at: float, refresh_token: str
    ) -> StoredToken | None:
        def body(conn: Connection) -> StoredToken | None:
            c = channel_tokens.c
            result = conn.execute(
                update(channel_tokens)
                .where(c.key == key, c.version == version)
                .values(
                    version=version + 1,
                    access_token=access_token,
                    expires_at=expires_at,
                    refresh_token=refresh_token,
                    claimed_by=None,
                    claimed_until=None,
                )
            )
            return self._select(conn, key) if result.rowcount == 1 else None

        return await self._token_tx(body)

    async def release_token_claim(self, key: str, version: int, claimant: str) -> None:
        def body(conn: Connection) -> None:
            c = channel_tokens.c
            conn.execute(
                update(channel_tokens)
                .where(c.key == key, c.version == version, c.claimed_by == claimant)
                .values(claimed_by=None, claimed_until=None)
            )

        await self._token_tx(body)
