"""The gateway application: webhooks in, operator API, health. `python -m gateway` serves it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import SQLAlchemyError
from temporalio.service import RPCError

from connectors.registry import build_connectors, load_connector_config
from gateway import (
    codec_api,
    edi_api,
    exchanges_api,
    golive_api,
    holds_api,
    inventory_api,
    notices_api,
    operations_api,
    operator_api,
    returns_api,
    webhooks,
)
from gateway.deps import State
from gateway.errors import install_error_handlers
from gateway.ops_page import install_ops_page
from gateway.state import GatewayState, TemporalHolder, TemporalUnavailable
from orderloop import metrics
from orderloop.exchange_log import ExchangeRecorder
from orderloop.ledger import Ledger, LedgerError
from orderloop.payload_codec import EncryptionCodec
from orderloop.settings import Settings, get_settings
from orderloop.temporal_client import data_converter


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    # The payload keys are read now: a gateway without them refuses to start (PayloadKeyError).
    codec = data_converter().payload_codec
    assert isinstance(codec, EncryptionCodec)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        config = load_connector_config(settings.config)
        ledger = await Ledger.open(settings.database_url)
        exchange_log = ExchangeRecorder(ledger)
        exchange_log.start()
        # The gateway's calls to a vendor (confirming an unsigned webhook) share the workers' tokens.
        connectors = build_connectors(config.channels, token_store=ledger, exchange_log=exchange_log, records=ledger)
        app.state.gateway = GatewayState(
            settings=settings,
            config=config,
            connectors=connectors,
            ledger=ledger,
            temporal=TemporalHolder(settings.temporal_address, settings.namespace),
            codec=codec,
            exchange_log=exchange_log,
        )
        try:
            yield
        finally:
            for connector in connectors.values():
                await connector.aclose()
            await exchange_log.aclose()
            await ledger.close()

    app = FastAPI(
        title="Orderloop gateway",
        version="0.1.0",
        description="Channel webhooks in; operator API over the order workflows.",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    app.add_middleware(codec_api.CodecCors, origins=settings.codec_cors_origins)
    app.include_router(webhooks.router)
    app.include_router(operator_api.router)
    app.include_router(inventory_api.router)
    app.include_router(notices_api.router)
    app.include_router(holds_api.router)
    app.include_router(edi_api.router)
    app.include_router(golive_api.router)
    app.include_router(operations_api.router)
    app.include_router(exchanges_api.router)
    app.include_router(returns_api.router)
    app.include_router(codec_api.router)
    install_ops_page(app)

    @app.get("/healthz", tags=["health"], summary="The process is up")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/metrics", tags=["health"], summary="Prometheus metrics of this gateway (text format)")
    async def prometheus_metrics() -> Response:
        return Response(metrics.render(), media_type=metrics.CONTENT_TYPE)

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
