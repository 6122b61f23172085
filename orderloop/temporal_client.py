"""One way to connect to Temporal, with the data converter every client, worker, test
environment and replayer must use.

It is Temporal's pydantic converter (`json/plain` payloads, validated into the type each call
names) built once per process. The SDK asks the converter class for a new instance several
times per workflow activation (a data converter per serialization context); Temporal's own
pydantic converter then rebuilds its composite, its serializer and an empty `TypeAdapter` cache
each time, about a quarter of the worker's workflow CPU. Orderloop's converters carry no
per-context state, so every instance request gets the same one.

Every payload is encrypted (`orderloop/payload_codec.py`) with the keys of the process's
environment (`orderloop/payload_keys.py`): `build_data_converter` is the one place a converter
is made, `data_converter()` the process's own, built once per key configuration.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import os
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import structlog
from pydantic import TypeAdapter
from temporalio.client import Client
from temporalio.contrib.pydantic import PydanticJSONPlainPayloadConverter
from temporalio.converter import (
    CompositePayloadConverter,
    DataConverter,
    DefaultPayloadConverter,
    JSONPlainPayloadConverter,
)
from temporalio.runtime import Runtime
from temporalio.service import RPCError, RPCStatusCode

from orderloop.payload_codec import EncryptionCodec
from orderloop.payload_keys import KEY_FILE_ENV, KEYS_ENV, PayloadKeyring, keyring_from_env

_adapter = functools.lru_cache(maxsize=2048)(TypeAdapter)


class _SharedAdapterJSONConverter(PydanticJSONPlainPayloadConverter):
    def __init__(self) -> None:
        super().__init__()
        self._type_adapter: Any = _adapter


class OrderloopPayloadConverter(CompositePayloadConverter):
    """Temporal's default payload converters with pydantic JSON; one instance per process."""

    _instance: OrderloopPayloadConverter | None = None

    def __new__(cls) -> OrderloopPayloadConverter:
        if cls._instance is None:
            instance = super().__new__(cls)
            json_converter = _SharedAdapterJSONConverter()
            CompositePayloadConverter.__init__(
                instance,
                *(
                    json_converter if isinstance(c, JSONPlainPayloadConverter) else c
                    for c in DefaultPayloadConverter.default_encoding_payload_converters
                ),
            )
            cls._instance = instance
        return cls._instance

    def __init__(self) -> None:
        """Initialised once, in `__new__`."""


_unencrypted = DataConverter(payload_converter_class=OrderloopPayloadConverter)


def build_data_converter(keyring: PayloadKeyring) -> DataConverter:
    """The converter of every client, worker, test environment and replayer: pydantic JSON
    payloads, encrypted under `keyring` (unencrypted payloads of older histories still read)."""
    return dataclasses.replace(_unencrypted, payload_codec=EncryptionCodec(keyring))


def data_converter() -> DataConverter:
    """This process's converter, from the payload keys in its environment (PayloadKeyError,
    saying what to set, when there are none)."""
    return _converter_for(os.environ.get(KEYS_ENV, ""), os.environ.get(KEY_FILE_ENV, ""))


@functools.lru_cache(maxsize=4)
def _converter_for(keys: str, key_file: str) -> DataConverter:
    return build_data_converter(keyring_from_env({KEYS_ENV: keys, KEY_FILE_ENV: key_file}))


log = structlog.get_logger("orderloop.temporal")


async def connect(address: str, namespace: str = "default", runtime: Runtime | None = None) -> Client:
    return await Client.connect(address, namespace=namespace, data_converter=data_converter(), runtime=runtime)


async def connect_when_up(
    address: str,
    namespace: str = "default",
    *,
    first_delay: float = 0.5,
    max_delay: float = 10.0,
    runtime: Runtime | None = None,
) -> Client:
    """Connect, waiting for a server that is not reachable yet (a worker started before Temporal,
    or while it restarts): a refused connection is retried on a doubling delay up to `max_delay`,
    each one logged with the address, for as long as it takes. `runtime`: the SDK runtime to
    connect on (the worker's exports the SDK's metrics), the SDK's default one if None."""
    delay = first_delay
    while True:
        try:
            return await connect(address, namespace, runtime)
        except RuntimeError as exc:  # the SDK's "Failed client connect: ..."
            log.warning("temporal.unreachable", address=address, retry_in_seconds=delay, error=str(exc))
            await asyncio.sleep(delay)
            delay = min(delay * 2, max_delay)


T = TypeVar("T")


async def until_reachable(
    call: Callable[[], Awaitable[T]], what: str, *, first_delay: float = 0.5, max_delay: float = 10.0
) -> T:
    """`call()`, again while Temporal answers UNAVAILABLE (it is restarting, or not up yet), on a
    doubling delay up to `max_delay`, each try logged; any other error is raised. For calls a
    process cannot go on without, such as the worker's start-up (the SDK's own retries of one
    call give up after about ten seconds)."""
    delay = first_delay
    while True:
        try:
            return await call()
        except RPCError as exc:
            if exc.status is not RPCStatusCode.UNAVAILABLE:
                raise
            log.warning("temporal.unreachable", doing=what, retry_in_seconds=delay, error=str(exc))
            await asyncio.sleep(delay)
            delay = min(delay * 2, max_delay)
