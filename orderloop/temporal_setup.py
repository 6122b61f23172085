"""Prepare a Temporal namespace for Orderloop, so that a stack started in any order comes up:
wait until the server answers, wait until the namespace exists (or create it), register
Orderloop's search attributes that are missing and wait until the server lists them, and set
the namespace's retention (duplicate-order protection must outlive closed orders).

Every step is retried until it has succeeded or `timeout` ran out, with progress reported; a
step that finds its work done does nothing, so the setup can run on every start. The production
compose file runs it (`orderloop temporal setup`) as a job the gateway and workers wait for; the
embedded dev server registers through `register_search_attributes` too."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TypeVar

from google.protobuf.duration_pb2 import Duration
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.namespace.v1 import NamespaceConfig
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest, ListSearchAttributesRequest
from temporalio.api.workflowservice.v1 import (
    DescribeNamespaceRequest,
    RegisterNamespaceRequest,
    UpdateNamespaceRequest,
)
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from orderloop.contracts import SearchAttributes

T = TypeVar("T")
Progress = Callable[[str], None]

# How long one step waits between tries.
RETRY_EVERY = 1.0


class SetupError(Exception):
    """The namespace could not be prepared within the time given; the message says which step."""


@dataclass
class SetupReport:
    namespace: str
    created: bool = False
    registered: list[str] = field(default_factory=list)
    retention: timedelta | None = None


def _quiet(_: str) -> None:
    return None


async def prepare_namespace(
    address: str,
    namespace: str,
    *,
    retention: timedelta,
    create: bool = False,
    timeout: float = 300.0,
    progress: Progress = _quiet,
) -> SetupReport:
    """Prepare `namespace` on the server at `address` (module docstring); `SetupError` when a
    step has not succeeded within `timeout` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    report = SetupReport(namespace)

    async def until(what: str, attempt: Callable[[], Awaitable[T | None]]) -> T:
        last: object = None
        while True:
            try:
                result = await attempt()
                if result is not None:
                    return result
            except (RPCError, RuntimeError) as exc:  # RuntimeError: the SDK's failed connect
                last = exc
            if loop.time() >= deadline:
                why = f": {last}" if last else ""
                raise SetupError(f"Temporal at {address}: {what} not done after {timeout:.0f}s{why}")
            progress(f"waiting: {what}")
            await asyncio.sleep(RETRY_EVERY)

    # No payload passes here: the plain converter, so the setup job needs no payload keys.
    client = await until("the server answering", lambda: Client.connect(address, namespace=namespace))

    async def namespace_exists() -> bool | None:
        try:
            await client.workflow_service.describe_namespace(DescribeNamespaceRequest(namespace=namespace))
            return True
        except RPCError as exc:
            if exc.status is not RPCStatusCode.NOT_FOUND:
                raise
        if create and not report.created:
            await client.workflow_service.register_namespace(
                RegisterNamespaceRequest(
                    namespace=namespace, workflow_execution_retention_period=_duration(retention)
                )
            )
            report.created = True
            progress(f"namespace {namespace} created")
        return None

    await until(f"namespace {namespace} existing", namespace_exists)

    async def attributes_listed() -> bool | None:
        missing = await missing_search_attributes(client)
        if not missing:
            return True
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(namespace=namespace, search_attributes=missing)
        )
        report.registered = sorted(set(report.registered) | set(missing))
        progress(f"search attributes added: {', '.join(sorted(missing))}")
        return None

    await until("Orderloop's search attributes listed", attributes_listed)

    async def retention_set() -> bool:
        await client.workflow_service.update_namespace(
            UpdateNamespaceRequest(
                namespace=namespace,
                config=NamespaceConfig(workflow_execution_retention_ttl=_duration(retention)),
            )
        )
        return True

    await until(f"retention {retention}", retention_set)
    report.retention = retention
    progress(f"namespace {namespace} ready")
    return report


async def missing_search_attributes(client: Client) -> dict[str, IndexedValueType.ValueType]:
    """Orderloop's search attributes the client's namespace does not list yet."""
    listed = await client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=client.namespace)
    )
    return {
        key.name: IndexedValueType.ValueType(key.indexed_value_type)
        for key in SearchAttributes.REGISTERED
        if key.name not in listed.custom_attributes
    }


async def register_search_attributes(client: Client) -> list[str]:
    """Add the search attributes the namespace lacks (one call); their names."""
    missing = await missing_search_attributes(client)
    if missing:
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(namespace=client.namespace, search_attributes=missing)
        )
    return sorted(missing)


def _duration(value: timedelta) -> Duration:
    duration = Duration()
    duration.FromTimedelta(value)
    return duration
