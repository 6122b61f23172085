"""The app of a sandbox: request recording, the kit's controls, the vendor's error shape, the
sandbox's route tables, shutdown, and `GET /_sandbox`, the page listing every route a sandbox
serves with its line of doc (the one place the kit's controls are documented)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import asdict, replace
from typing import Any, Protocol

from fastapi import FastAPI
from fastapi.responses import PlainTextResponse
from fastapi.routing import APIRoute

from connectors.sandbox_kit.errors import ApiHeaders, ErrorShape, install_error_handler, kit_error_body
from connectors.sandbox_kit.faults import FaultInjector, install_fault_routes
from connectors.sandbox_kit.knobs import KnobHolder, install_config_routes
from connectors.sandbox_kit.recording import Recorder, Recording
from connectors.sandbox_kit.routes import RouteTable, install_routes
from connectors.sandbox_kit.webhooks import WebhookSender, install_webhook_routes


def route_docs(app: FastAPI) -> str:
    """Every route of `app`, the API first, then the `/_sandbox` controls, one line each."""
    rows = []
    for route in app.routes:
        if isinstance(route, APIRoute) and route.path != "/_sandbox":
            doc = (route.description or "").strip().splitlines()
            rows.append(("|".join(sorted(route.methods or ())), route.path, doc[0] if doc else ""))
    api = [r for r in rows if not r[1].startswith("/_sandbox")]
    controls = [r for r in rows if r[1].startswith("/_sandbox")]
    width = max((len(m) + len(p) for m, p, _ in rows), default=0) + 3
    lines = [app.title, ""]
    for heading, section in (("API", api), ("Controls (no auth)", controls)):
        lines.append(f"{heading}:")
        lines.extend(f"  {f'{m} {p}':<{width}}{doc}".rstrip() for m, p, doc in section)
        lines.append("")
    return "\n".join(lines)


def create_sandbox_app(title: str, recorder: Recorder) -> FastAPI:
    """A FastAPI app that records every non-`/_sandbox` request, serves the recordings, and
    lists its routes at `GET /_sandbox`."""
    app = FastAPI(title=title, docs_url="/_sandbox/docs", openapi_url="/_sandbox/openapi.json")

    app.add_middleware(Recording, recorder=recorder)

    @app.get("/_sandbox", response_class=PlainTextResponse)
    async def sandbox_routes() -> str:
        return route_docs(app)

    @app.get("/_sandbox/requests")
    async def list_requests(method: str | None = None, path_prefix: str | None = None) -> list[dict[str, Any]]:
        """?method=&path_prefix=: every API request answered, oldest first, with body and status"""
        return [asdict(r) for r in recorder.matching(method, path_prefix)]

    @app.delete("/_sandbox/requests")
    async def clear_requests() -> dict[str, int]:
        """forget the recorded requests and deliveries"""
        count = len(recorder.requests)
        recorder.requests.clear()
        recorder.deliveries.clear()
        return {"cleared": count}

    @app.get("/_sandbox/deliveries")
    async def list_deliveries() -> list[dict[str, Any]]:
        """every webhook send with its attempts, status and whether it was delivered"""
        return [asdict(d) for d in recorder.deliveries]

    @app.get("/_sandbox/health")
    async def health() -> dict[str, str]:
        """{"status": "ok"} once the sandbox serves"""
        return {"status": "ok", "sandbox": title}

    return app


def add_shutdown(app: FastAPI, callback: Callable[[], Awaitable[None]]) -> None:
    """Run `callback` when the app's lifespan ends (after any lifespan already installed)."""
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(asgi_app: Any) -> AsyncIterator[Any]:
        async with inner(asgi_app) as state:
            yield state
        await callback()

    app.router.lifespan_context = lifespan


class VendorSandbox(Protocol):
    """What every sandbox's state object holds for the kit's controls."""

    recorder: Recorder
    faults: FaultInjector
    knobs: KnobHolder[Any]
    sender: WebhookSender

    async def aclose(self) -> None: ...


def sandbox_app(
    title: str,
    sandbox: VendorSandbox,
    *tables: RouteTable,
    error_shape: ErrorShape = kit_error_body,
    api_headers: ApiHeaders | None = None,
) -> FastAPI:
    """The app of a sandbox with every control the kit gives: request recording, errors in the
    vendor's `error_shape` (also for every route it does not serve), faults (checked first on
    every route of the tables), knobs
    (`knobs_changed(changes)` is called when the sandbox has it), webhook controls, `aclose` at
    shutdown, and the sandbox's route tables in order; `api_headers(request)` joins every vendor
    error answer."""
    app = create_sandbox_app(title, sandbox.recorder)
    app.state.sandbox = sandbox
    install_error_handler(app, error_shape, api_headers)
    install_fault_routes(app, sandbox.faults)
    install_config_routes(app, sandbox.knobs, on_change=getattr(sandbox, "knobs_changed", None))
    install_webhook_routes(app, sandbox.sender)
    for table in tables:
        # Faults armed through `/_sandbox/faults` apply to every API call, before anything else.
        install_routes(app, replace(table, dependencies=(sandbox.faults.check, *table.dependencies)))
    add_shutdown(app, sandbox.aclose)
    return app
