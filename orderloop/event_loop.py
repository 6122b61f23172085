"""How Orderloop's processes run their asyncio loop: on uvloop where it is installed (Linux and
macOS; a dependency there), else on the standard loop. uvloop's sockets, timers and thread
wake-ups cost less CPU per call; the gateway gets it (and httptools) from uvicorn's "auto"."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def run(main: Coroutine[Any, Any, T]) -> T:
    try:
        import uvloop
    except ImportError:  # Windows: no uvloop
        return asyncio.run(main)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(main)
