"""Every process's log lines: Orderloop's own (structlog, written directly) and other libraries'
(standard logging, through the handler) come out as the same JSON lines with the service, the
level and the time; lines below the configured level are dropped."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def lines_of(script: str) -> list[dict[str, Any]]:
    """The JSON lines a fresh interpreter writes to stderr running `script` (logging is global
    state, so each case gets its own process)."""
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stderr.splitlines() if line.strip()]


def test_own_and_library_lines_are_the_same_json_with_service_level_and_time() -> None:
    lines = lines_of(
        """
        import logging, structlog
        from orderloop.logging import configure_logging
        configure_logging("worker", "json", "info")
        log = structlog.get_logger("orderloop.activities")
        log.debug("order.debugging", workflow_id="order/storefront/1")
        structlog.contextvars.bind_contextvars(request_id="r-7")
        log.info("order.allocated", workflow_id="order/storefront/1", locations=["east"])
        log.bind(channel="wms").warning("shipping_request.slow", seconds=2.5)
        logging.getLogger("temporalio.worker").warning("library says %s", "hello")
        logging.getLogger("temporalio.worker").debug("not shown")
        """
    )
    assert [line["event"] for line in lines] == ["order.allocated", "shipping_request.slow", "library says hello"]
    allocated, slow, _ = lines
    assert allocated["workflow_id"] == "order/storefront/1" and allocated["locations"] == ["east"]
    assert allocated["request_id"] == "r-7"
    assert (slow["level"], slow["channel"], slow["seconds"]) == ("warning", "wms", 2.5)
    for line in lines:
        assert line["service"] == "worker"
        assert line["timestamp"].endswith("Z")
    assert [line["level"] for line in lines] == ["info", "warning", "warning"]


def test_an_exception_is_a_traceback_in_the_json_line() -> None:
    [line] = lines_of(
        """
        import structlog
        from orderloop.logging import configure_logging
        configure_logging("gateway", "json", "warning")
        log = structlog.get_logger("orderloop.gateway")
        log.info("below the level")
        try:
            1 / 0
        except ZeroDivisionError:
            log.exception("webhook.failed", channel="storefront")
        """
    )
    assert (line["event"], line["level"], line["service"]) == ("webhook.failed", "error", "gateway")
    assert "ZeroDivisionError" in line["exception"]


def test_an_unknown_level_is_refused_with_the_levels_there_are() -> None:
    script = "from orderloop.logging import configure_logging; configure_logging('x', 'json', 'loud')"
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "unknown log level 'loud'" in done.stderr and "warning" in done.stderr
