"""How a sandbox answers errors: the kit's own `{"error": message, ...}` (its `/_sandbox`
controls, and vendors whose API answers that way), a vendor's own body as it is (`VendorError`),
and the vendor's error shape for every route the sandbox does not serve (404, 405), declared
once per sandbox as a function of status and message."""

from __future__ import annotations

import hmac
import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

# A vendor's error body for a status and a message: Shopify's `{"errors": "Not Found"}`.
ErrorShape = Callable[[int, str], Any]
# Headers a vendor puts on every API answer, errors included (Shopify's call limit).
ApiHeaders = Callable[[Request], Mapping[str, str]]


def kit_error_body(status: int, message: str) -> dict[str, Any]:
    """The kit's error shape, that of its controls: `{"error": message}`."""
    return {"error": message}


class SandboxError(Exception):
    """An error answer in the kit's shape: `{"error": message, **extra}` with `status`."""

    def __init__(self, status: int, message: str, headers: Mapping[str, str] | None = None, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = dict(headers or {})
        self.extra = extra


class VendorError(Exception):
    """An error answer in a vendor's own shape: `body` as it is, with `status` and `headers`."""

    def __init__(self, status: int, body: Any, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(str(body))
        self.status = status
        self.body = body
        self.headers = dict(headers or {})


def install_error_handler(app: FastAPI, shape: ErrorShape = kit_error_body, headers: ApiHeaders | None = None) -> None:
    """Render `SandboxError` in the kit's shape, `VendorError` as its body, and what the router
    refuses (unknown path 404, unknown method 405, with `Allow`) in `shape` outside `/_sandbox`.
    `headers(request)` joins every vendor answer."""

    def api_headers(request: Request) -> dict[str, str]:
        return dict(headers(request)) if headers is not None else {}

    async def sandbox_error(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, SandboxError)
        return JSONResponse({"error": exc.message, **exc.extra}, status_code=exc.status, headers=exc.headers)

    async def vendor_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, VendorError)
        return JSONResponse(exc.body, status_code=exc.status, headers={**api_headers(request), **exc.headers})

    async def not_served(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        render = kit_error_body if request.url.path.startswith("/_sandbox") else shape
        return JSONResponse(render(exc.status_code, str(exc.detail)), status_code=exc.status_code, headers=exc.headers)

    app.add_exception_handler(SandboxError, sandbox_error)
    app.add_exception_handler(VendorError, vendor_error)
    app.add_exception_handler(HTTPException, not_served)


async def read_json(request: Request, invalid: Callable[[str], Exception] | None = None) -> Any:
    """A request's JSON body (None when empty). Not JSON: `invalid(reason)` is raised, a vendor's
    own error shape, or by default a 400 `SandboxError` with the parser's reason."""
    raw = await request.body()
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError as exc:
        reason = f"body is not valid JSON: {exc}"
        raise (invalid(reason) if invalid else SandboxError(400, reason)) from None


def bearer_auth(token: str) -> Callable[[Request], Awaitable[None]]:
    """A dependency refusing requests without `Authorization: Bearer <token>` (401)."""

    async def check(request: Request) -> None:
        given = request.headers.get("authorization", "")
        scheme, _, value = given.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(value.strip(), token):
            raise SandboxError(
                401, "missing or wrong bearer token", {"WWW-Authenticate": "Bearer"}, hint="send Authorization: Bearer"
            )

    return check
