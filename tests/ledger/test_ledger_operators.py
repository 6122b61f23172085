"""Operator credentials on both databases: a token is shown once and only its SHA-256 is kept,
it finds its operator (revoked ones flagged), names are issued once, roles are checked by the
schema, and `last_used_at` is written at most once a minute."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from orderloop.ledger import InvalidOperatorName, Ledger, OperatorExists, OperatorRole, UnknownOperator
from orderloop.ledger.schema import operators

Uid = Callable[[str], str]


async def stored_columns(ledger: Ledger, name: str) -> dict[str, object]:
    def tx(conn: Connection) -> dict[str, object]:
        return dict(conn.execute(select(operators).where(operators.c.name == name)).one()._mapping)

    return await ledger._read(tx)


async def test_a_new_operator_gets_a_random_token_of_which_only_the_digest_is_stored(ledger: Ledger, uid: Uid) -> None:
    name = uid("ada")

    issued = await ledger.add_operator(name, OperatorRole.READ)
    other = await ledger.add_operator(uid("grace"))
    stored = await stored_columns(ledger, name)

    assert issued.operator.name == name and issued.operator.role is OperatorRole.READ
    assert issued.operator.revoked_at is None and issued.operator.last_used_at is None
    assert other.operator.role is OperatorRole.ACT  # the default
    assert len(issued.token) >= 43 and issued.token != other.token  # 32 bytes, URL-safe base64
    assert stored["token_hash"] == hashlib.sha256(issued.token.encode()).hexdigest()
    assert issued.token not in {str(v) for v in stored.values()}


async def test_a_token_finds_its_operator_and_marks_it_used(ledger: Ledger, uid: Uid) -> None:
    issued = await ledger.add_operator(uid("linus"))

    found = await ledger.operator_by_token(issued.token)
    listed = {row.name: row for row in await ledger.list_operators()}

    assert found is not None and found.name == issued.operator.name and found.role is OperatorRole.ACT
    assert found.last_used_at is not None and listed[found.name].last_used_at == found.last_used_at
    assert await ledger.operator_by_token(issued.token + "x") is None
    assert await ledger.operator_by_token("") is None


async def test_last_use_is_written_at_most_once_a_minute(ledger: Ledger, uid: Uid) -> None:
    issued = await ledger.add_operator(uid("ken"))
    first = await ledger.operator_by_token(issued.token)
    again = await ledger.operator_by_token(issued.token)
    assert first is not None and again is not None and again.last_used_at == first.last_used_at
    assert first.last_used_at is not None

    earlier = first.last_used_at - timedelta(minutes=2)

    def age(conn: Connection) -> None:
        conn.execute(update(operators).where(operators.c.name == first.name).values(last_used_at=earlier))

    await ledger._write(age)
    later = await ledger.operator_by_token(issued.token)
    assert later is not None and later.last_used_at is not None and later.last_used_at > earlier


async def test_a_revoked_operator_is_found_as_revoked_and_stays_revoked(ledger: Ledger, uid: Uid) -> None:
    issued = await ledger.add_operator(uid("mallory"))

    revoked = await ledger.revoke_operator(issued.operator.name)
    again = await ledger.revoke_operator(issued.operator.name)
    found = await ledger.operator_by_token(issued.token)
    active = [row.name for row in await ledger.list_operators(include_revoked=False)]

    assert revoked.revoked and again.revoked_at == revoked.revoked_at
    assert found is not None and found.revoked and found.last_used_at is None  # a refused use is no use
    assert issued.operator.name not in active
    assert issued.operator.name in [row.name for row in await ledger.list_operators()]


async def test_a_name_is_issued_once_even_after_its_revocation(ledger: Ledger, uid: Uid) -> None:
    name = uid("eve")
    first = await ledger.add_operator(name)
    with pytest.raises(OperatorExists, match=f"operator {name} exists \\(act, active\\)"):
        await ledger.add_operator(name, OperatorRole.READ)
    await ledger.revoke_operator(name)
    with pytest.raises(OperatorExists, match="revoked"):
        await ledger.add_operator(name)

    found = await ledger.operator_by_token(first.token)
    assert found is not None and found.revoked and found.role is OperatorRole.ACT


async def test_unknown_names_and_bad_names_are_refused(ledger: Ledger, uid: Uid) -> None:
    with pytest.raises(UnknownOperator, match="no operator named"):
        await ledger.revoke_operator(uid("nobody"))
    for bad in ("rule:give-up", "two words", "", "-dash", "x" * 65):
        with pytest.raises(InvalidOperatorName):
            await ledger.add_operator(bad)


async def test_the_schema_refuses_a_role_other_than_act_or_read(ledger: Ledger, uid: Uid) -> None:
    issued = await ledger.add_operator(uid("root"))

    def tx(conn: Connection) -> None:
        conn.execute(update(operators).where(operators.c.name == issued.operator.name).values(role="admin"))

    with pytest.raises(IntegrityError, match=r"ck_operators_role|CHECK constraint"):
        await ledger._write(tx)
