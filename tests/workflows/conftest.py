"""Workflow-test fixtures. With ORDERLOOP_RECORD_HISTORIES=1 every test saves the histories of
the orders it ran into tests/histories/, for the replay test to keep them replayable."""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from temporalio.client import WorkflowHistory

from orderloop.contracts.returns import RETURN_REVISION
from orderloop.payload_codec import EncryptionCodec, decrypt_message
from orderloop.temporal_client import data_converter
from tests.workflows.fakes import FakeWorld
from tests.workflows.return_fakes import ReturnWorld

HISTORIES = Path(__file__).resolve().parent.parent / "histories"


def recorded(history: WorkflowHistory) -> str:
    """A history as it is kept in tests/histories/: its payloads decrypted, since this test
    process's key is its own (the replay test re-reads them with whatever key it has)."""
    codec = data_converter().payload_codec
    assert isinstance(codec, EncryptionCodec)
    events = []
    for event in history.events:
        decrypt_message(event, codec)
        events.append(event)
    return WorkflowHistory(history.workflow_id, events).to_json()


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
        (HISTORIES / f"{name}{revision}-{i + 1}.json").write_text(recorded(history))


@pytest_asyncio.fixture
async def return_world(request: pytest.FixtureRequest) -> AsyncIterator[ReturnWorld]:
    """The return workflow's fakes; with ORDERLOOP_RECORD_HISTORIES=1 its returns' histories are
    saved under tests/histories/returns/ (the replay test replays them too)."""
    created = ReturnWorld()
    yield created
    if os.environ.get("ORDERLOOP_RECORD_HISTORIES") != "1":
        return
    folder = HISTORIES / "returns"
    folder.mkdir(parents=True, exist_ok=True)
    name = re.sub(r"\[(\w+)\]", r"-\1", re.sub(r"^test_", "", request.node.name))
    for i, handle in enumerate(created.handles):
        history = await handle.fetch_history()
        (folder / f"{name}-rev{RETURN_REVISION}-{i + 1}.json").write_text(recorded(history))
