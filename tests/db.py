"""Test databases: the local PostgreSQL when it is reachable (a visible skip otherwise, or a
failure when ORDERLOOP_REQUIRE_POSTGRES=1), and throwaway schemas in it.
"""

from __future__ import annotations

import os
import re
import socket
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import pytest
from sqlalchemy.engine import make_url

POSTGRES_URL = os.environ.get("ORDERLOOP_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")


def postgres_url_or_skip() -> str:
    """The test PostgreSQL URL; skips with the reason when the server is unreachable, or fails
    when ORDERLOOP_REQUIRE_POSTGRES=1 (CI must not pass by skipping).
    """
    url = make_url(POSTGRES_URL)
    host, port = url.host or "127.0.0.1", url.port or 5432
    try:
        with socket.create_connection((host, port), timeout=2):
            pass
    except OSError as exc:
        reason = f"PostgreSQL is not reachable at {host}:{port} ({exc.strerror or exc})"
        if os.environ.get("ORDERLOOP_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"{reason}, and ORDERLOOP_REQUIRE_POSTGRES=1 requires it")
        pytest.skip(f"{reason}; set ORDERLOOP_REQUIRE_POSTGRES=1 to fail instead")
    return POSTGRES_URL


def _dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@asynccontextmanager
async def postgres_schema(url: str, label: str) -> AsyncIterator[str]:
    """A fresh schema named after `label`, dropped with everything in it afterwards."""
    name = f"t_{re.sub(r'[^a-z0-9_]', '_', label.lower())[-40:]}_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(_dsn(url))
    try:
        await conn.execute(f'CREATE SCHEMA "{name}"')
        yield name
    finally:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
        await conn.close()
