"""Every sandbox answers what it does not serve in its vendor's error shape (an unknown path 404,
an unknown method 405 with `Allow`), its unknown controls in the kit's shape, and lists every
route it serves, API and controls, with a line of doc each at `GET /_sandbox`."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute

from connectors.base import SandboxOptions
from connectors.registry import connector_spec, sandbox_factory
from orderloop.config import ChannelConfig
from orderloop.model import ConnectorRole

WEBHOOK_URL = "http://orderloop.test/webhooks/x"
SHIPBOB_SECRET = "whsec_" + base64.b64encode(b"orderloop-sandbox-errors-test-key").decode()


@dataclass(frozen=True)
class Case:
    """A sandbox, a path it serves for GET only, and its vendor's error body for a status and reason."""

    type: str
    role: ConnectorRole
    credentials: tuple[str, ...]
    get_only_path: str
    unknown_path: str
    shape: Any


CASES = [
    Case(
        "shopify",
        ConnectorRole.SELLING,
        ("access_token", "webhook_secret"),
        "/admin/api/2026-01/orders.json",
        "/admin/api/2026-01/gift_cards.json",
        lambda status, reason: {"errors": reason},
    ),
    Case(
        "shipbob",
        ConnectorRole.FULFILLMENT,
        ("api_token", "webhook_secret"),
        "/2026-01/channel",
        "/2026-01/receiving-orders",
        lambda status, reason: {"statusCode": status, "message": reason},
    ),
    Case(
        "storefront",
        ConnectorRole.SELLING,
        ("api_token", "webhook_secret"),
        "/orders",
        "/products",
        lambda status, reason: {"error": reason},
    ),
    Case(
        "wms",
        ConnectorRole.FULFILLMENT,
        ("api_token", "webhook_secret"),
        "/stock-levels",
        "/purchase-orders",
        lambda status, reason: {"error": reason},
    ),
]


@pytest.fixture(params=CASES, ids=lambda case: case.type)
async def sandbox(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[tuple[Case, Any]]:
    case: Case = request.param
    for name in case.credentials:
        value = SHIPBOB_SECRET if case.type == "shipbob" and name == "webhook_secret" else f"test-{name}"
        monkeypatch.setenv(f"ORDERLOOP_TEST_{name.upper()}", value)
    channel = ChannelConfig(
        id=case.type,
        type=case.type,
        role=case.role,
        base_url=f"http://{case.type}.sandbox",
        credentials={name: f"ORDERLOOP_TEST_{name.upper()}" for name in case.credentials},
    )
    factory = sandbox_factory(connector_spec(case.type))
    assert factory is not None
    app = factory(SandboxOptions(channel=channel, webhook_url=WEBHOOK_URL))
    yield case, app
    await app.state.sandbox.aclose()


async def answer(app: Any, method: str, path: str) -> httpx.Response:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sandbox") as http:
        return await http.request(method, path)


async def test_an_unknown_path_answers_in_the_vendors_shape(sandbox: tuple[Case, Any]) -> None:
    case, app = sandbox
    response = await answer(app, "GET", case.unknown_path)

    assert response.status_code == 404
    assert response.json() == case.shape(404, "Not Found")


async def test_an_unknown_method_answers_in_the_vendors_shape(sandbox: tuple[Case, Any]) -> None:
    case, app = sandbox
    response = await answer(app, "DELETE", case.get_only_path)

    assert response.status_code == 405
    assert response.json() == case.shape(405, "Method Not Allowed")
    assert response.headers["Allow"] == "GET"


async def test_an_unknown_control_answers_in_the_kits_shape(sandbox: tuple[Case, Any]) -> None:
    _, app = sandbox
    response = await answer(app, "GET", "/_sandbox/nothing-here")

    assert (response.status_code, response.json()) == (404, {"error": "Not Found"})


async def test_the_sandbox_page_lists_every_route_with_its_doc(sandbox: tuple[Case, Any]) -> None:
    _, app = sandbox
    response = await answer(app, "GET", "/_sandbox")

    assert response.status_code == 200
    lines = response.text.splitlines()
    assert lines[0] == app.title
    listed = {tuple(line.split()[:2]): line for line in lines if line.startswith("  ")}
    routes = [r for r in app.routes if isinstance(r, APIRoute) and r.path != "/_sandbox"]
    for route in routes:
        line = listed[("|".join(sorted(route.methods or ())), route.path)]
        assert len(line.split()) > 2, f"{line!r} has no doc"
    api = [path for _, path in listed if not path.startswith("/_sandbox")]
    assert len(api) >= 4, api
    assert lines.index("API:") < lines.index("Controls (no auth):")
    for control in ("/_sandbox/webhooks/hold", "/_sandbox/faults", "/_sandbox/config", "/_sandbox/requests"):
        assert any(path == control for _, path in listed)
