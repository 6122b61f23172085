"""What the gateway holds for its lifetime: configuration, connectors, ledger and a Temporal
client that connects lazily, so the gateway starts (and answers 503) while Temporal is down."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from temporalio.client import Client

from connectors.base import Connector
from gateway.auth import FailedAuth, check_trusted_proxies
from orderloop.config import OrderloopConfig
from orderloop.exchange_log import ExchangeRecorder
from orderloop.ledger import Ledger
from orderloop.payload_codec import EncryptionCodec
from orderloop.settings import Settings
from orderloop.temporal_client import connect


class TemporalUnavailable(Exception):
    """Temporal cannot be reached; the sender should retry later."""

    status_code = 503


class TemporalBusy(TemporalUnavailable):
    """Temporal refused the call for its rate limit (e.g. visibility queries): 429."""

    status_code = 429


@dataclass
class TemporalHolder:
    address: str
    namespace: str
    connect_timeout: float = 5.0
    _client: Client | None = None
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def get(self) -> Client:
        if self._client is not None:
            return self._client
        async with self._lock:
            if self._client is None:
                try:
                    self._client = await asyncio.wait_for(
                        connect(self.address, self.namespace), timeout=self.connect_timeout
                    )
                except (RuntimeError, OSError, TimeoutError) as exc:
                    raise TemporalUnavailable(f"Temporal at {self.address} is unreachable: {exc}") from exc
        return self._client


@dataclass
class GatewayState:
    settings: Settings
    config: OrderloopConfig
    connectors: dict[str, Connector]
    ledger: Ledger
    temporal: TemporalHolder
    codec: EncryptionCodec  # the Temporal client's own payload codec, for the codec server
    # The exchange log's writer of this process (webhooks in, vendor calls out).
    exchange_log: ExchangeRecorder | None = None
    # Bad operator tokens per client address (gateway/auth.py), from the settings' limits.
    auth_failures: FailedAuth = field(init=False)

    def __post_init__(self) -> None:
        check_trusted_proxies(self.settings.trusted_proxies)
        self.auth_failures = FailedAuth.of(self.settings)
