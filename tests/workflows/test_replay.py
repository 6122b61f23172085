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
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from orderloop.contracts import OrderInput, Signals, order_workflow_id
from orderloop.contracts.returns import ReturnInput, return_workflow_id
from orderloop.payload_codec import EncryptionCodec, is_encrypted
from orderloop.temporal_client import data_converter
from tests.workflows.fakes import FakeWorld, onx_order, shipment_for
from tests.workflows.helpers import sent_request
from workflows.order import OrderWorkflow
from workflows.returns import ReturnWorkflow

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
    replayer = Replayer(workflows=[OrderWorkflow], data_converter=data_converter())
    result = await replayer.replay_workflow(history, raise_on_replay_failure=True)
    assert result.replay_failure is None


RETURN_HISTORIES = sorted((Path(__file__).resolve().parent.parent / "histories" / "returns").glob("*.json"))


def test_return_histories_are_recorded() -> None:
    assert len(RETURN_HISTORIES) >= 10, "tests/histories/returns/ lost its recorded return histories"


def return_workflow_id_of(data: dict[str, Any]) -> str:
    started = data["events"][0]["workflowExecutionStartedEventAttributes"]
    payload = started["input"]["payloads"][0]["data"]
    inp = ReturnInput.model_validate_json(base64.b64decode(payload))
    return return_workflow_id(inp.channel_id, inp.external_id)


@pytest.mark.parametrize("path", RETURN_HISTORIES, ids=[p.stem for p in RETURN_HISTORIES])
async def test_recorded_return_history_replays(path: Path) -> None:
    data = json.loads(path.read_text())
    history = WorkflowHistory.from_json(return_workflow_id_of(data), data)
    replayer = Replayer(workflows=[ReturnWorkflow], data_converter=data_converter())
    result = await replayer.replay_workflow(history, raise_on_replay_failure=True)
    assert result.replay_failure is None


def test_the_replayer_decrypts_with_the_process_keys() -> None:
    """The histories above replay through the encrypting converter: its codec passes their
    unencrypted payloads through."""
    assert isinstance(data_converter().payload_codec, EncryptionCodec)


async def test_an_encrypted_history_replays(ts_env: WorkflowEnvironment, world: FakeWorld) -> None:
    async with world.worker(ts_env.client):
        handle = await world.start(ts_env.client, onx_order("enc-1", [("TSHIRT", 1)]))
        request = await sent_request(handle)
        await handle.signal(Signals.SHIPMENT, shipment_for(request))
        await handle.result()
    history = await handle.fetch_history()
    started = history.events[0].workflow_execution_started_event_attributes
    assert all(is_encrypted(p) for p in started.input.payloads)
    assert b"Main St" not in b"".join(e.SerializeToString() for e in history.events)
    replayer = Replayer(workflows=[OrderWorkflow], data_converter=data_converter())
    result = await replayer.replay_workflow(history, raise_on_replay_failure=True)
    assert result.replay_failure is None
