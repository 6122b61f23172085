"""The codec server (bearer token): `POST /codec/encode` and `POST /codec/decode` as the
Temporal Web UI and the `temporal` CLI call them, so an operator reads the decrypted payloads
of an order's history there (`temporal workflow show --codec-endpoint .../codec --codec-auth
"Bearer $ORDERLOOP_API_TOKEN"`); without it they see ciphertext.

The protocol is Temporal's (docs.temporal.io/codec-server; the reference implementation is
`samples-python/encryption/codec_server.py`): the body is a `temporal.api.common.v1.Payloads`
in proto3 JSON, `{"payloads": [{"metadata": {"encoding": "<base64>"}, "data": "<base64>"}]}`,
and the answer is the same shape with every payload encoded or decoded; the caller names its
namespace in `X-Namespace`. The Web UI calls from its own origin, so these two paths answer
CORS (`CodecCors`) for the configured UI origins, with the `X-Namespace`, `Content-Type` and
`Authorization` headers and credentials allowed; the operator API stays without CORS.

The embedded stack's Web UI has no login, so it cannot send a bearer token: outside production,
while the gateway runs on the shared sandbox token (which is public: the demo's), a request
without credentials from one of the configured UI origins on a loopback address is served as
the read-only identity `embedded-ui` (`codec_caller`). Everything else authenticates as the
operator API does."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Request, Response
from google.protobuf import json_format
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send
from temporalio.api.common.v1 import Payloads

from gateway.auth import OperatorIdentity, OperatorRole, Via
from gateway.deps import State, bearer_scheme, require_operator
from gateway.errors import GatewayError
from orderloop.payload_codec import PayloadDecryptError
from orderloop.settings import SANDBOX_API_TOKEN

EMBEDDED_UI = OperatorIdentity("embedded-ui", OperatorRole.READ, Via.SHARED_TOKEN)
_LOOPBACK = {"127.0.0.1", "::1", "localhost"}

PREFIX = "/codec"
router = APIRouter(prefix=PREFIX, tags=["codec server"])

BODY_EXAMPLE = {"payloads": [{"metadata": {"encoding": "YmluYXJ5L2VuY3J5cHRlZA=="}, "data": "..."}]}


async def _payloads(request: Request, state: State, namespace: str | None) -> Payloads:
    if namespace is not None and namespace != state.settings.namespace:
        raise GatewayError(
            404,
            f"this codec server serves namespace {state.settings.namespace!r}, not {namespace!r}",
            "point the UI or CLI of that namespace at its own codec server",
        )
    try:
        return json_format.Parse(await request.body(), Payloads())
    except json_format.ParseError as exc:
        raise GatewayError(
            400,
            f"not a Payloads body: {exc}",
            'send {"payloads": [{"metadata": {...}, "data": "<base64>"}]} (proto3 JSON, bytes as base64)',
        ) from None


def _answer(payloads: Payloads) -> Response:
    return Response(json_format.MessageToJson(payloads, indent=None), media_type="application/json")


async def codec_caller(request: Request, state: State) -> OperatorIdentity:
    """Who calls the codec server (module docstring): the embedded UI in the demo, else an operator."""
    settings = state.settings
    demo = not settings.production and settings.api_token == SANDBOX_API_TOKEN
    origin = request.headers.get("origin")
    address = request.client.host if request.client is not None else ""
    if (
        demo
        and "authorization" not in request.headers
        and origin in settings.codec_cors_origins
        and address in _LOOPBACK
    ):
        return EMBEDDED_UI
    credentials = await bearer_scheme(request)
    return await require_operator(request, state, credentials)


Caller = Annotated[OperatorIdentity, Depends(codec_caller)]


@router.post(
    "/encode",
    summary="Encrypt payloads as Orderloop's workers would (Temporal's codec server protocol)",
    openapi_extra={"requestBody": {"content": {"application/json": {"example": BODY_EXAMPLE}}}},
)
async def encode(
    request: Request,
    state: State,
    _: Caller,
    x_namespace: Annotated[str | None, Header(description="the caller's Temporal namespace")] = None,
) -> Response:
    payloads = await _payloads(request, state, x_namespace)
    return _answer(Payloads(payloads=await state.codec.encode(payloads.payloads)))


@router.post(
    "/decode",
    summary="Decrypt payloads for the Temporal UI and CLI (Temporal's codec server protocol)",
    openapi_extra={"requestBody": {"content": {"application/json": {"example": BODY_EXAMPLE}}}},
)
async def decode(
    request: Request,
    state: State,
    _: Caller,
    x_namespace: Annotated[str | None, Header(description="the caller's Temporal namespace")] = None,
) -> Response:
    payloads = await _payloads(request, state, x_namespace)
    try:
        decoded = await state.codec.decode(payloads.payloads)
    except PayloadDecryptError as exc:
        raise GatewayError(422, str(exc), "configure the key that encrypted it on the gateway") from None
    return _answer(Payloads(payloads=decoded))


class CodecCors:
    """CORS for the codec server's paths only: the Web UI (another origin) calls them from the
    browser, with `X-Namespace` and, if configured, credentials. A preflight (`OPTIONS`) is
    answered here, before authentication, as browsers send it without credentials."""

    def __init__(self, app: ASGIApp, origins: list[str]) -> None:
        self.app = app
        self.cors = CORSMiddleware(
            app,
            allow_origins=origins,
            allow_methods=["POST"],
            allow_headers=["Content-Type", "X-Namespace", "Authorization"],
            allow_credentials=True,
            max_age=600,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(PREFIX + "/"):
            await self.cors(scope, receive, send)
        else:
            await self.app(scope, receive, send)
