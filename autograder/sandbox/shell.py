"""The worker's notebook semantics: an IPython shell that runs a student's cells as Jupyter would and records
each cell's outputs as nbformat outputs (streams, displays, the last expression's value, the error).

Imported only inside the sandbox worker (``_worker.py``): it runs student code, it never judges it. There is
no kernel: the grader sends cell sources over the worker's pipe, so nothing the grader holds (the
instructor's test cells, the gradebook) ever enters this process, its history or its outputs.
"""

from __future__ import annotations

import base64
import functools
import os
import signal
import sys
from typing import Any

MAX_STREAM_CHARS = 200_000  # per cell and stream: a print loop cannot flood the feedback
MAX_DISPLAYS = 50  # per cell
MIME_KEEP = ("text/plain", "text/html", "text/markdown", "text/latex", "image/png", "image/jpeg", "image/svg+xml",
             "application/json", "application/javascript")  # what feedback can show; it is sanitised later


class CellTimedOut(Exception):
    """Raised inside a cell that ran past its time limit (like Jupyter's interrupt on timeout)."""


class _Collector:
    """A cell's outputs in the order the student's code produced them."""

    def __init__(self) -> None:
        self.outputs: list[dict] = []
        self.displays = 0

    def stream(self, name: str, text: str) -> None:
        if not text:
            return
        last = self.outputs[-1] if self.outputs else None
        if last is not None and last["output_type"] == "stream" and last["name"] == name:
            if len(last["text"]) < MAX_STREAM_CHARS:
                last["text"] = (last["text"] + text)[:MAX_STREAM_CHARS]
            return
        self.outputs.append({"output_type": "stream", "name": name, "text": text[:MAX_STREAM_CHARS]})

    def rich(self, output_type: str, data: dict, metadata: dict | None, **extra: Any) -> None:
        if self.displays >= MAX_DISPLAYS:
            return
        self.displays += 1
        kept = {key: _text_or_base64(value) for key, value in data.items() if key in MIME_KEEP}
        if kept:
            self.outputs.append({"output_type": output_type, "data": kept, "metadata": _plain(metadata or {}),
                                 **extra})

    def clear(self) -> None:
        self.outputs.clear()

    def finished(self) -> list[dict]:
        for output in self.outputs:  # a progress bar redraws its line with \r: keep what a screen would show
            if output["output_type"] == "stream" and "\r" in output["text"]:
                output["text"] = "\n".join(line.rsplit("\r", 1)[-1] if line.strip("\r") else line
                                           for line in output["text"].split("\n"))
        return self.outputs


def _text_or_base64(value: Any) -> str:
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, list):
        return "".join(str(v) for v in value)
    return value if isinstance(value, str) else str(value)


def _plain(metadata: dict) -> dict:
    """Metadata the codec can carry (numbers, strings, nested dicts)."""
    out = {}
    for key, value in metadata.items():
        if isinstance(value, dict):
            out[str(key)] = _plain(value)
        elif isinstance(value, (str, int, float, bool)) or value is None:
            out[str(key)] = value
    return out


class _Stream:
    """sys.stdout / sys.stderr while a cell runs."""

    def __init__(self, collector: _Collector, name: str) -> None:
        self._collector, self.name = collector, name

    def write(self, text: str) -> int:
        self._collector.stream(self.name, str(text))
        return len(text)

    def writelines(self, lines) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False

    @property
    def encoding(self) -> str:
        return "utf-8"


def make_shell(namespace: dict):
    """An IPython shell whose user namespace is ``namespace`` and whose outputs go to a collector."""
    from IPython.core.displayhook import DisplayHook
    from IPython.core.displaypub import DisplayPublisher
    from IPython.core.interactiveshell import InteractiveShell

    class CapturingPublisher(DisplayPublisher):
        def publish(self, data, metadata=None, source=None, *, transient=None, update=False, **kwargs) -> None:
            shell.collector.rich("display_data", data, metadata)

        def clear_output(self, wait=False) -> None:
            shell.collector.clear()

    class CapturingDisplayHook(DisplayHook):
        def write_output_prompt(self) -> None:
            pass

        def write_format_data(self, format_dict, md_dict=None) -> None:
            shell.collector.rich("execute_result", format_dict, md_dict, execution_count=None)

        def finish_displayhook(self) -> None:
            pass

    class GradingShell(InteractiveShell):
        collector = _Collector()

        def _showtraceback(self, etype, evalue, stb) -> None:
            self.collector.outputs.append({
                "output_type": "error", "ename": getattr(etype, "__name__", str(etype)),
                "evalue": str(evalue)[:2000], "traceback": [str(line)[:4000] for line in stb[-30:]]})

        displayhook_class = CapturingDisplayHook
        display_pub_class = CapturingPublisher

        def enable_gui(self, gui=None) -> None:  # no event loop: figures render at the end of the cell
            pass

        def init_history(self) -> None:  # no sqlite history file in the student's scratch folder
            super().init_history()
            self.history_manager.enabled = False

    shell = GradingShell.instance(user_ns=namespace, colors="nocolor", history_length=0, autocall=0,
                                  xmode="Plain", cache_size=0)
    if os.environ.get("MPLBACKEND", "").endswith("backend_inline"):
        try:
            shell.enable_matplotlib("inline")  # figures are shown at the end of each cell, as in Jupyter
        except Exception:  # noqa: BLE001 - no matplotlib: nothing to show
            pass
    return shell


WATCH_SECONDS = 0.25  # how often a running cell's own time is read


def _waited(tid: int) -> float:
    """Seconds thread ``tid`` of this process has waited, ready to run, for a CPU (0 where unknown)."""
    try:
        with open(f"/proc/self/task/{tid}/schedstat") as handle:
            return int(handle.read().split()[1]) / 1e9
    except (OSError, IndexError, ValueError):
        return 0.0


class _CellWatch:
    """SIGALRM to this process once the thread running a cell has had its limit of *own time* (the wall clock
    less its waits for a CPU, as in meter.py): a cell's limit, the same on a quiet machine and on a busy one.
    Where the kernel keeps no scheduler statistics own time is the wall clock.

    One thread watches every cell of the worker's life, started with the first cell, before any student code
    runs: threads count against the same process limit as a fork bomb's children, so a thread started per
    cell could not start after a student's bomb, and the next student cell would fail for it. Should the
    thread not start at all, a one-shot wall-clock timer (``setitimer``) stands in."""

    def __init__(self) -> None:
        import threading

        self._changed = threading.Condition()
        self._cell: tuple[int, float, float, float] | None = None  # tid, limit, start, waited at start
        self.armed = False  # False once the cell returned: a signal sent just then is ignored
        try:
            threading.Thread(target=self._watch, name="rlir-cell-watch", daemon=True).start()
            self.threaded = True
        except RuntimeError:  # no thread to be had: the wall clock stands in
            self.threaded = False

    def arm(self, seconds: float) -> None:
        import threading
        import time

        self.armed = seconds > 0
        if not self.armed:
            return
        if not self.threaded:
            signal.setitimer(signal.ITIMER_REAL, seconds)
            return
        tid = threading.get_native_id()
        with self._changed:
            self._cell = (tid, seconds, time.monotonic(), _waited(tid))
            self._changed.notify()

    def disarm(self) -> None:
        self.armed = False
        if not self.threaded:
            signal.setitimer(signal.ITIMER_REAL, 0)
            return
        with self._changed:
            self._cell = None
            self._changed.notify()

    def _watch(self) -> None:
        import time

        while True:
            with self._changed:
                while self._cell is None:
                    self._changed.wait()
                tid, seconds, start, waited = self._cell
                if (time.monotonic() - start) - (_waited(tid) - waited) > seconds:
                    self._cell = None  # one signal per cell
                    os.kill(os.getpid(), signal.SIGALRM)
                    continue
                self._changed.wait(WATCH_SECONDS)


@functools.cache
def _the_watch() -> _CellWatch:
    """The worker's one watcher, made by its first cell."""
    return _CellWatch()


def run_cell(shell, source: str, timeout: float) -> dict:
    """Run one cell; return its outputs and whether it raised. A cell past ``timeout`` seconds of its own
    time (not counting waits for a CPU) is interrupted (the cells after it still run, as with nbgrader's
    ``interrupt_on_timeout``)."""
    shell.collector = collector = _Collector()
    saved = sys.stdout, sys.stderr

    alarm = _the_watch()

    def interrupt(signum, frame):
        if not alarm.armed:
            return
        raise CellTimedOut(f"this cell ran longer than {timeout:.0f} s under grading (not counting time it "
                           "waited for a CPU) and was interrupted; shorten long runs when NBGRADER_EXECUTION is set")

    previous = signal.signal(signal.SIGALRM, interrupt)
    sys.stdout, sys.stderr = _Stream(collector, "stdout"), _Stream(collector, "stderr")
    try:
        alarm.arm(timeout)
        try:
            result = shell.run_cell(source, store_history=False, silent=False)
        finally:
            alarm.disarm()
    finally:
        signal.signal(signal.SIGALRM, previous)
        sys.stdout, sys.stderr = saved
    failed = not result.success
    return {"outputs": collector.finished(), "failed": failed,
            "error": _error_text(collector.outputs) if failed else ""}


def _error_text(outputs: list[dict]) -> str:
    errors = [o for o in outputs if o["output_type"] == "error"]
    if not errors:
        return "the cell failed"
    error = errors[-1]
    return f"{error['ename']}: {error['evalue']}"
