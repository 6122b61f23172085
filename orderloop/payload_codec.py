"""Payload encryption for everything Orderloop hands Temporal: AES-256-GCM over each whole
payload (its metadata and data), as Temporal's own encryption sample does
(`samples-python/encryption/codec.py`): the encrypted payload's metadata says
`encoding: binary/encrypted` and `encryption-key-id: <id>`, its data is a 12-byte random nonce
followed by the ciphertext and tag. The same layout as Temporal's Go and TypeScript samples,
so their codec servers and tools read it with the same key.

A payload whose `encoding` is not ours passes through both ways unchanged: histories written
before encryption (plain `json/plain`) still replay, and running orders keep working.

The keys are a `PayloadKeyring` (`orderloop/payload_keys.py`): the newest encrypts, every
configured one decrypts. A payload under a key id the ring lacks fails with
`UnknownPayloadKey`, which names the key id."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence

from cryptography.exceptions import InvalidTag
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message
from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadCodec

from orderloop.payload_keys import PayloadKeyring

ENCODING = b"binary/encrypted"
ENCODING_KEY = "encoding"
KEY_ID_KEY = "encryption-key-id"
NONCE_BYTES = 12


class PayloadDecryptError(Exception):
    """An encrypted payload this process cannot decrypt (the message says why and which key)."""


class UnknownPayloadKey(PayloadDecryptError):
    def __init__(self, key_id: str, known: Sequence[str]) -> None:
        super().__init__(
            f"payload encrypted with key id {key_id!r}, which is not configured here (configured: "
            f"{', '.join(known)}); add that key to ORDERLOOP_PAYLOAD_KEYS or the key file"
        )
        self.key_id = key_id


def is_encrypted(payload: Payload) -> bool:
    return payload.metadata.get(ENCODING_KEY) == ENCODING


class EncryptionCodec(PayloadCodec):
    """AES-256-GCM payload codec over a keyring; stateless apart from the keys, so one instance
    serves every client and worker of a process."""

    def __init__(self, keyring: PayloadKeyring) -> None:
        self.keyring = keyring

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.encrypt(p) for p in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.decrypt(p) for p in payloads]

    def encrypt(self, payload: Payload) -> Payload:
        key = self.keyring.encrypting
        nonce = os.urandom(NONCE_BYTES)
        sealed = key.aead.encrypt(nonce, payload.SerializeToString(), None)
        return Payload(
            metadata={ENCODING_KEY: ENCODING, KEY_ID_KEY: key.key_id.encode()},
            data=nonce + sealed,
        )

    def decrypt(self, payload: Payload) -> Payload:
        if not is_encrypted(payload):
            return payload
        raw_id = payload.metadata.get(KEY_ID_KEY)
        if raw_id is None:
            raise PayloadDecryptError(f"encrypted payload without its {KEY_ID_KEY} metadata")
        key_id = raw_id.decode(errors="replace")
        key = self.keyring.get(key_id)
        if key is None:
            raise UnknownPayloadKey(key_id, self.keyring.key_ids)
        nonce, sealed = payload.data[:NONCE_BYTES], payload.data[NONCE_BYTES:]
        try:
            plain = key.aead.decrypt(nonce, sealed, None)
        except InvalidTag:
            raise PayloadDecryptError(
                f"payload encrypted with key id {key_id!r} does not decrypt with the configured key of that id "
                "(its secret differs from the one that encrypted it, or the payload was altered)"
            ) from None
        return Payload.FromString(plain)


def payloads_in(message: Message) -> Iterator[Payload]:
    """Every payload anywhere in a protobuf message (a workflow's history event, say): inputs,
    results, signals, memos, headers, search attributes."""
    for field_descriptor, value in message.ListFields():
        entry = field_descriptor.message_type
        if entry is None:
            continue
        if entry.GetOptions().map_entry:
            if entry.fields_by_name["value"].type != FieldDescriptor.TYPE_MESSAGE:
                continue
            items = list(value.values())
        elif field_descriptor.is_repeated:
            items = list(value)
        else:
            items = [value]
        for item in items:
            if isinstance(item, Payload):
                yield item
            else:
                yield from payloads_in(item)


def decrypt_message(message: Message, codec: EncryptionCodec) -> None:
    """Decrypt, in place, every payload of a protobuf message: for keeping a history readable
    under any key, such as the recorded test histories. Payloads not encrypted stay as they are."""
    for payload in list(payloads_in(message)):
        payload.CopyFrom(codec.decrypt(payload))
