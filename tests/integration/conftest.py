"""One real stack per integration test session (tests use their own order ids)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from orderloop.stack import Stack
from tests.integration.stack import Api, make_stack


@pytest_asyncio.fixture(scope="session")
async def stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    directory: Path = tmp_path_factory.mktemp("stack")
    running = make_stack(directory)
    try:
        await running.start()
        yield running
    finally:
        running.stop()


@pytest_asyncio.fixture
async def api(stack: Stack) -> AsyncIterator[Api]:
    client = Api(stack)
    yield client
    await client.aclose()
