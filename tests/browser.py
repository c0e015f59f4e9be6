"""Headless Chromium (Debian's package) driven by Playwright, for the tests that open pages as people do."""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator

import pytest


def chromium() -> str:
    """The system's Chromium. Where there is none the test is skipped, naming the fix; in CI (``CI=true``,
    where ``.ci/run`` installs it first) it fails instead, so that the browser tests cannot vanish silently."""
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        message = "no Chromium on this machine: `bash scripts/setup-browser.sh` installs Debian's package"
        if os.environ.get("CI", "").lower() in ("true", "1"):
            pytest.fail(f"{message} (CI must run it before the tests: .ci/run)")
        pytest.skip(message)
    return path


@contextlib.contextmanager
def browser_page() -> Iterator:
    """A fresh page of a headless Chromium that the test starts (and stops)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium(), headless=True,
                                             args=["--no-sandbox", "--disable-gpu", "--no-first-run"])
        try:
            yield browser.new_page()
        finally:
            browser.close()
