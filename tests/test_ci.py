"""CI runs what it claims: it installs Chromium before the tests, and there a browser test that finds no
Chromium fails instead of skipping (elsewhere it skips, naming the fix)."""

from __future__ import annotations

import shutil

import pytest

from tests.browser import chromium
from tests.helpers import ROOT


def test_ci_installs_chromium_before_it_runs_the_tests():
    lines = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()
             if line.strip() and not line.lstrip().startswith("#")]
    assert "bash scripts/setup-browser.sh" in lines and "bash scripts/test.sh" in lines
    assert lines.index("bash scripts/setup-browser.sh") < lines.index("bash scripts/test.sh")


@pytest.mark.parametrize("ci, outcome", [("true", pytest.fail.Exception), ("", pytest.skip.Exception)])
def test_a_browser_test_without_chromium_fails_in_ci_and_skips_elsewhere(monkeypatch, ci, outcome):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.setenv("CI", ci)
    with pytest.raises(outcome, match="setup-browser.sh"):
        chromium()
