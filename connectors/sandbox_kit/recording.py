"""What a sandbox received: every answered API request (body and status included) and every
webhook send, kept in memory for tests and the demo to read under `/_sandbox/requests` and
`/_sandbox/deliveries`."""

from __future__ import annotations

import json
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: Any
    status: int
    at: float


@dataclass
class Delivery:
    """One send of a webhook: its attempts until a 2xx (`delivered`) or `max_attempts` (`gave_up`).
    `headers` are those of the latest attempt."""

    url: str
    headers: dict[str, str]
    body: Any
    webhook_id: str | None = None
    attempts: int = 0
    status: int | None = None
    delivered: bool = False
    gave_up: bool = False
    at: float = field(default_factory=time.time)


class Recorder:
    """Keeps every request the sandbox answered (bounded), newest last."""

    def __init__(self, limit: int = 20_000) -> None:
        self.requests: deque[RecordedRequest] = deque(maxlen=limit)
        self.deliveries: deque[Delivery] = deque(maxlen=limit)

    def matching(self, method: str | None = None, path_prefix: str | None = None) -> list[RecordedRequest]:
        return [
            r
            for r in self.requests
            if (method is None or r.method == method.upper())
            and (path_prefix is None or r.path.startswith(path_prefix))
        ]


def decode_body(body: bytes) -> Any:
    """A body as JSON when it parses, else as text (None when empty)."""
    if not body:
        return None
    try:
        return json.loads(body)
    except ValueError:
        return body.decode("utf-8", "replace")


class Recording:
    """ASGI middleware: records every answered request outside `/_sandbox` with its body (read
    whole before the app runs, so a request refused unread is recorded too) and its status.
    Plain ASGI rather than an `@app.middleware("http")` function, whose response streaming
    through a task group was a quarter of the sandboxes' CPU in the end-to-end benchmark."""

    def __init__(self, app: ASGIApp, recorder: Recorder) -> None:
        self.app = app
        self.recorder = recorder

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/_sandbox"):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        while True:
            message = await receive()
            if message["type"] != "http.request":
                await self.app(scope, receive, send)  # the client went away: nothing to record
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def watch(message: Message) -> None:
            # Recorded as the answer starts, before the client can see it.
            if message["type"] == "http.response.start":
                self.recorder.requests.append(
                    RecordedRequest(
                        method=scope["method"],
                        path=scope["path"],
                        query=scope["query_string"].decode("latin-1"),
                        headers={k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]},
                        body=decode_body(body),
                        status=message["status"],
                        at=time.time(),
                    )
                )
            await send(message)

        await self.app(scope, replay, watch)
