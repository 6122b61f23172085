"""The gateway application: webhooks in, operator API, health. `python -m gateway` serves it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError
from temporalio.service import RPCError

from connectors.registry import build_connectors, load_connector_config
from gateway import inventory_api, operator_api, webhooks
from gateway.deps import State
from gateway.errors import install_error_handlers
from gateway.state import GatewayState, TemporalHolder, TemporalUnavailable
from orderloop.ledger import Ledger, LedgerError
from orderloop.settings import Settings, get_settings


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        config = load_connector_config(settings.config)
        connectors = build_connectors(config.channels)
        ledger = await Ledger.open(settings.database_url)
        app.state.gateway = GatewayState(
            settings=settings,
            config=config,
            connectors=connectors,
            ledger=ledger,
            temporal=TemporalHolder(settings.temporal_address, settings.namespace),
        )
        try:
            yield
        finally:
            for connector in connectors.values():
                await connector.aclose()
            await ledger.close()

    app = FastAPI(
        title="Orderloop gateway",
        version="0.1.0",
        description="Channel webhooks in; operator API over the order workflows.",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    app.include_router(webhooks.router)
    app.include_router(operator_api.router)
    app.include_router(inventory_api.router)

    @app.get("/healthz", tags=["health"], summary="The process is up")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", tags=["health"], summary="Temporal and the ledger are reachable")
    async def readyz(state: State) -> JSONResponse:
        checks: dict[str, Any] = {}
        try:
            client = await state.temporal.get()
            await client.service_client.check_health()
            checks["temporal"] = "ok"
        except (TemporalUnavailable, RPCError, RuntimeError) as exc:
            checks["temporal"] = f"unreachable: {exc}"
        try:
            await state.ledger.ping()
            checks["ledger"] = "ok"
        except (SQLAlchemyError, LedgerError) as exc:
            checks["ledger"] = str(exc)
        ready = all(v == "ok" for v in checks.values())
        return JSONResponse({"ready": ready, **checks}, status_code=200 if ready else 503)

    return app
