"""The flat-file channel's exchange: an `SftpExchange` built from the channel's configuration
(`base_url: sftp://host:port`, the SFTP user in `settings.username`, credentials `password`
and/or `private_key` (with `passphrase`), and `known_host_key`, the server's public host key),
and the mapping of exchange errors onto the connector error tree."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

from connectors.base import PermanentError, RetryableError
from connectors.file_exchange import FileExchangeError
from connectors.flatfile.settings import FlatFileSettings
from connectors.sftp_exchange import SftpAccess
from orderloop.config import ChannelConfig, ConfigError

DEFAULT_PORT = 22


def sftp_address(channel: ChannelConfig) -> tuple[str, int]:
    url = urlsplit(channel.base_url)
    if url.scheme != "sftp" or not url.hostname:
        raise ConfigError(f"channel {channel.id!r}: base_url must be sftp://host[:port], not {channel.base_url!r}")
    return url.hostname, url.port or DEFAULT_PORT


def _optional(channel: ChannelConfig, name: str) -> str | None:
    return channel.credential(name) if name in channel.credentials else None


def sftp_access(channel: ChannelConfig, settings: FlatFileSettings) -> SftpAccess:
    host, port = sftp_address(channel)
    password, private_key = _optional(channel, "password"), _optional(channel, "private_key")
    if password is None and private_key is None:
        raise ConfigError(f"channel {channel.id!r}: credentials need a password or a private_key for SFTP")
    return SftpAccess(
        host=host,
        port=port,
        username=settings.username,
        known_host_key=channel.credential("known_host_key"),
        password=password,
        private_key=private_key,
        passphrase=_optional(channel, "passphrase"),
        root=settings.root,
        connect_timeout=settings.connect_timeout_seconds,
        operation_timeout=settings.operation_timeout_seconds,
    )


@contextmanager
def exchange_errors(what: str) -> Iterator[None]:
    """`FileExchangeError` as the connector error tree: retryable or permanent as it says."""
    try:
        yield
    except FileExchangeError as exc:
        if exc.retryable:
            raise RetryableError(f"{what}: {exc}") from exc
        raise PermanentError(f"{what}: {exc}") from exc
