"""Operators by name at the gateway (TestClient over a real SQLite ledger, Temporal unreachable):
a named token authenticates its operator and the action is recorded as theirs, a revoked token
is refused, a read-only credential may read but not act, production refuses the shared token, a
trusted proxy (and only it) may name the operator by header, and bad tokens lock a client
address out of the operator API (429, Retry-After) but never out of the webhooks."""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from pydantic import BaseModel

from connectors.signing import ORDERLOOP_DELIVERY_HEADER, ORDERLOOP_EVENT_HEADER, orderloop_signature
from gateway.app import create_app
from gateway.auth import FailedAuth
from gateway.deps import require_acting_operator
from gateway.errors import GatewayError
from gateway.order_service import OrderService
from gateway.return_service import ReturnService
from orderloop.contracts import Updates
from orderloop.contracts.names import ReturnUpdates
from orderloop.ledger import Ledger, OperatorRole
from orderloop.loopback_stack import free_port
from orderloop.sandbox_env import apply_sandbox_env
from orderloop.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
SHARED = "shared-t0ken"
Gateway = Callable[..., Any]


def settings_for(tmp_path: Path, **fields: Any) -> Settings:
    return Settings(
        config=str(ROOT / "orderloop.yaml"),
        database_url=f"sqlite:///{tmp_path / 'ledger.db'}",
        temporal_address=f"127.0.0.1:{free_port()}",
        api_token=SHARED,
        **fields,
    )


def add_operators(settings: Settings, *names: tuple[str, OperatorRole], revoke: tuple[str, ...] = ()) -> list[str]:
    """Credentials created (and revoked) as `orderloop operators` does, before the gateway starts."""

    async def run() -> list[str]:
        ledger = await Ledger.open(settings.database_url)
        try:
            tokens = [(await ledger.add_operator(name, role)).token for name, role in names]
            for name in revoke:
                await ledger.revoke_operator(name)
            return tokens
        finally:
            await ledger.close()

    return asyncio.run(run())


@contextmanager
def gateway(settings: Settings, client: tuple[str, int] = ("testclient", 50000)) -> Iterator[TestClient]:
    apply_sandbox_env()
    with TestClient(create_app(settings), client=client) as test_client:
        yield test_client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str, BaseModel]]:
    """The updates the gateway sends to a workflow (answered 409, as Temporal is not here)."""
    updates: list[tuple[str, str, BaseModel]] = []

    async def update(_: object, workflow_id: str, name: str, request: BaseModel) -> Any:
        updates.append((workflow_id, name, request))
        raise GatewayError(409, "recorded by the test")

    monkeypatch.setattr(OrderService, "update", update)
    monkeypatch.setattr(ReturnService, "update", update)
    return updates


def test_a_named_token_acts_as_its_operator_whatever_the_body_says(
    tmp_path: Path, sent: list[tuple[str, str, BaseModel]]
) -> None:
    settings = settings_for(tmp_path)
    [ada] = add_operators(settings, ("ada", OperatorRole.ACT))
    with gateway(settings) as client:
        listed = client.get("/api/notices", headers=bearer(ada))
        retried = client.post("/api/orders/storefront/1001/retry", headers=bearer(ada), json={"operator": "mallory"})
        cancelled = client.post("/api/orders/storefront/1001/cancel", headers=bearer(ada))
        authorised = client.post("/api/returns/shopify/r-1/authorise", headers=bearer(ada), json={"operator": "x"})
        shared = client.post("/api/orders/storefront/1002/retry", headers=bearer(SHARED))

    assert listed.status_code == 200 and listed.json()["count"] == 0
    assert [r.status_code for r in (retried, cancelled, authorised, shared)] == [409, 409, 409, 409]
    assert [(wf, name, request.operator) for wf, name, request in sent] == [  # type: ignore[attr-defined]
        ("order/storefront/1001", Updates.RETRY, "ada"),
        ("order/storefront/1001", Updates.CANCEL, "ada"),
        ("return/shopify/r-1", ReturnUpdates.AUTHORISE, "ada"),
        ("order/storefront/1002", Updates.RETRY, "operator"),  # the shared token: the demo identity
    ]


def test_a_revoked_token_is_refused_with_401(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    [eve] = add_operators(settings, ("eve", OperatorRole.ACT), revoke=("eve",))
    with gateway(settings) as client:
        response = client.get("/api/notices", headers=bearer(eve))
    assert response.status_code == 401 and "revoked" in response.json()["error"]


def test_a_read_only_operator_reads_but_every_action_is_refused_with_403(
    tmp_path: Path, sent: list[tuple[str, str, BaseModel]]
) -> None:
    settings = settings_for(tmp_path)
    [rita] = add_operators(settings, ("rita", OperatorRole.READ))
    actions = [
        "/api/orders/storefront/1001/retry",
        "/api/orders/storefront/1001/cancel",
        "/api/orders/storefront/1001/mark-shipped",
        "/api/orders/storefront/1001/teleport",
        "/api/returns/shopify/r-1/close",
        "/api/notices/1/resend",
    ]
    with gateway(settings) as client:
        reads = [client.get(path, headers=bearer(rita)) for path in ("/api/notices", "/api/holds", "/api/returns")]
        refused = [client.post(path, headers=bearer(rita), json={}) for path in actions]

    assert [r.status_code for r in reads] == [200, 200, 200]
    assert {r.status_code for r in refused} == {403}
    assert {r.json()["error"] for r in refused} == {"operator rita is read-only"}
    assert "--role act" in refused[0].json()["hint"]
    assert sent == []


def api_routes(routes: list[Any]) -> Iterator[APIRoute]:
    """Every API route of the app, into included routers too (FastAPI 0.16x keeps an included
    router whole, as `original_router`; earlier versions copied its routes into the app's)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        elif hasattr(route, "original_router"):
            yield from api_routes(route.original_router.routes)


def test_every_post_under_api_needs_an_acting_operator(tmp_path: Path) -> None:
    app = create_app(settings_for(tmp_path))

    def depends_on(dependant: Any, call: Any) -> bool:
        return any(d.call is call or depends_on(d, call) for d in dependant.dependencies)

    posts = [r for r in api_routes(app.routes) if r.path.startswith("/api/") and "POST" in (r.methods or set())]
    assert len(posts) >= 11
    assert [route.path for route in posts if not depends_on(route.dependant, require_acting_operator)] == []


def test_production_refuses_the_shared_token_and_takes_named_ones(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, environment="production")
    [ada] = add_operators(settings, ("ada", OperatorRole.ACT))
    with gateway(settings) as client:
        shared = client.get("/api/notices", headers=bearer(SHARED))
        named = client.get("/api/notices", headers=bearer(ada))
    assert shared.status_code == 401 and "refused in production" in shared.json()["error"]
    assert "orderloop operators add" in shared.json()["hint"]
    assert named.status_code == 200


PROXY = {"operator_header": "X-Forwarded-User", "operator_role_header": "X-Forwarded-Role"}


def test_a_trusted_proxy_names_the_operator_by_header(tmp_path: Path, sent: list[tuple[str, str, BaseModel]]) -> None:
    settings = settings_for(tmp_path, trusted_proxies="10.0.0.0/24, 192.0.2.7", **PROXY)
    with gateway(settings, client=("10.0.0.5", 40000)) as client:
        read = client.get("/api/notices", headers={"X-Forwarded-User": "grace@example.com"})
        acted = client.post("/api/orders/storefront/7/retry", headers={"X-Forwarded-User": "grace@example.com"})
        read_only = client.post(
            "/api/orders/storefront/7/retry", headers={"X-Forwarded-User": "linus", "X-Forwarded-Role": "read"}
        )
        impostor = client.get("/api/notices", headers={"X-Forwarded-User": "rule:give-up"})
        no_header = client.get("/api/notices")

    assert read.status_code == 200 and acted.status_code == 409
    assert [request.operator for _, _, request in sent] == ["grace@example.com"]  # type: ignore[attr-defined]
    assert read_only.status_code == 403 and read_only.json()["error"] == "operator linus is read-only"
    assert impostor.status_code == 401 and "names no valid operator" in impostor.json()["error"]
    assert no_header.status_code == 401  # without the header the proxy's request needs a token


def test_the_identity_header_from_an_untrusted_address_is_ignored(
    tmp_path: Path, sent: list[tuple[str, str, BaseModel]]
) -> None:
    settings = settings_for(tmp_path, trusted_proxies="10.0.0.0/24", **PROXY)
    [ada] = add_operators(settings, ("ada", OperatorRole.ACT))
    with gateway(settings, client=("203.0.113.9", 40000)) as client:
        header_only = client.get("/api/notices", headers={"X-Forwarded-User": "grace"})
        with_token = client.post("/api/orders/storefront/8/retry", headers={"X-Forwarded-User": "grace", **bearer(ada)})
    assert header_only.status_code == 401 and header_only.json()["error"] == "missing bearer token"
    assert with_token.status_code == 409 and [r.operator for _, _, r in sent] == ["ada"]  # type: ignore[attr-defined]


def test_a_bad_trusted_proxies_setting_stops_the_gateway_at_start(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, trusted_proxies="10.0.0.0/24, the-proxy", **PROXY)
    with pytest.raises(ValueError, match="'the-proxy' is no address or network"), gateway(settings):
        pass


def signed_order() -> tuple[bytes, dict[str, str]]:
    body = json.dumps({"externalId": "bf-1", "lineItems": [{"sku": "A", "quantity": 1}]}).encode()
    return body, {
        "Content-Type": "application/json",
        ORDERLOOP_EVENT_HEADER: "order.created",
        ORDERLOOP_DELIVERY_HEADER: uuid.uuid4().hex,
        "X-Orderloop-Signature": orderloop_signature(os.environ["ORDERLOOP_STOREFRONT_WEBHOOK_SECRET"], body),
    }


def test_bad_tokens_lock_the_address_out_with_429_but_never_the_webhooks(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    [ada] = add_operators(settings, ("ada", OperatorRole.ACT))
    now = [1000.0]
    with gateway(settings) as client:
        client.app.state.gateway.auth_failures.clock = lambda: now[0]  # type: ignore[attr-defined]
        guesses = [client.get("/api/notices", headers=bearer(f"guess-{n}")).status_code for n in range(10)]
        locked_good = client.get("/api/notices", headers=bearer(ada))
        locked_action = client.post("/api/orders/storefront/1/retry", headers=bearer(ada))
        body, headers = signed_order()
        webhook = client.post("/webhooks/storefront", content=body, headers=headers)
        bad_webhook = client.post(
            "/webhooks/storefront",
            content=body,
            headers={**headers, ORDERLOOP_DELIVERY_HEADER: "x", "X-Orderloop-Signature": "sha256=00"},
        )
        now[0] += 299
        still = client.get("/api/notices", headers=bearer(ada))
        now[0] += 2
        over = client.get("/api/notices", headers=bearer(ada))

    assert guesses == [401] * 10
    assert locked_good.status_code == 429 and "too many bad tokens" in locked_good.json()["error"]
    assert locked_good.headers["Retry-After"] == "300"
    assert locked_action.status_code == 429
    assert webhook.status_code == 503  # the webhook went on to Temporal (down here), not refused
    assert bad_webhook.status_code == 401  # its own signature check, not the lockout
    assert still.status_code == 429 and still.headers["Retry-After"] == "1"
    assert over.status_code == 200  # the lockout ended by itself


def test_the_limiter_counts_per_address_within_its_window_and_its_lockout_ends() -> None:
    now = [0.0]
    limiter = FailedAuth(allowed=3, window=60, lockout=30, clock=lambda: now[0])
    limiter.failed("a")
    limiter.failed("a")
    now[0] = 61  # the first two left the window
    limiter.failed("a")
    limiter.failed("b")
    assert limiter.retry_after("a") is None and limiter.retry_after("b") is None
    limiter.failed("a")
    limiter.failed("a")
    assert limiter.retry_after("a") == 30 and limiter.retry_after("b") is None
    now[0] = 91
    assert limiter.retry_after("a") is None
