"""The gateway in-process (FastAPI's TestClient) over a real SQLite ledger, with Temporal
unreachable: what the gateway decides without Temporal is tested here."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from gateway.app import create_app
from orderloop.loopback_stack import free_port
from orderloop.sandbox_env import apply_sandbox_env
from orderloop.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "t0ken"


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    apply_sandbox_env()
    settings = Settings(
        config=str(ROOT / "orderloop.yaml"),
        database_url=f"sqlite:///{tmp_path / 'ledger.db'}",
        temporal_address=f"127.0.0.1:{free_port()}",
        api_token=TOKEN,
        max_body_bytes=10_000,
    )
    with TestClient(create_app(settings)) as test_client:
        yield test_client
