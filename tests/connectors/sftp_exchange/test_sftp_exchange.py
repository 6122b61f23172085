"""`SftpExchange` against the real SFTP server of `connectors.sftp_exchange.server`, on a free
loopback port per test: logins by password and by key, host-key checking, atomic writes,
listing order, moves, errors and their retryability, connection reuse."""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import asyncssh
import pytest
import pytest_asyncio

from connectors.file_exchange import FileExchangeError
from connectors.sftp_exchange import SftpAccess, SftpExchange
from connectors.sftp_exchange.server import SftpServer, SftpUser, generate_host_key, public_line, start_sftp_server

PASSWORD = "partner-password-1"
CLIENT_KEY = generate_host_key()


@pytest_asyncio.fixture
async def server(tmp_path: Path) -> AsyncIterator[SftpServer]:
    users = [
        SftpUser("brand", password=PASSWORD),
        SftpUser("keyed", authorized_keys=(public_line(CLIENT_KEY),)),
    ]
    running = await start_sftp_server(tmp_path / "root", users)
    yield running
    await running.close()


def access(server: SftpServer, **changes: object) -> SftpAccess:
    fields: dict[str, object] = {
        "host": server.host,
        "port": server.port,
        "username": "brand",
        "password": PASSWORD,
        "known_host_key": server.host_key,
        "operation_timeout": 10.0,
        "connect_timeout": 5.0,
    }
    fields.update(changes)
    return SftpAccess(**fields)  # type: ignore[arg-type]


async def test_password_login_writes_reads_lists_and_moves(server: SftpServer) -> None:
    exchange = SftpExchange(access(server))
    try:
        await exchange.write("outbound/orders/SR-1.csv", b"a,b\n1,2\n")
        assert (server.root / "outbound/orders/SR-1.csv").read_bytes() == b"a,b\n1,2\n"
        assert await exchange.read("outbound/orders/SR-1.csv") == b"a,b\n1,2\n"
        assert await exchange.exists("outbound/orders/SR-1.csv")
        assert not await exchange.exists("outbound/orders/SR-2.csv")
        await exchange.move("outbound/orders/SR-1.csv", "archive/SR-1.csv")
        assert (server.root / "archive/SR-1.csv").exists()
        assert not (server.root / "outbound/orders/SR-1.csv").exists()
        assert exchange.connections_opened == 1  # one connection for every call
    finally:
        await exchange.aclose()


async def test_private_key_login(server: SftpServer) -> None:
    private = CLIENT_KEY.export_private_key("openssh").decode()
    exchange = SftpExchange(access(server, username="keyed", password=None, private_key=private))
    try:
        await exchange.write("in/x.json", b"{}")
        assert (server.root / "in/x.json").read_bytes() == b"{}"
    finally:
        await exchange.aclose()


async def test_wrong_password_is_not_retryable(server: SftpServer) -> None:
    exchange = SftpExchange(access(server, password="wrong"))
    with pytest.raises(FileExchangeError, match="login refused") as caught:
        await exchange.list("")
    assert caught.value.retryable is False
    assert "brand" in server.refused_logins


async def test_unknown_key_is_refused(server: SftpServer) -> None:
    stranger = generate_host_key().export_private_key("openssh").decode()
    exchange = SftpExchange(access(server, username="keyed", password=None, private_key=stranger))
    with pytest.raises(FileExchangeError, match="login refused") as caught:
        await exchange.list("")
    assert caught.value.retryable is False


async def test_host_key_mismatch_is_refused_before_login(server: SftpServer) -> None:
    exchange = SftpExchange(access(server, known_host_key=public_line(generate_host_key())))
    with pytest.raises(FileExchangeError, match="host key") as caught:
        await exchange.list("")
    assert caught.value.retryable is False
    assert server.refused_logins == []  # no credential was tried on the impostor


async def test_connection_refused_is_retryable(server: SftpServer) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    exchange = SftpExchange(access(server, port=closed_port))
    with pytest.raises(FileExchangeError) as caught:
        await exchange.list("")
    assert caught.value.retryable is True


async def test_lost_connection_is_retryable_and_the_next_call_reconnects(server: SftpServer) -> None:
    exchange = SftpExchange(access(server))
    try:
        await exchange.write("a.txt", b"1")
        assert exchange._conn is not None
        exchange._conn.abort()  # the server side resets
        await asyncio.sleep(0.05)
        assert await exchange.read("a.txt") == b"1"
        assert exchange.connections_opened == 2
    finally:
        await exchange.aclose()


async def test_missing_file_and_existing_target(server: SftpServer) -> None:
    exchange = SftpExchange(access(server))
    try:
        with pytest.raises(FileExchangeError) as missing:
            await exchange.read("nope.csv")
        assert missing.value.retryable is False
        await exchange.write("inbox/a.csv", b"1")
        await exchange.write("archive/a.csv", b"old")
        with pytest.raises(FileExchangeError, match="already exists") as taken:
            await exchange.move("inbox/a.csv", "archive/a.csv")
        assert taken.value.retryable is False
        assert (server.root / "archive/a.csv").read_bytes() == b"old"
        with pytest.raises(FileExchangeError, match="leaves"):
            await exchange.read("../etc/passwd")
    finally:
        await exchange.aclose()


async def test_list_gives_regular_files_oldest_first_without_temporary_names(server: SftpServer) -> None:
    inbox = server.root / "inbox"
    (inbox / "sub").mkdir(parents=True)
    for name, mtime in [("b.csv", 1_000), ("a.csv", 2_000), ("c.csv", 1_000), (".part-d.csv", 500)]:
        (inbox / name).write_bytes(b"x")
        os.utime(inbox / name, (mtime, mtime))
    exchange = SftpExchange(access(server))
    try:
        listed = await exchange.list("inbox")
    finally:
        await exchange.aclose()
    assert [f.path for f in listed] == ["inbox/b.csv", "inbox/c.csv", "inbox/a.csv"]
    assert listed[0].size == 1 and listed[0].name == "b.csv"


async def test_write_is_atomic_a_reader_sees_the_old_file_or_the_whole_new_one(server: SftpServer) -> None:
    """While a large write is under way, the target holds the previous complete version (or
    nothing) and the bytes go to `.part-<name>`; a retried write replaces the same file."""
    exchange = SftpExchange(access(server))
    target = server.root / "out/SR-9.csv"
    old, new = b"old\n" * 10, b"new-line\n" * 400_000
    seen: set[bytes] = set()
    partial_seen = False
    try:
        await exchange.write("out/SR-9.csv", old)
        writing = asyncio.create_task(exchange.write("out/SR-9.csv", new))
        while not writing.done():
            seen.add(target.read_bytes())
            partial_seen = partial_seen or (server.root / "out/.part-SR-9.csv").exists()
            await asyncio.sleep(0)
        await writing
        seen.add(target.read_bytes())
    finally:
        await exchange.aclose()
    assert seen <= {old, new} and new in seen
    assert partial_seen  # the bytes were on their way under the temporary name
    assert sorted(p.name for p in (server.root / "out").iterdir()) == ["SR-9.csv"]


async def test_a_private_key_for_the_server_host_key_comes_from_openssh_text(tmp_path: Path) -> None:
    key = asyncssh.generate_private_key("ssh-ed25519")
    running = await start_sftp_server(tmp_path, [SftpUser("u", password="p")], host_key=key)
    try:
        assert running.host_key == public_line(key)
    finally:
        await running.close()
