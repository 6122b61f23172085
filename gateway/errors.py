"""Domain errors of the gateway and the one handler that turns them into HTTP answers: every
error body says what was wrong and what to do."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from connectors.base import WebhookError
from gateway.state import TemporalUnavailable
from orderloop.ledger import LedgerUnavailable


class GatewayError(Exception):
    def __init__(
        self,
        status_code: int,
        message: str,
        hint: str | None = None,
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message
        self.hint = hint
        # More of what the operator needs, beside the error and the hint (a held order's hold).
        self.extra = extra or {}
        self.headers = headers


def _body(message: str, hint: str | None) -> dict[str, Any]:
    return {"error": message, **({"hint": hint} if hint else {})}


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(GatewayError)
    async def gateway_error(_: Request, exc: GatewayError) -> JSONResponse:
        return JSONResponse(
            {**_body(exc.message, exc.hint), **exc.extra}, status_code=exc.status_code, headers=exc.headers
        )

    @app.exception_handler(WebhookError)
    async def webhook_error(_: Request, exc: WebhookError) -> JSONResponse:
        hint = (
            "sign the raw body with the channel's webhook secret"
            if exc.status_code == 401
            else "send the channel's documented webhook payload"
        )
        return JSONResponse(_body(str(exc), hint), status_code=exc.status_code)

    @app.exception_handler(LedgerUnavailable)
    async def ledger_down(_: Request, exc: LedgerUnavailable) -> JSONResponse:
        return JSONResponse(
            _body(str(exc), "nothing was accepted; retry later"), status_code=503, headers={"Retry-After": "5"}
        )

    @app.exception_handler(TemporalUnavailable)
    async def temporal_down(_: Request, exc: TemporalUnavailable) -> JSONResponse:
        return JSONResponse(
            _body(str(exc), "nothing was accepted; retry later"),
            status_code=exc.status_code,
            headers={"Retry-After": "5" if exc.status_code == 503 else "1"},
        )
