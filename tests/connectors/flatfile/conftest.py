"""A flat-file channel with test credentials, bound to the partner sandbox: a real SFTP server on
a free loopback port, rooted at a test folder."""

from __future__ import annotations

from typing import Any

from connectors.flatfile.sandbox import SANDBOX_HOST_KEY_SEED
from connectors.sftp_exchange.server import host_key_from_seed, public_line
from orderloop.loopback_stack import free_port
from orderloop.model import ConnectorRole

PASSWORD = "files-test-sftp-password"
SECRETS = {
    "ORDERLOOP_TEST_FILES_PASSWORD": PASSWORD,
    "ORDERLOOP_TEST_FILES_HOST_KEY": public_line(host_key_from_seed(SANDBOX_HOST_KEY_SEED)),
}
LOCATION = "files-tx"


def channel_fields(**settings: Any) -> dict[str, Any]:
    return {
        "id": "files",
        "type": "flatfile",
        "role": ConnectorRole.FULFILLMENT,
        "base_url": f"sftp://127.0.0.1:{free_port()}",
        "sandbox_url": "http://files.sandbox.test",
        "credentials": {"password": "ORDERLOOP_TEST_FILES_PASSWORD", "known_host_key": "ORDERLOOP_TEST_FILES_HOST_KEY"},
        "settings": {"username": "orderloop"} | settings,
    }
