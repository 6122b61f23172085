"""What the 3PL connector tests (Logiwa, RyderShip) share: a connector bound in-process to its
vendor's sandbox app, with the loopback receiver standing in for the gateway, and the fixture
factory that starts such sandboxes (knobs per test, auto-shipping off unless asked) and closes
them afterwards."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

import httpx
from fastapi import FastAPI

from connectors.base import FulfillmentConnector, SandboxOptions
from connectors.sandbox_kit import SandboxState
from orderloop.config import ChannelConfig
from tests.connectors.webhook_receiver import WebhookReceiver

StateT = TypeVar("StateT", bound=SandboxState[Any])
ConnectorT = TypeVar("ConnectorT", bound=FulfillmentConnector)
MadeT_co = TypeVar("MadeT_co", bound=FulfillmentConnector, covariant=True)


@dataclass
class SandboxHarness(Generic[StateT, ConnectorT]):
    """The sandbox app, its state, a client for its API and controls, the connector bound to it,
    and the receiver its webhooks go to."""

    app: FastAPI
    sandbox: StateT
    http: httpx.AsyncClient
    connector: ConnectorT
    receiver: WebhookReceiver

    async def control(self, method: str, path: str, **kwargs: Any) -> Any:
        response = await self.http.request(method, f"/_sandbox/{path}", **kwargs)
        assert response.is_success, response.text
        return response.json()

    def calls(self, method: str, path: str) -> int:
        """How many `method` requests under `path` the sandbox answered."""
        return len(self.sandbox.recorder.matching(method, path))


class ConnectorFactory(Protocol[MadeT_co]):
    def __call__(self, channel: ChannelConfig, http: httpx.AsyncClient | None = None) -> MadeT_co: ...


async def harness_factory(
    channel: ChannelConfig,
    receiver: WebhookReceiver,
    create_app: Callable[[SandboxOptions], FastAPI],
    connector: ConnectorFactory[ConnectorT],
    base_url: str,
    state: type[StateT],
) -> AsyncIterator[Callable[..., Awaitable[SandboxHarness[StateT, ConnectorT]]]]:
    """The body of a `make_harness` fixture: `await make(channel_config?, **knobs)` starts a
    sandbox (its lifespan entered) and binds a connector to it; all are closed at the end."""
    made: list[tuple[SandboxHarness[StateT, ConnectorT], Any]] = []

    async def make(channel_config: ChannelConfig = channel, **knobs: Any) -> SandboxHarness[StateT, ConnectorT]:
        options = SandboxOptions(channel=channel_config, webhook_url=receiver.url, knobs={"auto_ship": False} | knobs)
        app = create_app(options)
        lifespan = app.router.lifespan_context(app)
        await lifespan.__aenter__()
        sandbox = app.state.sandbox
        assert isinstance(sandbox, state)
        http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=base_url)
        harness = SandboxHarness(app, sandbox, http, connector(channel_config, http=http), receiver)
        made.append((harness, lifespan))
        return harness

    yield make
    for harness, lifespan in made:
        await harness.connector.aclose()
        await harness.http.aclose()
        await lifespan.__aexit__(None, None, None)
