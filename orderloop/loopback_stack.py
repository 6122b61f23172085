"""A stack on free loopback ports from a copy of the shipped sandbox configuration, for the
integration tests, the fault drills and the benchmarks: each run gets its own ports, task
queues and home directory, so runs side by side never see each other."""

from __future__ import annotations

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
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def loopback_config(directory: Path, hold_window: str = "0s") -> Path:
    """A copy of the shipped configuration in `directory` whose sandboxes listen on free ports."""
    text = SHIPPED_CONFIG.read_text()
    for port in sorted(set(re.findall(r"http://127\.0\.0\.1:(\d+)", text))):
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
        task_queue_prefix=f"it-{uuid.uuid4().hex[:8]}",
        api_token=TOKEN,
        sandbox_knobs=[f"{k}={v}" for k, v in (SHIP_DELAYS | knobs).items()],
    )
