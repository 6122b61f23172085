"""Every recorded history in tests/histories/ replays against the current workflow code, so a
change that would break running orders fails here. Re-record with
`ORDERLOOP_RECORD_HISTORIES=1 make test` only for a deliberate, patched change."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from workflows.order import OrderWorkflow

HISTORIES = sorted((Path(__file__).resolve().parent.parent / "histories").glob("*.json"))


def test_histories_are_recorded() -> None:
    assert len(HISTORIES) >= 10, "tests/histories/ lost its recorded order histories"


@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_recorded_history_replays(path: Path) -> None:
    data = json.loads(path.read_text())
    workflow_id = path.stem
    history = WorkflowHistory.from_json(workflow_id, data)
    replayer = Replayer(workflows=[OrderWorkflow], data_converter=pydantic_data_converter)
    result = await replayer.replay_workflow(history, raise_on_replay_failure=True)
    assert result.replay_failure is None
