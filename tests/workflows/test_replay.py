"""Every recorded history in tests/histories/ replays against the current workflow code, so a
change that would break running orders fails here. Re-record with
`ORDERLOOP_RECORD_HISTORIES=1 make test` only for a deliberate, patched change. Histories of
every start revision are kept (see ORDER_REVISION): orders of each may still be running."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from orderloop.contracts import OrderInput, order_workflow_id
from orderloop.temporal_client import data_converter
from workflows.order import OrderWorkflow

HISTORIES = sorted((Path(__file__).resolve().parent.parent / "histories").glob("*.json"))


def test_histories_are_recorded() -> None:
    assert len(HISTORIES) >= 10, "tests/histories/ lost its recorded order histories"


def workflow_id_of(data: dict[str, Any]) -> str:
    """The order's workflow id, from its start input (a history file holds only events). Replay
    must run under the real id: the workflow derives its shipping request ids from it."""
    started = data["events"][0]["workflowExecutionStartedEventAttributes"]
    payload = started["input"]["payloads"][0]["data"]
    order = OrderInput.model_validate_json(base64.b64decode(payload))
    return order_workflow_id(order.channel_id, order.external_id)


@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_recorded_history_replays(path: Path) -> None:
    data = json.loads(path.read_text())
    history = WorkflowHistory.from_json(workflow_id_of(data), data)
    replayer = Replayer(workflows=[OrderWorkflow], data_converter=data_converter)
    result = await replayer.replay_workflow(history, raise_on_replay_failure=True)
    assert result.replay_failure is None
