"""The browser tests' gate: without chromium they skip and say why, and with
ORDERLOOP_REQUIRE_BROWSER=1 (CI) they fail instead, so CI cannot pass by skipping."""

from __future__ import annotations

import pytest

from tests import browser


def test_no_chromium_skips_with_the_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(browser.shutil, "which", lambda _: None)
    monkeypatch.delenv("ORDERLOOP_REQUIRE_BROWSER", raising=False)
    with pytest.raises(pytest.skip.Exception, match=r"no chromium at .*apt-get install -y chromium"):
        browser.chromium_or_skip()


def test_no_chromium_fails_when_the_browser_is_required(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(browser.shutil, "which", lambda _: None)
    monkeypatch.setenv("ORDERLOOP_REQUIRE_BROWSER", "1")
    with pytest.raises(pytest.fail.Exception, match=r"ORDERLOOP_REQUIRE_BROWSER=1 requires"):
        browser.chromium_or_skip()


def test_an_installed_chromium_is_found(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(browser.shutil, "which", lambda name: name if name == "/usr/bin/chromium" else None)
    monkeypatch.delenv("ORDERLOOP_CHROMIUM", raising=False)
    assert browser.chromium_or_skip() == "/usr/bin/chromium"
