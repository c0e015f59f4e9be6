"""A student's JupyterLab, in a real browser: a JupyterLab server started on localhost, a release notebook
with an answer typed in, its setup cell and one graded cell run from the page, and ``PASSED`` read from it."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

from autograder.grading.notebook import is_install_cell
from tests.browser import browser_page, chromium
from tests.helpers import filled_release

pytestmark = pytest.mark.browser
KEEP = ("setup-imports", "answer_q_learning_update", "update_fixed_point")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def jupyterlab(tmp_path):
    chromium()  # skip before starting anything where there is no browser
    work = tmp_path / "work"
    work.mkdir()
    release = filled_release("01_tabular_q_learning")
    release.cells = [c for c in release.cells if c.metadata.get("nbgrader", {}).get("grade_id") in KEEP
                     or is_install_cell(c)]
    nbformat.write(release, str(work / "tabular_q_learning.ipynb"))
    port, token = free_port(), secrets.token_hex(16)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NBGRADER", "RLIR_", "JUPYTER"))}
    env.update(JUPYTER_CONFIG_DIR=str(tmp_path / "config"), JUPYTER_DATA_DIR=str(tmp_path / "data"),
               JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"), HOME=str(tmp_path))
    log = open(tmp_path / "jupyterlab.log", "w")  # noqa: SIM115 - closed below
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "jupyter-lab"), "--no-browser", "--allow-root", "--ServerApp.ip=127.0.0.1",
         f"--ServerApp.port={port}", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={work}"],
        env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2)
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    pytest.fail("JupyterLab did not start:\n" + (tmp_path / "jupyterlab.log").read_text()[-3000:])
                time.sleep(0.5)
        yield f"{base}/lab/tree/tabular_q_learning.ipynb?token={token}"
    finally:
        server.terminate()
        server.wait(30)
        log.close()


def test_a_graded_cell_run_in_jupyterlab_shows_passed(jupyterlab, tmp_path):
    with browser_page() as page:
        page.goto(jupyterlab)
        page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=120_000)
        page.wait_for_selector(".jp-StatusBar-Widget >> text=| Idle", timeout=120_000)  # the kernel is connected
        run_each_cell_as_a_student(page, len(KEEP) + 1)
        try:
            page.wait_for_selector("text=PASSED update_fixed_point", timeout=180_000)
            page.wait_for_selector("text=The course library is ready", timeout=10_000)
        except Exception as error:  # noqa: BLE001 - say what the page showed instead
            pytest.fail(f"{error}\n{what_the_page_shows(page)}\nJupyterLab's log:\n"
                        f"{(tmp_path / 'jupyterlab.log').read_text()[-3000:]}")
        outputs = "\n".join(page.locator(".jp-OutputArea").all_inner_texts())
    assert "Error" not in outputs and "Traceback" not in outputs, outputs


def run_each_cell_as_a_student(page, count: int) -> None:
    """Select each cell in turn and press Shift+Enter, as a student does; a press that ran nothing (the cell's
    prompt still ``[ ]``: JupyterLab drops a run while its kernel connection is still settling, which a loaded
    machine makes likely) is pressed again, as a student would, at most twice more."""
    from playwright.sync_api import expect

    cells = page.locator(".jp-Notebook .jp-CodeCell")
    for index in range(count):
        prompt = cells.nth(index).locator(".jp-InputPrompt")
        for attempt in range(3):
            prompt.click()  # selects the cell
            page.keyboard.press("Escape")
            page.keyboard.press("Shift+Enter")
            try:
                expect(prompt).not_to_have_text("[ ]:", timeout=30_000)  # queued ([*]) or run ([n])
                break
            except AssertionError:
                if attempt == 2:
                    raise


def what_the_page_shows(page) -> str:
    """The status bar (the kernel's status) and each cell's prompt, first line of source and outputs, as text."""
    lines = ["status bar: " + " ".join(page.locator(".jp-StatusBar-Widget").all_inner_texts()).replace("\n", " ")]
    for cell in page.locator(".jp-Notebook .jp-Cell").all():
        prompt = cell.locator(".jp-InputPrompt").first.inner_text() if cell.locator(".jp-InputPrompt").count() else ""
        source = (cell.locator(".jp-InputArea-editor").first.inner_text() or "").strip().splitlines()[:1]
        outputs = cell.locator(".jp-OutputArea").all_inner_texts()
        lines.append(f"{prompt} {source} -> {' | '.join(o.strip()[-400:] for o in outputs)}")
    return "\n".join(lines)
