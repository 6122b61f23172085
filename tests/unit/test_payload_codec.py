"""Payload encryption: AES-256-GCM per payload under the newest key, a key id in its metadata,
every configured key decrypting (rotation), unencrypted payloads passed through, and keys only
from the environment or a key file, with errors that say which key and what to set."""

from __future__ import annotations

import base64
import os
import stat
from pathlib import Path

import pytest
from temporalio.api.common.v1 import Payload

from orderloop.payload_codec import (
    ENCODING,
    KEY_ID_KEY,
    EncryptionCodec,
    PayloadDecryptError,
    UnknownPayloadKey,
    decrypt_message,
)
from orderloop.payload_keys import (
    KEY_FILE_ENV,
    KEYS_ENV,
    LOCAL_KEY_FILE,
    PayloadKey,
    PayloadKeyError,
    PayloadKeyring,
    ensure_local_key_file,
    keyring_from_env,
)
from orderloop.temporal_client import build_data_converter
from tests.workflows.fakes import onx_order

OLD, NEW = PayloadKey.generate("k2025"), PayloadKey.generate("k2026")


def customer_payload() -> Payload:
    return Payload(
        metadata={"encoding": b"json/plain"},
        data=b'{"email": "ada@example.com", "address1": "1 Main St", "phone": "+1 555 0100"}',
    )


async def test_a_payload_is_encrypted_under_the_newest_key_and_decrypts_back() -> None:
    codec = EncryptionCodec(PayloadKeyring([OLD, NEW]))
    plain = customer_payload()
    [sealed] = await codec.encode([plain])
    assert sealed.metadata["encoding"] == ENCODING
    assert sealed.metadata[KEY_ID_KEY] == b"k2026"
    assert b"ada@example.com" not in sealed.SerializeToString()
    assert b"json/plain" not in sealed.SerializeToString()  # the inner metadata is sealed too
    [again] = await codec.encode([plain])
    assert again.data[:12] != sealed.data[:12]  # a fresh nonce each time
    assert await codec.decode([sealed]) == [plain]


async def test_a_rotated_ring_still_reads_what_the_old_key_encrypted() -> None:
    [under_old] = await EncryptionCodec(PayloadKeyring([OLD])).encode([customer_payload()])
    rotated = EncryptionCodec(PayloadKeyring([OLD, NEW]))
    assert await rotated.decode([under_old]) == [customer_payload()]
    [under_new] = await rotated.encode([customer_payload()])
    assert under_new.metadata[KEY_ID_KEY] == b"k2026"


async def test_an_unknown_key_id_fails_naming_it() -> None:
    [sealed] = await EncryptionCodec(PayloadKeyring([OLD])).encode([customer_payload()])
    with pytest.raises(UnknownPayloadKey, match=r"key id 'k2025', which is not configured here \(configured: k2026\)"):
        await EncryptionCodec(PayloadKeyring([NEW])).decode([sealed])


async def test_a_key_of_the_right_id_but_another_secret_fails_clearly() -> None:
    [sealed] = await EncryptionCodec(PayloadKeyring([OLD])).encode([customer_payload()])
    impostor = PayloadKey("k2025", os.urandom(32))
    with pytest.raises(PayloadDecryptError, match="key id 'k2025' does not decrypt"):
        await EncryptionCodec(PayloadKeyring([impostor])).decode([sealed])


async def test_unencrypted_payloads_pass_through() -> None:
    codec = EncryptionCodec(PayloadKeyring([NEW]))
    plain = customer_payload()
    binary = Payload(metadata={"encoding": b"binary/null"})
    assert await codec.decode([plain, binary]) == [plain, binary]


async def test_the_data_converter_round_trips_an_order_encrypted() -> None:
    converter = build_data_converter(PayloadKeyring([NEW]))
    order = onx_order("1001", [("TSHIRT", 1)], email="ada@example.com")
    [payload] = await converter.encode([order])
    assert payload.metadata["encoding"] == ENCODING
    assert b"Main St" not in payload.data and b"ada@" not in payload.data
    assert await converter.decode([payload], [dict]) == [order]


def test_keys_come_from_the_environment_newest_last() -> None:
    ring = keyring_from_env({KEYS_ENV: f"{OLD.entry()}, {NEW.entry()}"})
    assert ring.key_ids == ["k2025", "k2026"]
    assert ring.encrypting.key_id == "k2026"


def test_keys_come_from_a_key_file(tmp_path: Path) -> None:
    path = tmp_path / "keys"
    path.write_text(f"# rotated in 2026\n{OLD.entry()}\n\n{NEW.entry()}  # current\n")
    ring = keyring_from_env({KEY_FILE_ENV: str(path)})
    assert ring.encrypting.key_id == "k2026" and ring.get("k2025") == OLD


@pytest.mark.parametrize(
    ("env", "error"),
    [
        ({}, "no payload encryption keys: set ORDERLOOP_PAYLOAD_KEYS"),
        ({KEYS_ENV: "k1:" + base64.b64encode(b"short").decode()}, "is 5 bytes; AES-256 needs 32"),
        ({KEYS_ENV: "k1:not base64!"}, "the key of 'k1' is not base64"),
        ({KEYS_ENV: "justakey"}, "is not id:base64key"),
        ({KEYS_ENV: f"{NEW.entry()},{NEW.entry()}"}, "'k2026' is configured twice"),
        ({KEYS_ENV: NEW.entry(), KEY_FILE_ENV: "/x"}, "set one"),
        ({KEY_FILE_ENV: "/nonexistent/keys"}, "/nonexistent/keys: cannot read it"),
    ],
)
def test_bad_or_missing_keys_say_what_to_do(env: dict[str, str], error: str) -> None:
    with pytest.raises(PayloadKeyError, match=error.replace("(", r"\(").replace("+", r"\+")):
        keyring_from_env(env)


def test_the_embedded_default_makes_a_private_key_file_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(KEYS_ENV, raising=False)
    monkeypatch.delenv(KEY_FILE_ENV, raising=False)
    made = ensure_local_key_file(tmp_path / ".orderloop")
    assert made == (tmp_path / ".orderloop" / LOCAL_KEY_FILE).resolve()
    assert stat.S_IMODE(made.stat().st_mode) == 0o600
    assert os.environ[KEY_FILE_ENV] == str(made)
    first = keyring_from_env().encrypting
    monkeypatch.delenv(KEY_FILE_ENV)
    assert ensure_local_key_file(tmp_path / ".orderloop") == made  # the next start keeps it
    assert keyring_from_env().encrypting == first


def test_configured_keys_win_over_the_local_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEYS_ENV, NEW.entry())
    monkeypatch.delenv(KEY_FILE_ENV, raising=False)
    assert ensure_local_key_file(tmp_path) is None
    assert not (tmp_path / LOCAL_KEY_FILE).exists()


async def test_every_payload_of_a_message_is_decrypted_in_place() -> None:
    from temporalio.api.history.v1 import HistoryEvent

    codec = EncryptionCodec(PayloadKeyring([NEW]))
    [sealed] = await codec.encode([customer_payload()])
    event = HistoryEvent(event_id=1)
    event.workflow_execution_started_event_attributes.input.payloads.append(sealed)
    event.workflow_execution_started_event_attributes.memo.fields["note"].CopyFrom(sealed)
    decrypt_message(event, codec)
    started = event.workflow_execution_started_event_attributes
    assert list(started.input.payloads) == [customer_payload()]
    assert started.memo.fields["note"] == customer_payload()
