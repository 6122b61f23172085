"""`SftpExchange`: a `FileExchange` over SFTP, with one SSH connection reused across calls.

What it keeps (see `connectors.file_exchange`): `write` sends the bytes to `.part-<name>` and
renames them into place with `posix-rename@openssh.com` (SFTPv3's own RENAME refuses an
existing target, so without the extension the old file is removed first and the rename
follows); `list` gives regular files only, no temporary names, oldest first then by name;
`move` refuses an existing target (plain SFTPv3 RENAME does).

Authentication is by password or private key (or both, the key tried first); the server's host
key must be the configured one (`known_host_key`, an OpenSSH public key line): an SFTP server
that presents another key is refused before any credential is sent. Errors become
`FileExchangeError`: a refused login, a wrong host key, a missing file or a permission refusal
are not retryable; a refused, reset or timed-out connection is.
"""

from __future__ import annotations

import asyncio
import posixpath
import stat
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

import asyncssh

from connectors.file_exchange import TEMPORARY_PREFIX, FileExchangeError, RemoteFile

T = TypeVar("T")
_Keys = list[asyncssh.SSHKey]


@dataclass(frozen=True)
class SftpAccess:
    """Where the SFTP server is and how to log in."""

    host: str
    port: int
    username: str
    # The server's public host key, as an OpenSSH line ("ssh-ed25519 AAAA...").
    known_host_key: str
    password: str | None = None
    # A private key in OpenSSH or PEM format (its text), and its passphrase if it has one.
    private_key: str | None = None
    passphrase: str | None = None
    # The folder on the server the exchange's paths are relative to.
    root: str = "/"
    connect_timeout: float = 15.0
    # Each SFTP operation (one list, read, write, move) must finish within this.
    operation_timeout: float = 60.0


class SftpExchange:
    """A `FileExchange` on an SFTP server; `aclose` ends its connection."""

    def __init__(self, access: SftpAccess) -> None:
        if access.password is None and access.private_key is None:
            raise ValueError(f"SFTP user {access.username!r}: a password or a private key is needed")
        self.access = access
        self._conn: asyncssh.SSHClientConnection | None = None
        self._sftp: asyncssh.SFTPClient | None = None
        self._lock = asyncio.Lock()
        # How many SSH connections this exchange opened (reuse is the point: one, unless lost).
        self.connections_opened = 0

    # --- the FileExchange protocol ------------------------------------------------------------

    async def list(self, folder: str) -> list[RemoteFile]:
        async def op(sftp: asyncssh.SFTPClient) -> list[RemoteFile]:
            files = []
            for entry in await sftp.readdir(self._remote(folder)):
                name = str(entry.filename)
                attrs = entry.attrs
                if name.startswith(TEMPORARY_PREFIX) or not _regular(attrs):
                    continue
                files.append(
                    RemoteFile(
                        path=posixpath.join(folder.strip("/"), name),
                        size=attrs.size or 0,
                        modified_at=datetime.fromtimestamp(attrs.mtime or 0, UTC),
                    )
                )
            return sorted(files, key=lambda f: (f.modified_at, f.path))

        return await self._run(f"list {folder!r}", op)

    async def read(self, path: str) -> bytes:
        async def op(sftp: asyncssh.SFTPClient) -> bytes:
            async with sftp.open(self._remote(path), "rb") as handle:
                data = await handle.read()
            return data if isinstance(data, bytes) else data.encode()

        return await self._run(f"read {path!r}", op)

    async def write(self, path: str, data: bytes) -> None:
        target = self._remote(path)
        temporary = posixpath.join(posixpath.dirname(target), TEMPORARY_PREFIX + posixpath.basename(target))

        async def op(sftp: asyncssh.SFTPClient) -> None:
            await sftp.makedirs(posixpath.dirname(target), exist_ok=True)
            async with sftp.open(temporary, "wb") as handle:
                await handle.write(data)
            try:
                await sftp.posix_rename(temporary, target)
            except asyncssh.SFTPOpUnsupported:
                if await sftp.exists(target):
                    await sftp.remove(target)
                await sftp.rename(temporary, target)

        await self._run(f"write {path!r}", op)

    async def move(self, source: str, destination: str) -> None:
        origin, target = self._remote(source), self._remote(destination)

        async def op(sftp: asyncssh.SFTPClient) -> None:
            if await sftp.exists(target):
                raise FileExchangeError(f"{destination!r} already exists on the exchange", retryable=False)
            await sftp.makedirs(posixpath.dirname(target), exist_ok=True)
            await sftp.rename(origin, target)

        await self._run(f"move {source!r} to {destination!r}", op)

    async def exists(self, path: str) -> bool:
        async def op(sftp: asyncssh.SFTPClient) -> bool:
            return bool(await sftp.exists(self._remote(path)))

        return await self._run(f"check {path!r}", op)

    async def aclose(self) -> None:
        async with self._lock:
            conn, self._conn, self._sftp = self._conn, None, None
        if conn is not None:
            conn.close()
            await conn.wait_closed()

    # --- the connection -------------------------------------------------------------------------

    def _remote(self, path: str) -> str:
        relative = posixpath.normpath(path.lstrip("/")) if path.strip("/") else "."
        if relative.startswith(".."):
            raise FileExchangeError(f"path {path!r} leaves the exchange's root", retryable=False)
        return posixpath.normpath(posixpath.join(self.access.root, relative))

    async def _client(self) -> asyncssh.SFTPClient:
        async with self._lock:
            if self._sftp is not None and self._conn is not None and not self._conn.is_closed():
                return self._sftp
            self._conn, self._sftp = None, None
            conn = await asyncssh.connect(
                self.access.host,
                self.access.port,
                username=self.access.username,
                password=self.access.password,
                client_keys=self._client_keys(),
                passphrase=self.access.passphrase,
                known_hosts=self._known_hosts(),
                connect_timeout=self.access.connect_timeout,
                login_timeout=self.access.connect_timeout,
                agent_path=None,
                preferred_auth=self._preferred_auth(),
                config=None,
            )
            self.connections_opened += 1
            try:
                self._sftp = await conn.start_sftp_client()
            except BaseException:
                conn.close()
                raise
            self._conn = conn
            return self._sftp

    def _known_hosts(self) -> tuple[_Keys, _Keys, _Keys]:
        try:
            key = asyncssh.import_public_key(self.access.known_host_key)
        except (asyncssh.KeyImportError, ValueError) as exc:
            problem = f"SFTP known_host_key is not an OpenSSH public key: {exc}"
            raise FileExchangeError(problem, retryable=False) from None
        return ([key], [], [])

    def _client_keys(self) -> _Keys | None:
        if self.access.private_key is None:
            return None
        try:
            return [asyncssh.import_private_key(self.access.private_key, self.access.passphrase)]
        except (asyncssh.KeyImportError, ValueError) as exc:
            raise FileExchangeError(f"SFTP private key cannot be read: {exc}", retryable=False) from None

    def _preferred_auth(self) -> tuple[str, ...]:
        methods = []
        if self.access.private_key is not None:
            methods.append("publickey")
        if self.access.password is not None:
            methods += ["keyboard-interactive", "password"]
        return tuple(methods)

    async def _run(self, what: str, op: Callable[[asyncssh.SFTPClient], Awaitable[T]]) -> T:
        where = f"SFTP {self.access.username}@{self.access.host}:{self.access.port}: {what}"
        try:
            sftp = await self._client()
            return await asyncio.wait_for(op(sftp), self.access.operation_timeout)
        except FileExchangeError:
            raise
        except asyncssh.PermissionDenied as exc:
            raise FileExchangeError(f"{where}: login refused ({exc.reason})", retryable=False) from None
        except asyncssh.HostKeyNotVerifiable as exc:
            raise FileExchangeError(
                f"{where}: the server's host key is not the configured known_host_key ({exc.reason})", retryable=False
            ) from None
        except (asyncssh.SFTPNoSuchFile, asyncssh.SFTPPermissionDenied, asyncssh.SFTPFileAlreadyExists) as exc:
            raise FileExchangeError(f"{where}: {exc.reason}", retryable=False) from None
        except asyncssh.SFTPError as exc:
            await self._drop()
            raise FileExchangeError(f"{where}: SFTP error {exc.code}: {exc.reason}") from None
        except (asyncssh.DisconnectError, asyncssh.ChannelOpenError, ConnectionError, OSError, TimeoutError) as exc:
            await self._drop()
            raise FileExchangeError(f"{where}: {type(exc).__name__}: {exc}") from None

    async def _drop(self) -> None:
        """Forget a connection that failed, so the next call (Temporal's retry) opens a new one."""
        async with self._lock:
            conn, self._conn, self._sftp = self._conn, None, None
        if conn is not None:
            conn.abort()


def _regular(attrs: asyncssh.SFTPAttrs) -> bool:
    if attrs.type is not None and attrs.type != asyncssh.FILEXFER_TYPE_UNKNOWN:
        return bool(attrs.type == asyncssh.FILEXFER_TYPE_REGULAR)
    return attrs.permissions is not None and stat.S_ISREG(attrs.permissions)
