"""Each drill module gets a stack of its own: drills kill and restart processes, which must not
disturb the integration tests or each other."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from orderloop.stack import Stack
from tests.integration.stack import Api, api_for, running_stack


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    async with running_stack(tmp_path_factory.mktemp("drill")) as running:
        yield running


@pytest_asyncio.fixture
async def api(stack: Stack) -> AsyncIterator[Api]:
    async for client in api_for(stack):
        yield client
