"""The flat-file partner for `make run` and the tests: a real SFTP server (AsyncSSH,
`connectors.sftp_exchange.server`) on the host and port of the channel's `sftp://` base_url,
rooted at a folder of its own, with the channel's SFTP user (its `password` credential and/or the
public keys in the knob `authorized_keys`) and the demo's fixed host key (derived from
`SANDBOX_HOST_KEY_SEED`, so `known_host_key` can name it; `GET /_sandbox/host-key` shows it).

It behaves as a warehouse that works from files: with `auto_ship` it collects each order file
Orderloop writes (moves it to `partner/received/`), and `ship_delay` seconds later drops a
shipment file for it in the inbound shipments folder (one row per line, one tracking number per
order). With `inventory_on_start` it drops one inventory snapshot file of the stock it holds.

Controls on the channel's `sandbox_url`: `GET /_sandbox/health`, `GET /_sandbox/host-key`,
`GET /_sandbox/files?folder=` (what is there), `GET /_sandbox/file?path=` (a file's bytes),
`PUT /_sandbox/file?path=` (drop a file, atomically: the bytes go to a temporary name first),
`GET|POST /_sandbox/config` (knobs)."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import structlog
from fastapi import FastAPI, HTTPException, Request, Response
from pydantic import BaseModel, ConfigDict

from connectors.base import SandboxOptions
from connectors.file_exchange import TEMPORARY_PREFIX
from connectors.flatfile import mapping
from connectors.flatfile.client import sftp_address
from connectors.flatfile.settings import FlatFileSettings, Layout, settings_of
from connectors.sandbox_kit.knobs import KnobHolder, install_config_routes
from connectors.sftp_exchange.server import SftpServer, SftpUser, host_key_from_seed, public_line, start_sftp_server

log = structlog.get_logger("orderloop.sandbox.flatfile")

# Not a secret: the demo's SFTP host key is derived from it (SANDBOX_ENV names its public half).
SANDBOX_HOST_KEY_SEED = "orderloop-flatfile-sandbox-host-key"
RECEIVED_FOLDER = "partner/received"


class Knobs(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Collect order files and answer each with a shipment file.
    auto_ship: bool = True
    ship_delay: float = 1.0
    inventory_on_start: bool = True
    # Public keys (OpenSSH lines) the channel's user may also log in with.
    authorized_keys: list[str] = []
    # The folder the SFTP server serves (default: a new temporary folder).
    root: str | None = None


class Partner:
    """The warehouse side of the exchange: the SFTP server and what it does with the files."""

    def __init__(self, options: SandboxOptions) -> None:
        self.channel = options.channel
        self.settings: FlatFileSettings = settings_of(options.channel)
        self.knobs = KnobHolder(Knobs, options.knobs)
        self.stock = options.stock
        root = self.knobs.value.root or tempfile.mkdtemp(prefix=f"orderloop-sftp-{self.channel.id}-")
        self.root = Path(root)
        self.server: SftpServer | None = None
        self._task: asyncio.Task[None] | None = None
        self._shipped = 0

    def folder(self, relative: str) -> Path:
        path = (self.root / relative.strip("/")).resolve()
        if not path.is_relative_to(self.root.resolve()):
            raise HTTPException(400, f"{relative!r} leaves the sandbox's root")
        return path

    async def start(self) -> None:
        for folder in (
            self.settings.orders_folder,
            self.settings.cancels_folder,
            self.settings.shipments_folder,
            self.settings.inventory_folder,
            self.settings.archive_folder,
            self.settings.error_folder,
            RECEIVED_FOLDER,
        ):
            self.folder(folder).mkdir(parents=True, exist_ok=True)
        password = self.channel.credential("password") if "password" in self.channel.credentials else None
        user = SftpUser(
            self.settings.username, password=password, authorized_keys=tuple(self.knobs.value.authorized_keys)
        )
        host, port = sftp_address(self.channel)
        self.server = await start_sftp_server(
            self.root, [user], host=host, port=port, host_key=host_key_from_seed(SANDBOX_HOST_KEY_SEED)
        )
        if self.knobs.value.inventory_on_start and self.stock:
            self.drop(f"{self.settings.inventory_folder}/INV-start{self.settings.extension}", self.inventory_file())
        self._task = asyncio.create_task(self._warehouse())
        log.info("sandbox.sftp", channel=self.channel.id, host=host, port=port, root=str(self.root))

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self.server is not None:
            await self.server.close()

    def drop(self, relative: str, data: bytes) -> Path:
        """A file the partner puts on the exchange, whole: written under a temporary name first."""
        target = self.folder(relative)
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(TEMPORARY_PREFIX + target.name)
        temporary.write_bytes(data)
        os.replace(temporary, target)
        return target

    # --- the warehouse ------------------------------------------------------------------------

    async def _warehouse(self) -> None:
        while True:
            await asyncio.sleep(0.2)
            if not self.knobs.value.auto_ship:
                continue
            orders = self.folder(self.settings.orders_folder)
            for path in sorted(p for p in orders.iterdir() if p.is_file() and not p.name.startswith(TEMPORARY_PREFIX)):
                received = self.folder(RECEIVED_FOLDER) / path.name
                os.replace(path, received)
                asyncio.get_running_loop().call_later(
                    self.knobs.value.ship_delay, functools.partial(self._ship, received)
                )

    def _ship(self, order_file: Path) -> None:
        try:
            lines = self.order_lines(order_file.read_bytes())
        except (mapping.FileFormatError, ValueError) as exc:
            log.warning("sandbox.flatfile.unreadable_order", file=order_file.name, reason=str(exc))
            return
        if not lines:
            return
        self._shipped += 1
        request_id = lines[0][0]
        tracking = f"1ZFILES{self._shipped:08d}"
        c = self.settings.shipment_columns
        rows = [
            {c.request_id: request_id, c.sku: sku, c.quantity: str(qty), c.tracking_number: tracking}
            | ({c.carrier: "UPS"} if c.carrier else {})
            for _, sku, qty in lines
        ]
        header = list(rows[0])
        self.drop(
            f"{self.settings.shipments_folder}/SHIP-{self._shipped:06d}{self.settings.extension}",
            self.render(header, rows),
        )

    def order_lines(self, data: bytes) -> list[tuple[str, str, int]]:
        """(request id, sku, quantity) of each line of an order file, by the channel's columns."""
        c = self.settings.order_columns
        rows = mapping.read_rows(data, self.settings, [c.request_id])
        found = []
        for row in rows:
            v = row.values
            if self.settings.layout is Layout.UNWIND:
                found.append((v[c.request_id], v[c.sku], int(v[c.quantity])))
                continue
            for n in range(1, self.settings.flat_max_lines + 1):
                if v.get(f"{c.sku}_{n}"):
                    found.append((v[c.request_id], v[f"{c.sku}_{n}"], int(v[f"{c.quantity}_{n}"])))
        return found

    def inventory_file(self) -> bytes:
        c = self.settings.inventory_columns
        codes = {location: code for code, location in self.settings.warehouses.items()}
        rows = []
        for location, levels in sorted(self.stock.items()):
            for sku, units in sorted(levels.items()):
                row = {c.sku: sku, c.on_hand: str(units)}
                if c.location:
                    row[c.location] = codes.get(location, location)
                rows.append(row)
        header = [c.sku, c.on_hand] + ([c.location] if c.location else [])
        return self.render(header, rows)

    def render(self, header: list[str], rows: list[dict[str, str]]) -> bytes:
        return mapping.render_rows(header, rows, self.settings)


def create_app(options: SandboxOptions) -> FastAPI:
    partner = Partner(options)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await partner.start()
        try:
            yield
        finally:
            await partner.stop()

    app = FastAPI(title=f"flat-file partner sandbox ({options.channel.id})", lifespan=lifespan)
    app.state.partner = partner
    install_config_routes(app, partner.knobs)

    @app.get("/_sandbox/health")
    async def health() -> dict[str, Any]:
        return {"ok": partner.server is not None}

    @app.get("/_sandbox/host-key")
    async def host_key() -> dict[str, Any]:
        """the SFTP server's public host key (what `known_host_key` must be)"""
        return {
            "hostKey": public_line(host_key_from_seed(SANDBOX_HOST_KEY_SEED)),
            "port": sftp_address(options.channel)[1],
        }

    @app.get("/_sandbox/files")
    async def list_files(folder: str = "") -> dict[str, Any]:
        """?folder=: the regular files in a folder (no temporary names), by name"""
        where = partner.folder(folder)
        if not where.is_dir():
            raise HTTPException(404, f"no folder {folder!r}")
        files = sorted(p for p in where.iterdir() if p.is_file() and not p.name.startswith(TEMPORARY_PREFIX))
        return {"folder": folder, "files": [{"name": p.name, "size": p.stat().st_size} for p in files]}

    @app.get("/_sandbox/file")
    async def read_file(path: str) -> Response:
        """?path=: a file's bytes (a query parameter, since order files' names hold %2F)"""
        target = partner.folder(path)
        if not target.is_file():
            raise HTTPException(404, f"no file {path!r}")
        return Response(target.read_bytes(), media_type="application/octet-stream")

    @app.put("/_sandbox/file", status_code=201)
    async def drop_file(path: str, request: Request) -> dict[str, Any]:
        """?path=: drop a file (the request body) there, e.g. in the inbound shipments folder"""
        target = partner.drop(path, await request.body())
        return {"path": path, "size": target.stat().st_size}

    return app
