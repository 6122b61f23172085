"""Ledger fixtures: every test runs on SQLite (a temporary file) and on PostgreSQL (a fresh
schema per test module). Tests in a module share the database and keep apart by unique ids.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable

import pytest
import pytest_asyncio

from orderloop.ledger import Cause, CauseKind, Ledger
from tests.db import postgres_schema, postgres_url_or_skip

DATABASES = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest_asyncio.fixture(scope="module", params=DATABASES, loop_scope="session")
async def ledger(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Ledger]:
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("ledger") / "ledger.db"
        opened = await Ledger.open(f"sqlite:///{path}")
        yield opened
        await opened.close()
        return
    url = postgres_url_or_skip()
    async with postgres_schema(url, request.module.__name__.rsplit(".", 1)[-1]) as schema:
        opened = await Ledger.open(url, schema=schema)
        yield opened
        await opened.close()


@pytest.fixture
def uid() -> Callable[[str], str]:
    """Names unique to one test: uid("sku-a") -> "sku-a-3f9c1a2b"."""
    suffix = uuid.uuid4().hex[:8]
    return lambda name: f"{name}-{suffix}"


@pytest.fixture
def cause() -> Cause:
    return Cause(kind=CauseKind.OPERATOR, ref="tests")
