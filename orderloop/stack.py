"""The whole embedded stack as processes: Temporal dev server, worker, gateway and sandbox
channels, started by module name (the core imports none of them) and stopped in reverse order.
Used by `orderloop up` and by the integration tests."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import httpx
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest

from orderloop.config import ConfigError, OrderloopConfig, load_config
from orderloop.contracts import orders_task_queue
from orderloop.devserver import DevServer
from orderloop.ledger import Cause, CauseKind, Ledger
from orderloop.payload_keys import ensure_local_key_file
from orderloop.sandbox_env import apply_sandbox_env
from orderloop.temporal_client import connect_when_up


@dataclass
class Stack:
    config_path: Path
    home: Path = Path(".orderloop")
    temporal_address: str | None = None
    temporal_port: int = 7233
    ui_port: int | None = 8233
    gateway_host: str = "127.0.0.1"
    gateway_port: int = 8000
    worker_metrics_port: int | None = None  # the worker's /metrics (none: not served)
    temporal_metrics_port: int | None = None  # the Temporal SDK's worker metrics (none: not served)
    database_url: str | None = None
    task_queue_prefix: str = "orderloop"
    api_token: str | None = None
    sandbox_knobs: list[str] = field(default_factory=list)
    temporal_args: list[str] = field(default_factory=list)  # more `temporal server start-dev` flags
    devserver: DevServer | None = None
    payload_key_file: Path | None = None  # the local key file start() made or used, if no keys were configured
    processes: list[tuple[str, subprocess.Popen[bytes]]] = field(default_factory=list)
    _commands: dict[str, tuple[str, ...]] = field(default_factory=dict)
    _logs: list[IO[bytes]] = field(default_factory=list)

    @property
    def gateway_url(self) -> str:
        return f"http://{self.gateway_host}:{self.gateway_port}"

    @property
    def codec_endpoint(self) -> str:
        """The gateway's codec server as the Web UI reaches it (`localhost`, the UI's own host)."""
        host = "localhost" if self.gateway_host in ("127.0.0.1", "0.0.0.0") else self.gateway_host
        return f"http://{host}:{self.gateway_port}/codec"

    @property
    def ui_origins(self) -> list[str]:
        return [f"http://{host}:{self.ui_port}" for host in ("localhost", "127.0.0.1")] if self.ui_port else []

    @property
    def logs_dir(self) -> Path:
        return self.home / "logs"

    @property
    def address(self) -> str:
        if self.temporal_address:
            return self.temporal_address
        assert self.devserver is not None
        return self.devserver.address

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            {
                "ORDERLOOP_CONFIG": str(self.config_path),
                "ORDERLOOP_DATABASE_URL": self.ledger_url,
                "ORDERLOOP_TEMPORAL_ADDRESS": self.address,
                "ORDERLOOP_TASK_QUEUE_PREFIX": self.task_queue_prefix,
                "ORDERLOOP_GATEWAY_HOST": self.gateway_host,
                "ORDERLOOP_GATEWAY_PORT": str(self.gateway_port),
                "ORDERLOOP_LOG_FORMAT": "json",
                # Where sandboxes that keep files (the EDI partner's SFTP folders) keep them.
                "ORDERLOOP_HOME": str(self.home.resolve()),
            }
        )
        if self.worker_metrics_port is not None:
            env["ORDERLOOP_WORKER_METRICS_PORT"] = str(self.worker_metrics_port)
        if self.temporal_metrics_port is not None:
            env["ORDERLOOP_TEMPORAL_METRICS_PORT"] = str(self.temporal_metrics_port)
        if self.api_token:
            env["ORDERLOOP_API_TOKEN"] = self.api_token
        if self.ui_origins:
            env["ORDERLOOP_CODEC_CORS_ORIGINS"] = json.dumps(self.ui_origins)
        return env

    @property
    def ledger_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.home / 'ledger.db').resolve()}"

    def _log(self, name: str) -> IO[bytes]:
        self.logs_dir.mkdir(parents=True, exist_ok=True)
        handle = open(self.logs_dir / f"{name}.log", "ab")
        self._logs.append(handle)
        return handle

    async def start(self) -> OrderloopConfig:
        apply_sandbox_env()
        config = load_config(self.config_path)
        await asyncio.to_thread(check_connector_types, self.config_path)
        self.home.mkdir(parents=True, exist_ok=True)
        # Payload keys before anything talks to Temporal: configured ones, or the local key file.
        self.payload_key_file = ensure_local_key_file(self.home)
        if not self.temporal_address:
            self.devserver = DevServer(
                db_file=(self.home / "temporal.db").resolve(),
                port=self.temporal_port,
                ui_port=self.ui_port,
                ui_codec_endpoint=self.codec_endpoint,
                log=self._log("temporal"),
                extra_args=list(self.temporal_args),
            )
            await self.devserver.start()
        await seed_stock(self.ledger_url, config)
        self.spawn(
            "sandboxes",
            "connectors.sandbox_server",
            "--config",
            str(self.config_path),
            "--gateway-url",
            self.gateway_url,
            *self._knob_args(),
        )
        self.spawn("worker", "workers.main")
        self.spawn("gateway", "gateway")
        await self.wait_http(f"{self.gateway_url}/readyz")
        for channel in config.channels:
            await self.wait_http(f"{channel.sandbox_base_url.rstrip('/')}/_sandbox/health")
        await self.wait_worker()
        return config

    def _knob_args(self) -> list[str]:
        return [arg for knob in self.sandbox_knobs for arg in ("--knob", knob)]

    def spawn(self, name: str, module: str, *args: str) -> subprocess.Popen[bytes]:
        self._commands[name] = (module, *args)
        log = self._log(name)
        process = subprocess.Popen(
            [sys.executable, "-m", module, *args], env=self.env(), stdout=log, stderr=log, start_new_session=True
        )
        self.processes.append((name, process))
        return process

    async def wait_http(self, url: str, timeout: float = 60.0) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        async with httpx.AsyncClient(timeout=2) as client:
            while asyncio.get_running_loop().time() < deadline:
                self._exited()
                try:
                    if (await client.get(url)).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.2)
        raise RuntimeError(f"{url} not ready after {timeout:.0f}s; logs in {self.logs_dir}")

    def _exited(self) -> None:
        for name, process in self.processes:
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited with code {process.returncode}; see {self.logs_dir / name}.log")

    async def wait_worker(self, timeout: float = 60.0) -> None:
        """Until a worker polls the orders task queue: the stack is up only when orders can run
        (a worker connects on its own time, and waits for a Temporal that is not up yet)."""
        deadline = asyncio.get_running_loop().time() + timeout
        client = await asyncio.wait_for(connect_when_up(self.address), timeout)
        request = DescribeTaskQueueRequest(
            namespace=client.namespace,
            task_queue=TaskQueue(name=orders_task_queue(self.task_queue_prefix)),
            task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
        )
        while asyncio.get_running_loop().time() < deadline:
            self._exited()
            if (await client.workflow_service.describe_task_queue(request)).pollers:
                return
            await asyncio.sleep(0.2)
        raise RuntimeError(
            f"no worker polls {request.task_queue.name} after {timeout:.0f}s; see {self.logs_dir}/worker.log"
        )

    def kill(self, name: str) -> None:
        """SIGKILL one process (fault drills)."""
        for proc_name, process in self.processes:
            if proc_name == name and process.poll() is None:
                process.kill()
                process.wait()

    def restart(self, name: str) -> subprocess.Popen[bytes]:
        """Start a killed process again with the command it was first started with."""
        self.processes = [(n, p) for n, p in self.processes if n != name or p.poll() is None]
        module, *args = self._commands[name]
        return self.spawn(name, module, *args)

    def stop(self) -> None:
        for _, process in reversed(self.processes):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for _, process in reversed(self.processes):
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.processes.clear()
        if self.devserver is not None:
            self.devserver.stop()
        for handle in self._logs:
            handle.close()
        self._logs.clear()


def check_connector_types(config_path: Path) -> None:
    """Refuse a configuration whose channels name no connector package: the connector registry
    checks it in a process of its own, so the core imports no connector."""
    done = subprocess.run(
        [sys.executable, "-m", "connectors.registry", str(config_path)], capture_output=True, text=True
    )
    if done.returncode != 0:
        raise ConfigError(done.stderr.strip() or f"connectors.registry exited with code {done.returncode}")


async def seed_stock(database_url: str, config: OrderloopConfig) -> int:
    """Receive each location's `seed_stock` for SKUs the ledger has never seen (sandbox demo)."""
    ledger = await Ledger.open(database_url)
    seeded = 0
    try:
        for location in config.locations:
            if not location.seed_stock:
                continue
            for sku, quantity in location.seed_stock.items():
                if not any(level.location_id == location.id for level in await ledger.stock(sku)):
                    await ledger.receive(sku, location.id, quantity, Cause(kind=CauseKind.SYSTEM, ref="seed_stock"))
                    seeded += 1
    finally:
        await ledger.close()
    return seeded
