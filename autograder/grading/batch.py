"""Grade every submission of a class in parallel, each in isolation, and merge the results without races.

Each submission is autograded by the real ``nbgrader autograde`` in a scratch copy of the course (its own
SQLite gradebook, copied from a template prepared once), inside its own network namespace where the machine
allows it: no network for the student's kernel, and no kernel-port collisions between parallel jobs. Only the
main process writes to the course's gradebook (SQLite or any nbgrader ``db_url``, e.g. PostgreSQL), one
result at a time. A submission that crashes or times out gets zero points and is reported, never lost.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path

from autograder.grading import submission as submission_files
from autograder.grading.nbgrader_steps import FAILED_MARK
from autograder.sandbox import network_jail, package_roots
from autograder.sandbox.policy import DEFAULT_LIMITS

SUBMISSION_TIMEOUT = 1800.0
KILLED_OUTPUT_SECONDS = 30.0  # to drain a killed job's output
SUBMISSION_MEMORY_BYTES = DEFAULT_LIMITS.memory_bytes  # address space of each process of a job (the sandbox's)
SCRATCH_PREFIX = "rlir-grade-"  # each job's scratch course: a temporary folder rlir-grade-<student>-...


class InfrastructureError(RuntimeError):
    """Grading itself failed (not a student's code): the batch stops with a non-zero exit."""


@dataclass
class SubmissionResult:
    """What grading one student's submission produced."""

    student: str
    ok: bool
    seconds: float
    scores: dict[str, dict[str, float]] = field(default_factory=dict)  # notebook -> grade cell -> points
    error: str = ""
    files: dict[str, bytes] = field(default_factory=dict)  # course-relative path -> content
    refused: bool = False  # nothing could be graded (no notebook, not JSON, a link...): ``error`` says why
    notes: list[str] = field(default_factory=list)  # what grading had to refuse or repair, for the summary

    @property
    def points(self) -> float:
        return sum(sum(cells.values()) for cells in self.scores.values())


def nbgrader_command(*args: str) -> list[str]:
    return [str(Path(sys.executable).parent / "nbgrader"), *args]


def nbgrader_steps_command(folder: str, student: str) -> list[str]:
    """``nbgrader autograde`` then ``nbgrader generate_feedback`` for one student, in one process."""
    return [sys.executable, "-m", "autograder.grading.nbgrader_steps", folder, student]


def nbgrader_env() -> dict[str, str]:
    """The environment nbgrader runs in: this venv's bin first on PATH (nbgrader calls alembic from there), and
    this grader's own course packages first on the import path, so that the plugin nbgrader loads (and the
    sandbox it starts) is this code, not whichever an editable install would give."""
    bin_dir = str(Path(sys.executable).parent)
    paths = [*package_roots(), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    return dict(os.environ, PATH=bin_dir + os.pathsep + os.environ.get("PATH", ""),
                PYTHONPATH=os.pathsep.join(dict.fromkeys(paths)))


def jailed(command: list[str]) -> list[str]:
    """``command`` in a fresh network namespace with only loopback up, where the machine allows it."""
    if not network_jail():
        return command
    quoted = " ".join(_quote(part) for part in command)
    return ["unshare", "--net", "--", "sh", "-c", f"ip link set lo up 2>/dev/null; exec {quoted}"]


def _quote(text: str) -> str:
    return "'" + text.replace("'", "'\"'\"'") + "'"


def prepare_template(course: Path, folder: str, workdir: Path, db_url: str) -> Path:
    """A scratch course holding the config, the assignment's source and a gradebook that knows it; the
    course's own gradebook (``db_url``) is made to know the assignment too. The course folder itself is not
    touched (its release/ stays as committed)."""
    template = workdir / "template"
    template.mkdir(parents=True)
    shutil.copy(course / "nbgrader_config.py", template)
    shutil.copytree(course / "source" / folder, template / "source" / folder)
    for extra in ((), (f"--db={db_url}",)):
        result = subprocess.run(nbgrader_command("generate_assignment", folder, "--force", *extra), cwd=template,
                                env=nbgrader_env(), capture_output=True, text=True, timeout=600)
        if result.returncode != 0:
            raise InfrastructureError(f"generate_assignment {' '.join(extra)} failed:\n"
                                      f"{result.stdout[-2000:]}{result.stderr[-2000:]}")
    shutil.rmtree(template / "release", ignore_errors=True)
    return template


def grade_submission(template: str, submission: str, folder: str, student: str,
                     timeout: float = SUBMISSION_TIMEOUT) -> SubmissionResult:
    """Autograde one submission in its own scratch course; return its scores and its output files.

    Safe to run in any worker (a thread here, or a Dask/Ray task on the same machine): it touches only
    its own scratch directory and returns everything it produced."""
    start = time.monotonic()
    expected = sorted(p.name for p in (Path(template) / "source" / folder).glob("*.ipynb"))
    problems, notes = submission_files.submission_problems(Path(submission), expected)
    if problems:  # nothing to grade: 0 points, and a feedback page that says why
        return SubmissionResult(student, False, time.monotonic() - start, error="not graded: " + problems[0],
                                files=refusal_feedback(folder, student, expected, problems), refused=True)
    with tempfile.TemporaryDirectory(prefix=f"{SCRATCH_PREFIX}{student}-") as scratch:
        course = Path(scratch) / "course"
        shutil.copytree(template, course)
        target = course / "submitted" / student / folder
        refused = submission_files.copy_submission(Path(submission), target)
        submission_files.upgrade_old_notebooks(target)
        notes += [f"`{name}`: {why}" for name, why in refused]
        env = {submission_files.NOTES_VARIABLE: json.dumps(notes)}
        try:
            returncode, output = _run_group(jailed(nbgrader_steps_command(folder, student)), course,
                                            max(timeout - (time.monotonic() - start), 1.0), env)
        except subprocess.TimeoutExpired:
            return SubmissionResult(student, False, time.monotonic() - start,
                                    error=f"grading took longer than {timeout:.0f} s")
        if returncode != 0 or "There was an error processing" in output:
            step = next((line.split(FAILED_MARK, 1)[1].split()[0] for line in output.splitlines()
                         if FAILED_MARK in line), "autograde")
            return SubmissionResult(student, False, time.monotonic() - start,
                                    error=f"nbgrader {step} failed: {output[-1500:]}")
        scores = read_scores(course / "gradebook.db", folder, student)
        files = {}
        for kind in ("autograded", "feedback"):
            root = course / kind / student / folder
            for path in sorted(root.rglob("*")) if root.exists() else ():
                if path.is_file() and not path.is_symlink() and path.stat().st_size < 50_000_000:
                    files[str(path.relative_to(course))] = path.read_bytes()
        notes = [n.replace("`", "") for n in (*notes, *grading_notes(course / "autograded" / student / folder))]
        return SubmissionResult(student, True, time.monotonic() - start, scores, files=files,
                                notes=list(dict.fromkeys(notes)))


def grading_notes(folder: Path) -> list[str]:
    """The notes the grader put at the top of each autograded notebook (repaired cells, refused files)."""
    import html

    import nbformat

    notes = []
    for path in sorted(folder.glob("*.ipynb")):
        try:
            nb = nbformat.read(str(path), as_version=4)
        except Exception:  # noqa: BLE001 - nothing to report from an unreadable notebook
            continue
        for cell in nb.cells:
            if cell.get("id") == "rlir-grading-notes":
                notes += [html.unescape(line[2:]) for line in cell.source.splitlines() if line.startswith("* ")]
    return notes


def refusal_feedback(folder: str, student: str, expected: list[str], problems: list[str]) -> dict[str, bytes]:
    """The feedback page of a submission that could not be graded: the reasons, escaped, and 0 points."""
    import html

    items = "".join(f"<li>{html.escape(problem)}</li>" for problem in problems)
    page = (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(folder)}: not graded</title>"
            f"</head><body><h1>{html.escape(folder)}: not graded (0 points)</h1><ul>{items}</ul></body></html>")
    return {f"feedback/{student}/{folder}/{name.removesuffix('.ipynb')}.html": page.encode() for name in expected}


def _run_group(command: list[str], cwd: Path, timeout: float, env: dict[str, str] | None = None) -> tuple[int, str]:
    """Run ``command`` in its own process group; on timeout kill the whole group (nbgrader and the
    student's kernel with it) and raise ``TimeoutExpired``."""
    process = subprocess.Popen(command, cwd=cwd, env={**nbgrader_env(), **(env or {})}, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT,
                               text=True, start_new_session=True, preexec_fn=_limit_resources)
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(process.pid, 9)
        except ProcessLookupError:
            pass
        try:
            process.communicate(timeout=KILLED_OUTPUT_SECONDS)
        except subprocess.TimeoutExpired:  # a process outside the group still holds the pipe: stop reading
            process.stdout.close()
            process.wait()
        raise
    return process.returncode, output


def _limit_resources() -> None:
    """In the child before exec: the sandbox policy's limits on nbgrader (the grader's side of one job).
    Soft limits only, so that the sandbox worker it starts can still take the limits the course configures
    (``c.GradeInSandbox``) and make them its hard ones. No process cap: nbgrader runs as the grader's own
    user, whose other processes would count too (the worker's cap binds its own user)."""
    DEFAULT_LIMITS.apply(processes=False, hard=False)


def read_scores(db: Path, folder: str, student: str) -> dict[str, dict[str, float]]:
    """notebook -> grade cell -> autograded points, from a scratch gradebook."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{db}") as gradebook:
        submission = gradebook.find_submission(folder, student)
        return {nb.name: {g.name: float(g.auto_score or 0.0) for g in nb.grades} for nb in submission.notebooks}


def merge_result(gradebook, course: Path, folder: str, result: SubmissionResult) -> None:
    """Write one result into the course gradebook and folders (called from one thread only)."""
    gradebook.update_or_create_student(result.student)
    try:
        gradebook.remove_submission(folder, result.student)
    except Exception:  # noqa: BLE001 - nbgrader raises MissingEntry when there is none yet
        gradebook.db.rollback()
    with gradebook.db.no_autoflush:  # nbgrader's add_submission warns under SQLAlchemy 2 autoflush
        submission = gradebook.add_submission(folder, result.student)
    for notebook in submission.notebooks:
        for grade in notebook.grades:
            grade.auto_score = result.scores.get(notebook.name, {}).get(grade.name, 0.0) if result.ok else 0.0
            grade.needs_manual_grade = False if grade.cell_type == "code" else grade.needs_manual_grade
    gradebook.db.commit()
    for relative, content in result.files.items():
        target = course / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)


def submissions(course: Path, folder: str) -> list[tuple[str, Path]]:
    """(student, submission folder) for every student who submitted this assignment."""
    root = course / "submitted"
    return sorted((p.name, p / folder) for p in root.iterdir() if (p / folder).is_dir()) if root.exists() else []


Runner = Callable[[list[tuple], int], Iterator[SubmissionResult]]


def run_local(jobs: list[tuple], workers: int) -> Iterator[SubmissionResult]:
    """The embedded default: a pool of ``workers`` threads, each driving one nbgrader process at a time."""
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {pool.submit(grade_submission, *job): job for job in jobs}
        for future in as_completed(futures):
            yield _result_or_failure(future, futures[future])


def run_dask(jobs: list[tuple], workers: int, address: str | None = None) -> Iterator[SubmissionResult]:
    """The same jobs on a Dask cluster: ``address`` of a running scheduler, or a local cluster."""
    from dask.distributed import Client, LocalCluster
    from dask.distributed import as_completed as dask_completed

    cluster = None if address else LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                                dashboard_address=None)
    with Client(address or cluster) as client:
        futures = [client.submit(grade_submission, *job, pure=False) for job in jobs]
        by_key = {f.key: job for f, job in zip(futures, jobs, strict=True)}
        for future in dask_completed(futures):
            yield _result_or_failure(future, by_key[future.key])
    if cluster is not None:
        cluster.close()


def _result_or_failure(future, job: tuple) -> SubmissionResult:
    try:
        return future.result()
    except Exception as error:  # noqa: BLE001 - a worker died: that submission failed, the batch goes on
        return SubmissionResult(job[3], False, 0.0, error=f"worker failed: {type(error).__name__}: {error}")


def batch_grade(course: Path, folder: str, *, workers: int = 2, db_url: str | None = None,
                engine: str = "local", address: str | None = None, timeout: float = SUBMISSION_TIMEOUT,
                progress: bool = True) -> list[SubmissionResult]:
    """Grade all submissions of ``folder`` in ``course``; return the results in student order."""
    from nbgrader.api import Gradebook
    from tqdm.auto import tqdm

    course = course.resolve()
    db_url = db_url or f"sqlite:///{course / 'gradebook.db'}"
    found = submissions(course, folder)
    results: list[SubmissionResult] = []
    with tempfile.TemporaryDirectory(prefix="rlir-batch-") as workdir:
        template = prepare_template(course, folder, Path(workdir), db_url)
        jobs = [(str(template), str(path), folder, student, timeout) for student, path in found]
        runner = run_local if engine == "local" else (lambda j, w: run_dask(j, w, address))
        try:
            with Gradebook(db_url) as gradebook:
                for result in tqdm(runner(jobs, workers), total=len(jobs), desc=f"grading {folder}",
                                   disable=not progress):
                    merge_result(gradebook, course, folder, result)
                    results.append(result)
        except InfrastructureError:
            raise
        except Exception as error:
            raise InfrastructureError(f"{type(error).__name__}: {error}") from error
    return sorted(results, key=lambda r: r.student)


def summary(results: list[SubmissionResult], max_points: float) -> str:
    """The end-of-batch report: one line per failed or ungradable submission and per note, then the totals."""
    lines = [f"{'NOT GRADED' if r.refused else 'FAILED'} {r.student}: {r.error.splitlines()[0] if r.error else '?'}"
             for r in results if not r.ok]
    lines += [f"NOTE {r.student}: {note}" for r in results if r.ok for note in r.notes]
    graded = [r for r in results if r.ok]
    mean = sum(r.points for r in graded) / len(graded) if graded else 0.0
    refused = sum(r.refused for r in results)
    failed = len(results) - len(graded) - refused
    lines.append(f"{len(results)} submissions: {len(graded)} graded, {failed} failed"
                 + (f", {refused} not gradable (0 points)" if refused else "")
                 + f"; mean {mean:.1f} / {max_points:g} points; {sum(r.seconds for r in results):.0f} s of grading")
    return "\n".join(lines)


def write_report(results: list[SubmissionResult], path: Path) -> None:
    """A JSON record of the batch (scores, failures, timings) without the files."""
    records = [{k: v for k, v in asdict(r).items() if k != "files"} for r in results]
    path.write_text(json.dumps(records, indent=2))
