"""`python -m gateway`: serve the gateway with uvicorn on ORDERLOOP_GATEWAY_HOST:PORT."""

from __future__ import annotations

import os
import sys

import uvicorn

from gateway.app import create_app
from orderloop.config import ConfigError
from orderloop.logging import configure_logging
from orderloop.payload_keys import PayloadKeyError
from orderloop.settings import get_settings


def main() -> None:
    settings = get_settings()
    configure_logging("gateway", settings.log_format, settings.log_level)
    code = 0
    try:
        uvicorn.run(
            create_app(settings),
            host=settings.gateway_host,
            port=settings.gateway_port,
            log_config=None,
            access_log=False,
        )
    except (ConfigError, PayloadKeyError) as exc:
        print(f"orderloop gateway: {exc}", file=sys.stderr)
        code = 2
    sys.stderr.flush()
    # The temporalio Rust bridge can crash the interpreter at exit (sdk-python#300).
    os._exit(code)


if __name__ == "__main__":
    main()
