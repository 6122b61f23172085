"""Injected faults: `POST /_sandbox/faults` makes the next API calls answer an error status
(503, 429 with `Retry-After`), so drills and tests see a vendor that fails on demand."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from pydantic import BaseModel, ConfigDict, Field

from connectors.sandbox_kit.errors import SandboxError


class FaultSpec(BaseModel):
    """`POST /_sandbox/faults`: the next `count` API calls (optionally only under `path_prefix`)
    answer `status`, with `Retry-After: retry_after` when given."""

    model_config = ConfigDict(extra="forbid")

    status: int = Field(ge=400, le=599)
    count: int = Field(default=1, ge=0)
    retry_after: float | None = Field(default=None, ge=0)
    path_prefix: str | None = None


class FaultInjector:
    """Armed faults for a sandbox's API routes (never its `/_sandbox` controls)."""

    def __init__(self) -> None:
        self.spec: FaultSpec | None = None
        self.remaining = 0
        self.injected = 0

    def arm(self, spec: FaultSpec) -> None:
        self.spec = spec
        self.remaining = spec.count

    def clear(self) -> None:
        self.spec = None
        self.remaining = 0

    def take(self, path: str) -> FaultSpec | None:
        """The fault this call gets, if one is armed for it (consumes one)."""
        spec = self.spec
        if spec is None or self.remaining <= 0 or path.startswith("/_sandbox"):
            return None
        if spec.path_prefix and not path.startswith(spec.path_prefix):
            return None
        self.remaining -= 1
        self.injected += 1
        return spec

    async def check(self, request: Request) -> None:
        """Dependency for API routes: raise the armed fault, if any."""
        spec = self.take(request.url.path)
        if spec is None:
            return
        headers = {}
        if spec.retry_after is not None:
            # Retry-After is whole seconds on the wire; round up so a client never retries early.
            headers["Retry-After"] = str(max(0, int(-(-spec.retry_after // 1))))
        reason = "rate limited" if spec.status == 429 else "service unavailable"
        raise SandboxError(spec.status, f"{reason} (injected sandbox fault)", headers)

    def state(self) -> dict[str, Any]:
        return {
            "armed": self.spec.model_dump() if self.spec and self.remaining > 0 else None,
            "remaining": self.remaining,
            "injected": self.injected,
        }


def install_fault_routes(app: FastAPI, faults: FaultInjector) -> None:
    """`POST /_sandbox/faults` (arm), `GET` (state), `DELETE` (disarm)."""

    @app.post("/_sandbox/faults")
    async def arm_faults(spec: FaultSpec) -> dict[str, Any]:
        """{"status": 503|429, "count"?, "retry_after"?, "path_prefix"?}: the next API calls answer it"""
        faults.arm(spec)
        return faults.state()

    @app.get("/_sandbox/faults")
    async def fault_state() -> dict[str, Any]:
        """the armed fault, how many calls it still fails, how many it failed"""
        return faults.state()

    @app.delete("/_sandbox/faults")
    async def clear_faults() -> dict[str, Any]:
        """disarm"""
        faults.clear()
        return faults.state()
