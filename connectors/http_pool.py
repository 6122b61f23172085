"""HTTP clients of one connection each, lent one per request, for callers that make many
requests at once to the same server (a connector's calls to its vendor, a sandbox's webhook
deliveries, the benchmark's senders).

httpx's connection pool looks at every connection it holds twice per request (is it closed, has
it expired: a `select` on each idle socket), so one client shared by many requests at once costs
more CPU per request the more connections it keeps: on loopback, 3.0-3.6 ms per request with 30
at once through one client, 1.3-1.4 ms with one client (and one connection) per caller
(docs/performance.md). Lending a whole client per request keeps each pool at one connection,
still kept alive from one request to the next."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx

_ONE = httpx.Limits(max_connections=1, max_keepalive_connections=1)


class ClientPool:
    """Lends `httpx.AsyncClient`s built with `client_options` (timeout, transport, ...), each
    limited to one connection; as many exist as requests ran at once, at most."""

    def __init__(self, **client_options: Any) -> None:
        self._options = client_options
        self._idle: list[httpx.AsyncClient] = []  # the most recently returned last
        self._all: set[httpx.AsyncClient] = set()
        self._closed = False

    @asynccontextmanager
    async def client(self) -> AsyncIterator[httpx.AsyncClient]:
        """A client for one request (its response read before the block ends)."""
        if self._closed:
            raise RuntimeError("the client pool is closed")
        # The one used last first: its connection is the likeliest to be still open.
        http = self._idle.pop() if self._idle else self._new()
        try:
            yield http
        finally:
            if self._closed or http.is_closed:
                self._all.discard(http)
                await http.aclose()
            else:
                self._idle.append(http)

    def _new(self) -> httpx.AsyncClient:
        if "verify" not in self._options:
            # One TLS context for all of them: httpx builds one per client by default, loading
            # the CA bundle each time (54 ms of CPU per client against 0.24 ms with it shared).
            self._options["verify"] = httpx.create_ssl_context()
        http = httpx.AsyncClient(limits=_ONE, **self._options)
        self._all.add(http)
        return http

    @property
    def size(self) -> int:
        """Clients made and not closed (the most requests that ran at once)."""
        return len(self._all)

    async def aclose(self) -> None:
        self._closed = True
        clients, self._all, self._idle = list(self._all), set(), []
        for http in clients:
            await http.aclose()
