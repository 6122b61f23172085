"""Route tables: a sandbox declares its API and its controls as data (method, path, handler, one
line of doc), and the kit installs them behind the table's dependencies (faults, auth, rate
limit). The doc lines are what `GET /_sandbox` lists.

A handler takes a `Call` (path parameters already converted, query, JSON body) and returns the
JSON to answer, or a `Response` of its own; an `endpoint` is a plain FastAPI endpoint instead,
for routes whose query FastAPI validates."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import Depends, FastAPI, Request, Response
from fastapi.responses import JSONResponse

from connectors.sandbox_kit.errors import ApiHeaders, SandboxError, read_json

_WITH_BODY = frozenset({"POST", "PUT", "PATCH"})
# The words pydantic reads as booleans, as FastAPI parses a `bool` query parameter.
_TRUE = frozenset({"1", "on", "t", "true", "y", "yes"})
_FALSE = frozenset({"0", "off", "f", "false", "n", "no"})


@dataclass(frozen=True)
class Call:
    """One request as a handler sees it."""

    request: Request
    path: Mapping[str, Any]
    query: Mapping[str, str]
    body: Any = None

    def flag(self, name: str, default: bool = False) -> bool:
        """A boolean query parameter (`?duplicate=true`); another word answers 422."""
        raw = self.query.get(name)
        if raw is None:
            return default
        if raw.strip().lower() in _TRUE:
            return True
        if raw.strip().lower() in _FALSE:
            return False
        raise SandboxError(422, f"{name} must be true or false, not {raw!r}")


Handler = Callable[[Call], Any]


@dataclass(frozen=True)
class Route:
    """`METHOD path`: answered by `handler` (a `Call` in, JSON out, `status` on success) or by a
    FastAPI `endpoint`. `doc` is its line on `GET /_sandbox` (an endpoint's docstring otherwise)."""

    method: str
    path: str
    handler: Handler | None = None
    doc: str = ""
    status: int = 200
    endpoint: Callable[..., Any] | None = None

    def __post_init__(self) -> None:
        if (self.handler is None) == (self.endpoint is None):
            raise ValueError(f"route {self.method} {self.path}: give a handler or an endpoint")


@dataclass(frozen=True)
class RouteTable:
    """Routes under one prefix and the dependencies every one of them runs first, in order.
    `invalid_json(reason)` is the vendor's answer to a body that is not JSON; `headers(request)`
    joins every answer a handler makes (a vendor's call-limit headers)."""

    routes: Sequence[Route]
    prefix: str = ""
    dependencies: Sequence[Callable[..., Any]] = ()
    invalid_json: Callable[[str], Exception] | None = None
    headers: ApiHeaders | None = None


def _endpoint(route: Route, table: RouteTable) -> Callable[..., Any]:
    handler = route.handler
    assert handler is not None
    reads_body = route.method.upper() in _WITH_BODY

    async def endpoint(request: Request, response: Response) -> Response:
        body = await read_json(request, table.invalid_json) if reads_body else None
        result = handler(Call(request, request.path_params, request.query_params, body))
        if isinstance(result, Response):
            return result
        # Headers a dependency set (ShipBob's remaining calls) join the answer.
        headers = {**(table.headers(request) if table.headers else {}), **response.headers}
        return JSONResponse(result, status_code=route.status, headers=headers)

    endpoint.__name__ = f"{route.method.lower()}_{route.path}"
    return endpoint


def install_routes(app: FastAPI, table: RouteTable) -> None:
    """Add the table's routes to `app` itself (not through an included router, so the app's own
    route list, which `GET /_sandbox` reads, holds them), in order, behind its dependencies."""
    dependencies = [Depends(d) for d in table.dependencies]
    for route in table.routes:
        app.add_api_route(
            table.prefix + route.path,
            route.endpoint or _endpoint(route, table),
            methods=[route.method.upper()],
            status_code=route.status,
            description=route.doc or None,
            dependencies=dependencies,
            response_class=JSONResponse,
        )
