"""A real SFTP server on a local folder: AsyncSSH's server with its SFTP subsystem rooted
(chrooted) at the folder, users logging in by password and/or an authorised public key, and a
host key of its own. The sandbox of every file-speaking channel runs one, and tests start one
per test on a free loopback port:

    server = await start_sftp_server(folder, [SftpUser("brand", password="...")])
    server.host, server.port, server.host_key   # what a client configures
    ...
    await server.close()
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import asyncssh
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey


@dataclass(frozen=True)
class SftpUser:
    username: str
    password: str | None = None
    # OpenSSH public key lines this user may log in with.
    authorized_keys: tuple[str, ...] = ()


@dataclass
class SftpServer:
    """A running server; `host_key` is its public host key as an OpenSSH line."""

    host: str
    port: int
    host_key: str
    root: Path
    users: tuple[SftpUser, ...]
    _acceptor: asyncssh.SSHAcceptor
    # Logins refused so far, by user name (a test can assert the client stopped trying).
    refused_logins: list[str] = field(default_factory=list)

    async def close(self) -> None:
        self._acceptor.close()
        await self._acceptor.wait_closed()


def generate_host_key() -> asyncssh.SSHKey:
    return asyncssh.generate_private_key("ssh-ed25519")


def host_key_from_seed(seed: str) -> asyncssh.SSHKey:
    """An Ed25519 key derived from `seed`: the demo sandbox's fixed, non-secret host key, so the
    demo configuration can name its public half without a generated key file."""
    raw = hashlib.sha256(seed.encode()).digest()
    pem = Ed25519PrivateKey.from_private_bytes(raw).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return asyncssh.import_private_key(pem)


def public_line(key: asyncssh.SSHKey) -> str:
    return key.export_public_key("openssh").decode().strip()


class _Server(asyncssh.SSHServer):
    def __init__(self, server: SftpServer) -> None:
        self.server = server
        self.users = {u.username: u for u in server.users}

    def begin_auth(self, username: str) -> bool:
        return True  # every login authenticates

    def password_auth_supported(self) -> bool:
        return any(u.password is not None for u in self.users.values())

    def validate_password(self, username: str, password: str) -> bool:
        user = self.users.get(username)
        ok = user is not None and user.password is not None and hmac.compare_digest(user.password, password)
        if not ok:
            self.server.refused_logins.append(username)
        return ok

    def public_key_auth_supported(self) -> bool:
        return any(u.authorized_keys for u in self.users.values())

    def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        user = self.users.get(username)
        if user is None:
            self.server.refused_logins.append(username)
            return False
        wanted = {asyncssh.import_public_key(line).public_data for line in user.authorized_keys}
        ok = key.public_data in wanted
        if not ok:
            self.server.refused_logins.append(username)
        return ok


def _prepared(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    return root.resolve()


async def start_sftp_server(
    root: str | Path,
    users: Sequence[SftpUser],
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    host_key: asyncssh.SSHKey | None = None,
) -> SftpServer:
    """Serve SFTP on `root` (created if missing) at `host:port` (0: a free port) for `users`."""
    folder = _prepared(Path(root))
    key = host_key or generate_host_key()
    server: SftpServer

    def sftp_factory(chan: asyncssh.SSHServerChannel) -> asyncssh.SFTPServer:
        return asyncssh.SFTPServer(chan, chroot=str(folder).encode())

    acceptor = await asyncssh.create_server(
        lambda: _Server(server),
        host,
        port,
        server_host_keys=[key],
        sftp_factory=sftp_factory,
        allow_scp=False,
        config=None,
    )
    server = SftpServer(
        host=host,
        port=acceptor.get_port(),
        host_key=public_line(key),
        root=folder,
        users=tuple(users),
        _acceptor=acceptor,
    )
    return server
