"""EDI fixtures: a partner channel over a local folder exchange, its records in a real ledger
(SQLite, and PostgreSQL when reachable), fresh per test."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from connectors.edi import EdiConnector
from connectors.file_exchange import LocalFolderExchange
from orderloop.config import ChannelConfig
from orderloop.ledger import Ledger
from orderloop.model import ConnectorRole
from tests.db import postgres_schema, postgres_url_or_skip

FIXTURES = Path(__file__).parent / "fixtures"

PARTNER_SETTINGS: dict[str, Any] = {
    "partner_name": "Acme Retail",
    "partner_isa_qualifier": "ZZ",
    "partner_isa_id": "ACMERETAIL",
    "partner_gs_id": "ACMERETAIL",
    "our_isa_qualifier": "ZZ",
    "our_isa_id": "ORDERLOOPBRAND",
    "our_gs_id": "ORDERLOOP",
    "version": "004010",
    "gs1_company_prefix": "0614141",
}


def partner_channel(channel_id: str = "edi-acme", **settings: Any) -> ChannelConfig:
    return ChannelConfig(
        id=channel_id,
        type="edi",
        role=ConnectorRole.SELLING,
        base_url="sftp://127.0.0.1",
        settings=PARTNER_SETTINGS | settings,
    )


@pytest_asyncio.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
async def ledger(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Ledger]:
    if request.param == "sqlite":
        opened = await Ledger.open(f"sqlite:///{tmp_path / 'ledger.db'}")
        yield opened
        await opened.close()
        return
    url = postgres_url_or_skip()
    async with postgres_schema(url, "edi") as schema:
        opened = await Ledger.open(url, schema=schema)
        yield opened
        await opened.close()


@pytest.fixture
def exchange(tmp_path: Path) -> LocalFolderExchange:
    for folder in ("in", "out", "archive", "error"):
        (tmp_path / "exchange" / folder).mkdir(parents=True)
    return LocalFolderExchange(tmp_path / "exchange")


@pytest.fixture
def connector(exchange: LocalFolderExchange, ledger: Ledger) -> EdiConnector:
    built = EdiConnector(partner_channel(), exchange)
    built.share_records(ledger)
    return built


def drop(exchange: LocalFolderExchange, fixture: str, name: str | None = None) -> None:
    (exchange.root / "in" / (name or fixture)).write_bytes((FIXTURES / fixture).read_bytes())
