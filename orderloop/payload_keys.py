"""The keys that encrypt Temporal payloads (`orderloop/payload_codec.py`), from the process's
environment, never from `orderloop.yaml` or a workflow's history:

- `ORDERLOOP_PAYLOAD_KEYS="id1:base64key,id2:base64key"`, or
- `ORDERLOOP_PAYLOAD_KEY_FILE=/path`: a file of the same entries, one a line (`#` comments).

Each key is 32 random bytes (AES-256), base64. Several may be configured at once: the LAST
one listed is the newest and encrypts, every one decrypts. Rotation is: append a new key
everywhere (workers, gateways, codec server), restart; drop an old key only once no history
still holding it is within retention.

The environment is read directly (not through the cached `Settings`), because the embedded
stack sets `ORDERLOOP_PAYLOAD_KEY_FILE` for itself and its processes when it makes the local
key file (`ensure_local_key_file`)."""

from __future__ import annotations

import base64
import binascii
import os
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import structlog
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEYS_ENV = "ORDERLOOP_PAYLOAD_KEYS"
KEY_FILE_ENV = "ORDERLOOP_PAYLOAD_KEY_FILE"
LOCAL_KEY_FILE = "payload-keys"
KEY_BYTES = 32
KEY_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")

log = structlog.get_logger("orderloop.payload_keys")


class PayloadKeyError(Exception):
    """The payload keys are missing or malformed; the message says where and what to do."""


@dataclass(frozen=True)
class PayloadKey:
    key_id: str
    secret: bytes = field(repr=False)
    aead: AESGCM = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not KEY_ID.match(self.key_id):
            raise PayloadKeyError(f"payload key id {self.key_id!r}: use 1-64 of A-Z a-z 0-9 . _ -")
        if len(self.secret) != KEY_BYTES:
            raise PayloadKeyError(
                f"payload key {self.key_id!r} is {len(self.secret)} bytes; AES-256 needs {KEY_BYTES} "
                "(base64 of 32 random bytes)"
            )
        object.__setattr__(self, "aead", AESGCM(self.secret))

    @classmethod
    def generate(cls, key_id: str | None = None) -> PayloadKey:
        return cls(key_id or f"local-{secrets.token_hex(4)}", AESGCM.generate_key(bit_length=256))

    def entry(self) -> str:
        return f"{self.key_id}:{base64.b64encode(self.secret).decode()}"


class PayloadKeyring:
    """The configured keys, oldest first: the last encrypts, every one decrypts."""

    def __init__(self, keys: Sequence[PayloadKey]) -> None:
        if not keys:
            raise PayloadKeyError("no payload keys given")
        self._by_id: dict[str, PayloadKey] = {}
        for key in keys:
            if key.key_id in self._by_id:
                raise PayloadKeyError(f"payload key id {key.key_id!r} is configured twice")
            self._by_id[key.key_id] = key
        self.encrypting = keys[-1]

    @property
    def key_ids(self) -> list[str]:
        return list(self._by_id)

    def get(self, key_id: str) -> PayloadKey | None:
        return self._by_id.get(key_id)

    @classmethod
    def parse(cls, text: str, source: str) -> PayloadKeyring:
        """Entries `id:base64key`, separated by commas or lines; `#` starts a comment."""
        keys = []
        lines = (line.split("#", 1)[0] for line in text.splitlines())
        for entry in (part.strip() for line in lines for part in line.split(",")):
            if not entry:
                continue
            key_id, sep, encoded = entry.partition(":")
            if not sep:
                raise PayloadKeyError(f"{source}: entry {key_id[:12]!r}... is not id:base64key")
            try:
                secret = base64.b64decode(encoded.strip(), validate=True)
            except (binascii.Error, ValueError):
                raise PayloadKeyError(f"{source}: the key of {key_id.strip()!r} is not base64") from None
            try:
                keys.append(PayloadKey(key_id.strip(), secret))
            except PayloadKeyError as exc:
                raise PayloadKeyError(f"{source}: {exc}") from None
        if not keys:
            raise PayloadKeyError(f"{source} holds no payload key")
        return cls(keys)


def keyring_from_env(environ: Mapping[str, str] | None = None) -> PayloadKeyring:
    env = os.environ if environ is None else environ
    inline, path = env.get(KEYS_ENV, "").strip(), env.get(KEY_FILE_ENV, "").strip()
    if inline and path:
        raise PayloadKeyError(f"both {KEYS_ENV} and {KEY_FILE_ENV} are set: set one")
    if inline:
        return PayloadKeyring.parse(inline, KEYS_ENV)
    if path:
        try:
            text = Path(path).read_text()
        except OSError as exc:
            raise PayloadKeyError(f"{KEY_FILE_ENV}={path}: cannot read it ({exc.strerror})") from None
        return PayloadKeyring.parse(text, path)
    raise PayloadKeyError(
        f"no payload encryption keys: set {KEYS_ENV}=id:base64key[,...] (newest last) or {KEY_FILE_ENV}=path "
        "(`orderloop up` makes a local key file under .orderloop/); docs/payload-encryption.md"
    )


def keys_configured(environ: Mapping[str, str] | None = None) -> bool:
    env = os.environ if environ is None else environ
    return bool(env.get(KEYS_ENV, "").strip() or env.get(KEY_FILE_ENV, "").strip())


def write_key_file(path: Path, keys: Sequence[PayloadKey]) -> None:
    """A new key file readable by its owner only (it refuses to overwrite one)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write("# Orderloop payload encryption keys, oldest first: the last encrypts, all decrypt.\n")
        handle.write("# Losing this file loses every payload it encrypted. docs/payload-encryption.md\n")
        for key in keys:
            handle.write(key.entry() + "\n")


def ensure_local_key_file(home: Path) -> Path | None:
    """The embedded stack's default: unless this process has keys configured, use (and on first
    start create) `<home>/payload-keys`, and point this process and the processes it starts at
    it through `ORDERLOOP_PAYLOAD_KEY_FILE`. Returns the file, or None when keys were configured."""
    if keys_configured():
        return None
    path = (home / LOCAL_KEY_FILE).resolve()
    try:
        write_key_file(path, [PayloadKey.generate()])
        log.warning("payload_keys.created", path=str(path), hint="back it up: it decrypts this stack's orders")
    except FileExistsError:
        log.info("payload_keys.local", path=str(path))
    keyring_from_env({KEY_FILE_ENV: str(path)})  # a broken file fails here, before anything starts
    os.environ[KEY_FILE_ENV] = str(path)
    return path
