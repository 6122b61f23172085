"""Operator credentials: one per person, so every action says who took it.

A credential's token is 32 random bytes from `secrets` (URL-safe base64), shown once when it is
created and never stored: the ledger keeps its SHA-256. A salted, slow hash (bcrypt, scrypt)
protects passwords, which people choose from a small space; a 256-bit random token cannot be
found from its digest by guessing, so one SHA-256 suffices and keeps the check of every request
cheap. A token is found by its digest (an indexed lookup) and the stored digest is compared with
`hmac.compare_digest`, in constant time; what the lookup's timing could tell of a digest's
prefix does not help to find a token that hashes to it.

Invariants: one row per name (the primary key), revoked rows kept, so a name in an order's
timeline stays one person's and is never issued again; one row per token digest (unique); a
revoked credential stays revoked (`revoked_at` is set once); `last_used_at` is written at most
once a minute per credential (`TOUCH_EVERY`), so authentication adds no write per request.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select, update
from sqlalchemy.engine import Connection, Row

from orderloop.ledger.base import LedgerBase, utc_now
from orderloop.ledger.errors import InvalidOperatorName, OperatorExists, UnknownOperator
from orderloop.ledger.schema import operators

# No colon or space: a rule's actions are recorded as "rule:<name>", and an operator's name must
# never read as one.
OPERATOR_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
TOKEN_BYTES = 32
TOUCH_EVERY = timedelta(minutes=1)


class OperatorRole(StrEnum):
    """`act`: read and take actions; `read`: the GET endpoints only."""

    ACT = "act"
    READ = "read"


class OperatorRow(BaseModel):
    name: str
    role: OperatorRole
    created_at: datetime
    revoked_at: datetime | None = None
    last_used_at: datetime | None = None

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None


class IssuedOperator(BaseModel):
    """A credential just created, with its token: the only time the token is seen."""

    operator: OperatorRow
    token: str


def token_digest(token: str) -> str:
    """The SHA-256 (hex) the ledger keeps of a token."""
    return hashlib.sha256(token.encode()).hexdigest()


def check_operator_name(name: str) -> str:
    if not OPERATOR_NAME.fullmatch(name):
        raise InvalidOperatorName(
            f"invalid operator name {name!r}: 1 to 64 letters, digits and . _ @ -, starting with a letter or digit"
        )
    return name


def _row(found: Row[Any]) -> OperatorRow:
    return OperatorRow.model_validate(found._mapping)


class Operators(LedgerBase):
    """Operator credentials: created and revoked by `orderloop operators`, checked by the gateway."""

    async def add_operator(self, name: str, role: OperatorRole = OperatorRole.ACT) -> IssuedOperator:
        """A new credential; refused with OperatorExists when the name was ever issued."""
        check_operator_name(name)
        token = secrets.token_urlsafe(TOKEN_BYTES)
        now = utc_now()
        values = {"name": name, "token_hash": token_digest(token), "role": OperatorRole(role).value, "created_at": now}

        def tx(conn: Connection) -> OperatorRow:
            inserted = conn.execute(
                self._insert(operators).values(**values).on_conflict_do_nothing(index_elements=["name"])
            )
            if inserted.rowcount != 1:
                existing = _row(conn.execute(select(operators).where(operators.c.name == name)).one())
                state = f"revoked {existing.revoked_at:%Y-%m-%d}" if existing.revoked_at else "active"
                raise OperatorExists(
                    f"operator {name} exists ({existing.role}, {state}); names are never issued twice: choose another"
                )
            return _row(conn.execute(select(operators).where(operators.c.name == name)).one())

        return IssuedOperator(operator=await self._write(tx), token=token)

    async def operator_by_token(self, token: str) -> OperatorRow | None:
        """The credential a bearer token belongs to (revoked ones too: the caller refuses them),
        or None; marks it used (at most once per `TOUCH_EVERY`)."""
        digest = token_digest(token)

        def read(conn: Connection) -> tuple[OperatorRow, str] | None:
            found = conn.execute(select(operators).where(operators.c.token_hash == digest)).first()
            return (_row(found), found._mapping["token_hash"]) if found is not None else None

        found = await self._read(read)
        if found is None or not hmac.compare_digest(found[1], digest):
            return None
        row = found[0]
        now = utc_now()
        if not row.revoked and (row.last_used_at is None or row.last_used_at <= now - TOUCH_EVERY):

            def touch(conn: Connection) -> None:
                conn.execute(update(operators).where(operators.c.name == row.name).values(last_used_at=now))

            await self._write(touch)
            row = row.model_copy(update={"last_used_at": now})
        return row

    async def revoke_operator(self, name: str) -> OperatorRow:
        """Revoke a credential (its token is refused from now on); revoking it again changes nothing."""
        now = utc_now()

        def tx(conn: Connection) -> OperatorRow:
            conn.execute(
                update(operators)
                .where(operators.c.name == name, operators.c.revoked_at.is_(None))
                .values(revoked_at=now)
            )
            found = conn.execute(select(operators).where(operators.c.name == name)).first()
            if found is None:
                raise UnknownOperator(f"no operator named {name!r}: `orderloop operators list` shows them")
            return _row(found)

        return await self._write(tx)

    async def list_operators(self, include_revoked: bool = True) -> list[OperatorRow]:
        """Every credential by name (without token digests)."""

        def tx(conn: Connection) -> list[OperatorRow]:
            query = select(operators).order_by(operators.c.name)
            if not include_revoked:
                query = query.where(operators.c.revoked_at.is_(None))
            return [_row(found) for found in conn.execute(query)]

        return await self._read(tx)
