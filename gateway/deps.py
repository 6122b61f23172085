"""FastAPI dependencies: the gateway's state, the order service, the inbound intake, the stock
service, and operator authentication.

All `async def`, though none awaits: FastAPI runs a plain `def` dependency on a worker thread,
one thread hop per dependency per request."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from gateway.errors import GatewayError
from gateway.order_service import OrderService
from gateway.state import GatewayState
from gateway.stock_service import StockService
from orderloop.order_intake import Intake

_bearer = HTTPBearer(auto_error=False, description="ORDERLOOP_API_TOKEN")


async def get_state(request: Request) -> GatewayState:
    state: GatewayState = request.app.state.gateway
    return state


State = Annotated[GatewayState, Depends(get_state)]


async def get_orders(state: State) -> OrderService:
    return OrderService(state)


Orders = Annotated[OrderService, Depends(get_orders)]


async def get_intake(state: State, orders: Orders) -> Intake:
    return Intake(state.ledger, orders.start_workflow)


Inbound = Annotated[Intake, Depends(get_intake)]


async def get_stock(state: State) -> StockService:
    return StockService(state.config, state.ledger)


Stock = Annotated[StockService, Depends(get_stock)]


async def require_operator(
    state: State, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> str:
    if credentials is None:
        raise GatewayError(401, "missing bearer token", "send Authorization: Bearer <ORDERLOOP_API_TOKEN>")
    if not hmac.compare_digest(credentials.credentials, state.settings.api_token):
        raise GatewayError(401, "wrong bearer token", "use the value of ORDERLOOP_API_TOKEN")
    return "operator"


Operator = Annotated[str, Depends(require_operator)]
