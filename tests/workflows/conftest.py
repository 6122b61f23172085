"""Workflow-test fixtures. With ORDERLOOP_RECORD_HISTORIES=1 every test saves the histories of
the orders it ran into tests/histories/, for the replay test to keep them replayable."""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from tests.workflows.fakes import FakeWorld

HISTORIES = Path(__file__).resolve().parent.parent / "histories"


@pytest_asyncio.fixture
async def world(request: pytest.FixtureRequest) -> AsyncIterator[FakeWorld]:
    created = FakeWorld()
    yield created
    if os.environ.get("ORDERLOOP_RECORD_HISTORIES") != "1":
        return
    HISTORIES.mkdir(exist_ok=True)
    name = re.sub(r"\[(\w+)\]", r"-\1", re.sub(r"^test_", "", request.node.name))
    # Orders of an older start revision keep their histories beside today's (rev0 had no suffix).
    revision = f"-rev{created.revision}" if created.revision else ""
    for i, handle in enumerate(created.handles):
        history = await handle.fetch_history()
        (HISTORIES / f"{name}{revision}-{i + 1}.json").write_text(history.to_json())
