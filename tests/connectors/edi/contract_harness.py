"""The EDI connector's contract harness (file-selling role): the connector over real SFTP on the
sandbox trading partner, its records in a SQLite ledger of its own, the partner's moves through
the sandbox's controls."""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from connectors.base import SandboxOptions
from connectors.edi import EdiConnector
from connectors.edi.sandbox import create_app, sandbox_host_key
from connectors.file_exchange import FileExchange, FileExchangeError, RemoteFile
from orderloop.edi_records import InterchangeStatus
from orderloop.ledger import Ledger
from orderloop.loopback_stack import free_port
from tests.connectors.edi.conftest import FIXTURES, partner_channel

PASSWORD_VAR = "ORDERLOOP_CONTRACT_EDI_SFTP_PASSWORD"


class Unreachable:
    """A `FileExchange` whose next operation fails as an unreachable server does, then recovers."""

    def __init__(self, inner: FileExchange) -> None:
        self.inner = inner
        self.failing = False

    def _check(self) -> None:
        if self.failing:
            self.failing = False
            raise FileExchangeError("connection refused by 127.0.0.1", retryable=True)

    async def list(self, folder: str) -> list[RemoteFile]:
        self._check()
        return await self.inner.list(folder)

    async def read(self, path: str) -> bytes:
        self._check()
        return await self.inner.read(path)

    async def write(self, path: str, data: bytes) -> None:
        self._check()
        await self.inner.write(path, data)

    async def move(self, source: str, destination: str) -> None:
        self._check()
        await self.inner.move(source, destination)

    async def exists(self, path: str) -> bool:
        self._check()
        return await self.inner.exists(path)

    async def aclose(self) -> None:
        close = getattr(self.inner, "aclose", None)
        if close is not None:
            await close()


class EdiHarness:
    def __init__(self, connector: EdiConnector, http: httpx.AsyncClient, ledger: Ledger, faults: Unreachable) -> None:
        self._connector = connector
        self.http = http
        self.ledger = ledger
        self.faults = faults
        self.last_po: str | None = None

    @property
    def connector(self) -> EdiConnector:
        return self._connector

    async def _control(self, method: str, path: str, **kwargs: Any) -> Any:
        response = await self.http.request(method, f"/_sandbox/{path}", **kwargs)
        assert response.is_success, response.text
        return response.json()

    async def drop_order(self) -> str:
        placed = await self._control(
            "POST",
            "purchase-orders",
            json={
                "lines": [
                    {"sku": "TSHIRT-BLK-M", "quantity": 24, "price": "7.50", "casePack": 12},
                    {"sku": "MUG-11OZ", "quantity": 6, "price": "4.25"},
                ],
                "shipNoLater": "2099-12-31",
                "markFor": "0231",
            },
        )
        self.last_po = str(placed["poNumber"])
        return self.last_po

    async def resend_last(self) -> None:
        assert self.last_po is not None
        await self._control("POST", f"purchase-orders/{self.last_po}/resend")

    async def drop_malformed(self) -> None:
        await self._control(
            "POST", "files", params={"name": "malformed.x12"}, content=(FIXTURES / "850_malformed.x12").read_bytes()
        )

    async def acknowledgements(self) -> list[str]:
        read = await self._control("GET", "documents")
        answers = []
        for document in read:
            if "997" in document["kinds"]:
                answers.append("accepted" if document["summary"].get("status") == "A" else "rejected")
            elif "TA1" in document["kinds"]:
                answers.append("accepted" if document["summary"]["ta1"][3] == "A" else "rejected")
        return answers

    async def shipment_notices(self, external_order_id: str) -> int:
        read = await self._control("GET", "documents")
        return sum(1 for d in read if "856" in d["kinds"] and d["summary"].get("po") == external_order_id)

    async def rejections(self) -> int:
        return len(await self.ledger.edi_interchanges(self.connector.channel.id, InterchangeStatus.REJECTED))

    @property
    def inventory_skus(self) -> tuple[str, ...]:
        return ("TSHIRT-BLK-M", "MUG-11OZ")

    async def advised_quantities(self) -> dict[str, int]:
        advised = await self._control("GET", "inventory")
        return {sku: int(units) for sku, units in advised["advised"].items()}

    async def arm_unavailable(self) -> None:
        self.faults.failing = True


@asynccontextmanager
async def open_file_selling(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[EdiHarness]:
    monkeypatch.setenv(PASSWORD_VAR, "contract-edi-sftp-password")
    channel_id = "edi-contract"
    channel = partner_channel(
        channel_id,
        documents=["850", "860", "997", "855", "856", "810", "846"],
        exchange={
            "kind": "sftp",
            "url": f"sftp://brand@127.0.0.1:{free_port()}/",
            "known_host_key": sandbox_host_key(channel_id),
        },
    ).model_copy(update={"credentials": {"sftp_password": PASSWORD_VAR}})
    with tempfile.TemporaryDirectory(prefix="edi-contract-") as folder:
        root = Path(folder)
        app = create_app(
            SandboxOptions(channel=channel, webhook_url="http://127.0.0.1:9/unused", knobs={"root": str(root / "sftp")})
        )
        lifespan = app.router.lifespan_context(app)
        await lifespan.__aenter__()
        ledger = await Ledger.open(f"sqlite:///{root / 'ledger.db'}")
        connector = EdiConnector(channel)
        faults = Unreachable(connector.exchange)
        connector.exchange = faults
        connector.share_records(ledger)
        try:
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://edi-partner") as http:
                yield EdiHarness(connector, http, ledger, faults)
        finally:
            await ledger.close()
            await lifespan.__aexit__(None, None, None)
