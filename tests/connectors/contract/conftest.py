"""The harness fixtures of the contract suite: `selling` runs a case once per selling connector
package, `fulfillment` once per fulfillment package, each against a fresh sandbox. Packages
are found in `connectors/`, so a new one is in the suite on the day it exists."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from orderloop.model import ConnectorRole
from tests.connectors.contract.discovery import opener, packages_of
from tests.connectors.contract.roles import FileSellingHarness, FulfillmentHarness, SellingHarness


async def _opened(vendor: str, role: ConnectorRole, monkeypatch: pytest.MonkeyPatch, case: str) -> AsyncIterator[Any]:
    async with opener(vendor, role)(monkeypatch) as harness:
        # A harness names the cases that cannot apply to its vendor, each with the reason
        # (`not_applicable`: a file exchange has no webhook to sign); those are skipped, saying why.
        reason = getattr(harness, "not_applicable", {}).get(case)
        if reason is not None:
            await harness.connector.aclose()
            pytest.skip(f"{vendor}: {reason}")
        yield harness
        await harness.connector.aclose()


@pytest.fixture(params=packages_of(ConnectorRole.SELLING))
async def selling(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[SellingHarness]:
    async for harness in _opened(request.param, ConnectorRole.SELLING, monkeypatch, request.node.originalname):
        yield harness


@pytest.fixture(params=packages_of(ConnectorRole.SELLING, files=True))
async def file_selling(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[FileSellingHarness]:
    async for harness in _opened(request.param, ConnectorRole.SELLING, monkeypatch, request.node.originalname):
        yield harness


@pytest.fixture(params=packages_of(ConnectorRole.FULFILLMENT))
async def fulfillment(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[FulfillmentHarness]:
    async for harness in _opened(request.param, ConnectorRole.FULFILLMENT, monkeypatch, request.node.originalname):
        yield harness
