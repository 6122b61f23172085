"""One real stack per integration test session (tests use their own order ids)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from orderloop.stack import Stack
from tests.integration.stack import Api, api_for, running_stack


@pytest_asyncio.fixture(scope="session")
async def stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    async with running_stack(tmp_path_factory.mktemp("stack")) as running:
        yield running


@pytest_asyncio.fixture
async def api(stack: Stack) -> AsyncIterator[Api]:
    async for client in api_for(stack):
        yield client
