"""A sandbox's knobs: a pydantic model validated at start (values from the command line arrive as
strings) and changed at run time through `POST /_sandbox/config`."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Generic, TypeVar

from fastapi import FastAPI
from pydantic import BaseModel, ValidationError

from connectors.sandbox_kit.errors import SandboxError

K = TypeVar("K", bound=BaseModel)


class KnobHolder(Generic[K]):
    """A sandbox's knobs as a pydantic model: validated at start (values from the command line
    arrive as strings) and changed at run time through `POST /_sandbox/config`."""

    def __init__(self, model: type[K], values: Mapping[str, Any]) -> None:
        self.model = model
        self.value: K = model.model_validate(dict(values))

    def update(self, changes: Mapping[str, Any]) -> K:
        self.value = self.model.model_validate(self.value.model_dump() | dict(changes))
        return self.value


def knob_errors(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'knobs'}: {e['msg']}" for e in exc.errors())


def install_config_routes(
    app: FastAPI, knobs: KnobHolder[Any], on_change: Callable[[dict[str, Any]], None] | None = None
) -> None:
    """`GET /_sandbox/config` (current knobs), `POST /_sandbox/config` (change some; 422 with the
    reason for an unknown knob or a bad value). `on_change` gets the applied changes, for knobs
    that set state (e.g. initial stock)."""

    @app.get("/_sandbox/config")
    async def get_config() -> dict[str, Any]:
        """the sandbox's knobs"""
        return dict(knobs.value.model_dump(mode="json"))

    @app.post("/_sandbox/config")
    async def set_config(changes: dict[str, Any]) -> dict[str, Any]:
        """{knob: value, ...}: change some (422 with the reason for an unknown knob or a bad value)"""
        try:
            value = knobs.update(changes)
        except ValidationError as exc:
            raise SandboxError(422, knob_errors(exc)) from None
        if on_change is not None:
            on_change(changes)
        return dict(value.model_dump(mode="json"))
