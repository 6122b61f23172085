"""FastAPI dependencies: the gateway's state, the order service, the inbound intake, the stock
service, and operator authentication (`Operator`: who calls, any role; `Acting`: who calls an
action, role act; the identity and the lockout are in gateway/auth.py).

All `async def`, though none awaits: FastAPI runs a plain `def` dependency on a worker thread,
one thread hop per dependency per request."""

from __future__ import annotations

import hmac
from typing import Annotated

import structlog
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from gateway.auth import SHARED_OPERATOR, OperatorIdentity, Via, is_trusted_proxy
from gateway.errors import GatewayError
from gateway.order_service import OrderService
from gateway.return_service import ReturnService
from gateway.state import GatewayState
from gateway.stock_service import StockService
from orderloop.ledger import InvalidOperatorName, OperatorRole
from orderloop.ledger.operators import check_operator_name
from orderloop.order_intake import Intake

# Channel and location ids as the configuration allows them (they go into visibility queries).
ID_PATTERN = r"^[a-z0-9][a-z0-9_-]*$"

bearer_scheme = HTTPBearer(
    auto_error=False,
    description="an operator's token (`orderloop operators add NAME`); outside production also ORDERLOOP_API_TOKEN",
)
log = structlog.get_logger("orderloop.gateway")


async def get_state(request: Request) -> GatewayState:
    state: GatewayState = request.app.state.gateway
    return state


State = Annotated[GatewayState, Depends(get_state)]


async def get_orders(state: State) -> OrderService:
    return OrderService(state)


Orders = Annotated[OrderService, Depends(get_orders)]


async def get_returns(state: State) -> ReturnService:
    return ReturnService(state)


Returns = Annotated[ReturnService, Depends(get_returns)]


async def get_intake(state: State, orders: Orders) -> Intake:
    return Intake(state.ledger, orders.start_workflow)


Inbound = Annotated[Intake, Depends(get_intake)]


async def get_stock(state: State) -> StockService:
    return StockService(state.config, state.ledger)


Stock = Annotated[StockService, Depends(get_stock)]


async def require_operator(
    request: Request,
    state: State,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> OperatorIdentity:
    """Who calls the operator API: a trusted proxy's identity header, a named operator's token,
    or (outside production) the shared ORDERLOOP_API_TOKEN as the demo identity "operator"."""
    settings = state.settings
    address = request.client.host if request.client is not None else ""
    retry_after = state.auth_failures.retry_after(address)
    if retry_after is not None:
        raise GatewayError(
            429,
            f"too many bad tokens from {address}",
            f"every request from it is refused for {retry_after} s more, a good token too",
            headers={"Retry-After": str(retry_after)},
        )
    if settings.operator_header and is_trusted_proxy(settings, address):
        named = request.headers.get(settings.operator_header)
        if named:
            return _proxy_identity(
                settings.operator_header, named, request.headers.get(settings.operator_role_header or "")
            )
    if credentials is None:
        hint = "send Authorization: Bearer <your operator token>" + (
            "" if settings.production else " (or the shared ORDERLOOP_API_TOKEN, outside production)"
        )
        raise GatewayError(401, "missing bearer token", hint)
    token = credentials.credentials
    found = await state.ledger.operator_by_token(token)
    if found is not None:
        if found.revoked:
            raise GatewayError(401, f"operator {found.name}'s token is revoked", "ask for a new credential")
        return OperatorIdentity(found.name, found.role, Via.TOKEN)
    if hmac.compare_digest(token.encode(), settings.api_token.encode()):
        if settings.production:
            raise GatewayError(
                401,
                "the shared ORDERLOOP_API_TOKEN is refused in production",
                "create a named credential with `orderloop operators add NAME` and send its token",
            )
        return OperatorIdentity(SHARED_OPERATOR, OperatorRole.ACT, Via.SHARED_TOKEN)
    state.auth_failures.failed(address)
    raise GatewayError(
        401, "wrong bearer token", "send your operator token (`orderloop operators add NAME` issues one)"
    )


def _proxy_identity(header: str, named: str, role: str | None) -> OperatorIdentity:
    try:
        name = check_operator_name(named.strip())
    except InvalidOperatorName as exc:
        raise GatewayError(401, f"the proxy's {header} header names no valid operator", str(exc)) from None
    read_only = role is not None and role.strip().lower() == OperatorRole.READ
    return OperatorIdentity(name, OperatorRole.READ if read_only else OperatorRole.ACT, Via.PROXY)


Operator = Annotated[OperatorIdentity, Depends(require_operator)]


async def require_acting_operator(request: Request, who: Operator) -> OperatorIdentity:
    """An operator who may take actions (role act); a read-only one is refused with 403."""
    if not who.may_act:
        raise GatewayError(
            403,
            f"operator {who.name} is read-only",
            "this action needs a credential with role act (`orderloop operators add NAME --role act`)",
        )
    log.info("operator action", operator=who.name, via=who.via, method=request.method, path=request.url.path)
    return who


Acting = Annotated[OperatorIdentity, Depends(require_acting_operator)]
