"""Who is calling the operator API: the identity a request authenticates as, the addresses whose
identity header is trusted, and the lockout of a client address that keeps sending bad tokens.

The dependencies that use these are in gateway/deps.py (`Operator`, `Acting`); docs/operators.md
describes credentials, roles, production and proxies.
"""

from __future__ import annotations

import ipaddress
import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from functools import lru_cache
from typing import TypeVar

from pydantic import BaseModel

from orderloop.ledger import OperatorRole
from orderloop.settings import Settings

M = TypeVar("M", bound=BaseModel)

# The identity of the shared ORDERLOOP_API_TOKEN (the demo's), as every action was recorded before.
SHARED_OPERATOR = "operator"


class Via(StrEnum):
    TOKEN = "token"  # a named credential's bearer token
    SHARED_TOKEN = "shared token"  # ORDERLOOP_API_TOKEN (not in production)
    PROXY = "proxy header"  # a trusted proxy's identity header


@dataclass(frozen=True)
class OperatorIdentity:
    """The operator a request acts for: the name the order's timeline records, and the role."""

    name: str
    role: OperatorRole
    via: Via

    @property
    def may_act(self) -> bool:
        return self.role is OperatorRole.ACT

    def sign(self, request: M) -> M:
        """The action's request naming this operator, whatever its body said."""
        return request.model_copy(update={"operator": self.name})


@lru_cache(maxsize=16)
def _networks(value: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(part.strip(), strict=False) for part in value.split(",") if part.strip())


def check_trusted_proxies(value: str) -> None:
    """Raise ValueError naming the entry when ORDERLOOP_TRUSTED_PROXIES holds one that is no
    address or network."""
    for part in value.split(","):
        if part.strip():
            try:
                ipaddress.ip_network(part.strip(), strict=False)
            except ValueError as exc:
                raise ValueError(f"ORDERLOOP_TRUSTED_PROXIES: {part.strip()!r} is no address or network") from exc


def is_trusted_proxy(settings: Settings, address: str) -> bool:
    """Whether `address` (the request's client, i.e. the proxy's connection) is trusted to name
    its operator by header."""
    if not settings.operator_header or not settings.trusted_proxies.strip():
        return False
    try:
        client = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(client in network for network in _networks(settings.trusted_proxies))


@dataclass
class FailedAuth:
    """Bad bearer tokens per client address, in this gateway process's memory.

    `allowed` bad tokens within `window` seconds lock the address out for `lockout` seconds:
    during it every request of the address to the operator API is refused with 429, a good token
    too (the gateway cannot tell the attacker from the operator at that address, and answering a
    good token differently would tell the attacker it guessed right); the lockout ends by itself.
    Webhooks never pass here. Each gateway process counts on its own, so behind N gateways an
    address gets at most N times `allowed` guesses per window.
    """

    allowed: int = 10
    window: float = 60.0
    lockout: float = 300.0
    clock: Callable[[], float] = time.monotonic
    _failures: dict[str, deque[float]] = field(default_factory=dict)
    _locked_until: dict[str, float] = field(default_factory=dict)

    @classmethod
    def of(cls, settings: Settings) -> FailedAuth:
        return cls(
            allowed=settings.auth_failures_allowed,
            window=settings.auth_failure_window_seconds,
            lockout=settings.auth_lockout_seconds,
        )

    def retry_after(self, address: str) -> int | None:
        """Seconds until the address's lockout ends (at least 1), or None when it is not locked."""
        until = self._locked_until.get(address)
        if until is None:
            return None
        left = until - self.clock()
        if left <= 0:
            del self._locked_until[address]
            return None
        return max(1, math.ceil(left))

    def failed(self, address: str) -> None:
        """Count one bad token; the `allowed`-th within the window locks the address out."""
        now = self.clock()
        recent = self._failures.setdefault(address, deque())
        recent.append(now)
        while recent and recent[0] <= now - self.window:
            recent.popleft()
        if len(recent) >= self.allowed:
            self._locked_until[address] = now + self.lockout
            recent.clear()
        if len(self._failures) > 10_000:
            self._forget(now)

    def _forget(self, now: float) -> None:
        """Bound the memory: drop the addresses with no failure in the window."""
        for address in [a for a, times in self._failures.items() if not times or times[-1] <= now - self.window]:
            del self._failures[address]
