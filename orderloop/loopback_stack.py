"""A stack on free loopback ports from a copy of the shipped sandbox configuration, for the
integration tests, the fault drills and the benchmarks: each run gets its own ports, task
queues and home directory, so runs side by side never see each other."""

from __future__ import annotations

import os
import random
import re
import socket
import uuid
from pathlib import Path

from orderloop.stack import Stack

SHIPPED_CONFIG = Path(__file__).resolve().parents[1] / "orderloop.yaml"
TOKEN = "integration-token"
# Sandbox knobs of every run: the 3PLs ship a moment after a request, not a second.
SHIP_DELAYS = {
    "wms.ship_delay": "0.2",
    "shipbob.ship_delay": "0.2",
    "logiwa.ship_delay": "0.2",
    "rydership.ship_delay": "0.2",
    "netsuite.fulfill_delay": "0.2",
    "files.ship_delay": "0.2",
}


# Ports handed out by this process: never handed out twice.
_handed: set[int] = set()


def _ephemeral_low(default: int = 32768) -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return default


def _port_slice() -> range:
    """Where this process picks its ports: below the kernel's ephemeral range (an outgoing
    connection takes its local port from there, so a port probed there can be taken by any
    client before the server binds it), and, in a parallel test run, a slice of that range
    of its own per test process (pytest-xdist's PYTEST_XDIST_WORKER gwN of
    PYTEST_XDIST_WORKER_COUNT), so two processes never probe the same port."""
    high = _ephemeral_low()
    low = max(1024, high - 12_000)
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    count = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1") or 1)
    if worker.startswith("gw") and worker[2:].isdigit() and count > 1:
        size = (high - low) // count
        start = low + int(worker[2:]) % count * size
        return range(start, start + size)
    return range(low, high)


def free_port() -> int:
    """A loopback port free now, from this process's slice (see `_port_slice`); the kernel's
    pick when the slice has none left."""
    candidates = _port_slice()
    for _ in range(500):
        port = random.choice(candidates)
        if port in _handed:
            continue
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        _handed.add(port)
        return port
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        found: int = sock.getsockname()[1]
        return found


def loopback_config(directory: Path, hold_window: str = "0s") -> Path:
    """A copy of the shipped configuration in `directory` whose sandboxes listen on free ports."""
    text = SHIPPED_CONFIG.read_text()
    # Every loopback URL: the sandboxes' http ones and an SFTP sandbox's `sftp://user@127.0.0.1:port`.
    for port in sorted(set(re.findall(r"(?:http|sftp)://(?:[\w.-]+@)?127\.0\.0\.1:(\d+)", text))):
        text = text.replace(f"127.0.0.1:{port}", f"127.0.0.1:{free_port()}")
    text = re.sub(r"hold_window: \S+", f"hold_window: {hold_window}", text)
    path = directory / "orderloop.yaml"
    path.write_text(text)
    return path


def make_stack(directory: Path, **knobs: str) -> Stack:
    return Stack(
        config_path=loopback_config(directory),
        home=directory / ".orderloop",
        temporal_port=free_port(),
        ui_port=None,
        gateway_port=free_port(),
        worker_metrics_port=free_port(),
        temporal_metrics_port=free_port(),
        task_queue_prefix=f"it-{uuid.uuid4().hex[:8]}",
        api_token=TOKEN,
        sandbox_knobs=[f"{k}={v}" for k, v in (SHIP_DELAYS | knobs).items()],
    )
