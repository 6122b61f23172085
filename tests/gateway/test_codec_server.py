"""The gateway's codec server: Temporal's protocol (proto3 JSON Payloads, base64 bytes) on
`/codec/encode` and `/codec/decode`, behind the operator's bearer token, with the CORS the
Temporal Web UI needs and nothing else opened to other origins."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from google.protobuf import json_format
from temporalio.api.common.v1 import Payload, Payloads

from gateway.app import create_app
from orderloop.loopback_stack import free_port
from orderloop.payload_codec import ENCODING, EncryptionCodec
from orderloop.payload_keys import PayloadKey, PayloadKeyring
from orderloop.sandbox_env import apply_sandbox_env
from orderloop.settings import Settings
from orderloop.temporal_client import data_converter
from tests.gateway.conftest import ROOT, TOKEN

AUTH = {"Authorization": f"Bearer {TOKEN}", "X-Namespace": "default"}
UI = "http://localhost:8233"


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def plain_body() -> dict[str, Any]:
    return {
        "payloads": [
            {"metadata": {"encoding": b64(b"json/plain")}, "data": b64(b'{"email":"ada@example.com"}')},
            {"metadata": {"encoding": b64(b"json/plain")}, "data": b64(b'"1 Main St"')},
        ]
    }


def process_codec() -> EncryptionCodec:
    codec = data_converter().payload_codec
    assert isinstance(codec, EncryptionCodec)
    return codec


def test_encode_then_decode_round_trips_as_the_ui_sends_it(client: TestClient) -> None:
    encoded = client.post("/codec/encode", json=plain_body(), headers=AUTH)
    assert encoded.status_code == 200, encoded.text
    sealed = encoded.json()["payloads"]
    assert [base64.b64decode(p["metadata"]["encoding"]) for p in sealed] == [ENCODING, ENCODING]
    assert all(b"ada@" not in base64.b64decode(p["data"]) for p in sealed)
    decoded = client.post("/codec/decode", json={"payloads": sealed}, headers=AUTH)
    assert decoded.status_code == 200, decoded.text
    assert decoded.json() == plain_body()


async def test_decode_reads_what_the_workers_encrypted(client: TestClient) -> None:
    [sealed] = await process_codec().encode([Payload(metadata={"encoding": b"json/plain"}, data=b'"+1 555 0100"')])
    body = json_format.MessageToDict(Payloads(payloads=[sealed]))
    decoded = client.post("/codec/decode", json=body, headers=AUTH)
    assert decoded.status_code == 200, decoded.text
    assert base64.b64decode(decoded.json()["payloads"][0]["data"]) == b'"+1 555 0100"'


def test_unencrypted_payloads_come_back_unchanged(client: TestClient) -> None:
    decoded = client.post("/codec/decode", json=plain_body(), headers=AUTH)
    assert decoded.json() == plain_body()


def test_the_codec_server_needs_the_operator_token(client: TestClient) -> None:
    missing = client.post("/codec/decode", json=plain_body())
    assert missing.status_code == 401 and missing.json()["error"] == "missing bearer token"
    wrong = client.post("/codec/decode", json=plain_body(), headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401 and wrong.json()["error"] == "wrong bearer token"
    assert client.post("/codec/encode", json=plain_body()).status_code == 401


async def test_a_payload_under_an_unknown_key_is_refused_naming_the_key(client: TestClient) -> None:
    stranger = EncryptionCodec(PayloadKeyring([PayloadKey.generate("retired-2024")]))
    [sealed] = await stranger.encode([Payload(metadata={"encoding": b"json/plain"}, data=b"{}")])
    answer = client.post("/codec/decode", json=json_format.MessageToDict(Payloads(payloads=[sealed])), headers=AUTH)
    assert answer.status_code == 422
    assert "key id 'retired-2024', which is not configured here" in answer.json()["error"]


def test_a_malformed_body_or_another_namespace_is_refused(client: TestClient) -> None:
    bad = client.post("/codec/decode", json={"payloads": [{"data": "not base64!"}]}, headers=AUTH)
    assert bad.status_code == 400 and "not a Payloads body" in bad.json()["error"]
    other = client.post("/codec/decode", json=plain_body(), headers={**AUTH, "X-Namespace": "payments"})
    assert other.status_code == 404 and "serves namespace 'default', not 'payments'" in other.json()["error"]


def test_the_web_ui_origin_passes_the_preflight_and_reads_the_answer(client: TestClient) -> None:
    preflight = client.options(
        "/codec/decode",
        headers={
            "Origin": UI,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type,x-namespace,authorization",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == UI
    assert preflight.headers["access-control-allow-credentials"] == "true"
    allowed = preflight.headers["access-control-allow-headers"].lower()
    assert {"content-type", "x-namespace", "authorization"} <= {h.strip() for h in allowed.split(",")}
    answer = client.post("/codec/decode", json=plain_body(), headers={**AUTH, "Origin": UI})
    assert answer.status_code == 200
    assert answer.headers["access-control-allow-origin"] == UI


def test_other_origins_and_the_operator_api_get_no_cors(client: TestClient) -> None:
    preflight = client.options(
        "/codec/decode",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert preflight.status_code == 400
    assert "access-control-allow-origin" not in preflight.headers
    api = client.get("/api/holds", headers={"Authorization": f"Bearer {TOKEN}", "Origin": UI})
    assert "access-control-allow-origin" not in api.headers


def embedded_client(tmp_path: Path, **settings: Any) -> TestClient:
    """The gateway of the embedded demo stack (the shared sandbox token), called from loopback."""
    apply_sandbox_env()
    config = Settings(
        config=str(ROOT / "orderloop.yaml"),
        database_url=f"sqlite:///{tmp_path / 'ledger.db'}",
        temporal_address=f"127.0.0.1:{free_port()}",
        **settings,
    )
    return TestClient(create_app(config), client=("127.0.0.1", 50000))


def test_the_embedded_ui_reads_payloads_in_the_demo_without_a_login(tmp_path: Path) -> None:
    """The embedded UI has no login to send a token with: in the demo (the shared sandbox token,
    not production) its origin on loopback is served; another origin, or production, is not."""
    with embedded_client(tmp_path) as demo:
        sealed = demo.post("/codec/encode", json=plain_body(), headers={"Origin": UI}).json()["payloads"]
        decoded = demo.post("/codec/decode", json={"payloads": sealed}, headers={"Origin": UI})
        assert decoded.status_code == 200 and decoded.json() == plain_body()
        other = demo.post("/codec/decode", json=plain_body(), headers={"Origin": "http://evil.test"})
        assert other.status_code == 401
        assert demo.post("/codec/decode", json=plain_body()).status_code == 401, "no origin: a token is needed"
    with embedded_client(tmp_path, environment="production") as production:
        refused = production.post("/codec/decode", json=plain_body(), headers={"Origin": UI})
        assert refused.status_code == 401
