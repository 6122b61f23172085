"""A real headless browser for the page tests: Debian's chromium driven by playwright (no browser
download: `executable_path`). Where none is installed the tests skip and say why; with
ORDERLOOP_REQUIRE_BROWSER=1 (CI, whose .ci/run installs chromium) they fail instead."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from playwright.async_api import Browser

CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")


def chromium_or_skip() -> str:
    """The chromium executable (ORDERLOOP_CHROMIUM, else Debian's), or a visible skip."""
    wanted = os.environ.get("ORDERLOOP_CHROMIUM")
    found = wanted if wanted and shutil.which(wanted) else next((c for c in CANDIDATES if shutil.which(c)), None)
    reason = None
    if found is None:
        reason = f"no chromium at {wanted or ', '.join(CANDIDATES)} (apt-get install -y chromium)"
    else:
        try:
            import playwright.async_api  # noqa: F401
        except ImportError:
            reason = "playwright is not installed (pip install -e '.[dev]')"
    if reason is not None:
        if os.environ.get("ORDERLOOP_REQUIRE_BROWSER") == "1":
            pytest.fail(f"{reason}, and ORDERLOOP_REQUIRE_BROWSER=1 requires the browser tests")
        pytest.skip(f"browser tests skipped: {reason}; set ORDERLOOP_REQUIRE_BROWSER=1 to fail instead")
    assert found is not None
    return found


@asynccontextmanager
async def headless_chromium() -> AsyncIterator[Browser]:
    from playwright.async_api import async_playwright

    executable = chromium_or_skip()
    async with async_playwright() as driver:
        browser = await driver.chromium.launch(executable_path=executable, headless=True, args=["--no-sandbox"])
        try:
            yield browser
        finally:
            await browser.close()
