"""Shared fixtures: a fresh time-skipping environment per test (it starts in well under a second).

Payloads are encrypted in every test, as in production: unless the environment configures keys,
this test process makes its own local key file first (the embedded default), which the stacks
it starts inherit."""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

from orderloop.payload_keys import ensure_local_key_file
from tests.temporal_env import start_time_skipping

ensure_local_key_file(Path(tempfile.mkdtemp(prefix="orderloop-test-keys-")))


@pytest_asyncio.fixture
async def ts_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await start_time_skipping()
    yield env
    await env.shutdown()
