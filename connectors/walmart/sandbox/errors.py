"""Walmart's error body (GatewayError) for every sandbox route."""

from __future__ import annotations

from typing import Any

from connectors.sandbox_kit import VendorError


def walmart_error(
    status: int, code: str, description: str, info: str | None = None, field_: str = "data"
) -> VendorError:
    """Walmart's error body (GatewayError): `{"errors": [{code, field, description, info, ...}]}`."""
    error: dict[str, Any] = {
        "code": code,
        "field": field_,
        "description": description,
        "info": info or description,
        "severity": "ERROR",
        "category": "DATA" if status < 500 else "SYSTEM",
        "causes": [],
        "errorIdentifiers": {},
    }
    return VendorError(status, {"errors": [error]})


def error_body(status: int, message: str) -> dict[str, Any]:
    code = {404: "CONTENT_NOT_FOUND.GMP_GATEWAY_API", 405: "METHOD_NOT_ALLOWED.GMP_GATEWAY_API"}.get(
        status, "SYSTEM_ERROR.GMP_GATEWAY_API"
    )
    body: dict[str, Any] = walmart_error(status, code, message).body
    return body
