"""Grade every submission of a class in parallel, each in isolation, and merge the results without races.

Each submission is autograded by the real ``nbgrader autograde`` in a scratch copy of the course (its own
SQLite gradebook, copied from a template prepared once), inside its own network namespace where the machine
allows it: no network for the student's kernel, and no kernel-port collisions between parallel jobs. What a job
returns is the submission's grading record (``grading.json``, see ``record.py``) with its autograded and feedback
files. Only the main process writes to the course's gradebook (SQLite or any nbgrader ``db_url``, e.g.
PostgreSQL), one result at a time, and only what the student's code earned: a job the machinery failed (a lost
worker, an nbgrader crash, the batch's own time limit) is retried, and if it still fails the student's previous
grade stays as it was and the student is listed as not graded. A submission whose record was made by the same
grader from the same files is not graded again; after a check changes, only the cells it decides are judged
again, and every score that moved is listed.
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
from dataclasses import dataclass, field
from pathlib import Path

from autograder.grading import fingerprint, nbgrader_steps
from autograder.grading import submission as submission_files
from autograder.grading.grade import (
    GradingOptions,
    grade_submission,
    intake,
    options_from_config,
    trusted_notebooks,
)
from autograder.grading.notebook import assignment_module
from autograder.grading.record import RECORD_NAME, GradingRecord, StaleRecord, load_record, record_path
from autograder.sandbox import network_jail, package_roots
from autograder.sandbox.policy import DEFAULT_LIMITS

RETRIES = 2  # a job the machinery failed is run again this many times before its student is left ungraded
MACHINERY_SECONDS = 600.0  # beyond the student's budgets: nbgrader, feedback, starting the sandbox
KILLED_OUTPUT_SECONDS = 30.0  # to drain a killed job's output
SUBMISSION_MEMORY_BYTES = DEFAULT_LIMITS.memory_bytes  # address space of each process of a job (the sandbox's)
SCRATCH_PREFIX = "rlir-grade-"  # each job's scratch course: a temporary folder rlir-grade-<student>-...
JOB_FILE = "rlir-job.json"  # in a job's scratch course: the intake and previous record the plugin is given


class InfrastructureError(RuntimeError):
    """Grading itself failed for the whole batch (not a student's code): the batch stops with exit 2."""


class MachineryFailure(RuntimeError):
    """Grading one submission failed for the machinery (nbgrader, the job's time limit, no record): retried."""


@dataclass
class SubmissionResult:
    """What grading one student's submission produced: its status (``graded``, ``unchanged``, ``refused``,
    ``failed`` or ``infrastructure``), its grading record, the files to write, and why when not graded."""

    student: str
    status: str
    record: GradingRecord | None = None  # None only for ``infrastructure``
    seconds: float = 0.0
    reason: str = ""  # why the machinery could not grade it (``infrastructure``)
    files: dict[str, bytes] = field(default_factory=dict)  # course-relative path -> content
    late_penalty: dict[str, float] = field(default_factory=dict)  # notebook -> nbgrader's late penalty
    attempts: int = 1
    previous: GradingRecord | None = None  # the record this one replaces (for the table of changed scores)
    stale: str = ""  # the previous record could not be read (another grader's schema): why

    @property
    def ok(self) -> bool:
        """Whether the submission has a grade the student's code earned (now or unchanged from before)."""
        return self.status in ("graded", "failed", "unchanged")

    @property
    def refused(self) -> bool:
        return self.status == "refused"

    @property
    def points(self) -> float:
        return self.record.points if self.record is not None and self.status != "infrastructure" else 0.0

    @property
    def scores(self) -> dict[str, dict[str, float]]:
        """notebook -> grade id -> points, from the record (empty for ``infrastructure``)."""
        return self.record.scores() if self.record is not None and self.status != "infrastructure" else {}

    @property
    def notes(self) -> list[str]:
        return [note.replace("`", "") for note in self.record.notes] if self.record is not None else []

    @property
    def error(self) -> str:
        """Why it was not graded: the refusal, the machinery's failure, or ""."""
        if self.status == "refused" and self.record is not None:
            return "not graded: " + self.record.refusal
        if self.status == "failed":
            return "the student's code could not be judged: " + "; ".join(
                c.message.splitlines()[0] for c in (self.record.cells if self.record else [])[:1])
        return self.reason


def nbgrader_command(*args: str) -> list[str]:
    return [str(Path(sys.executable).parent / "nbgrader"), *args]


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
    """A scratch course holding the config, the assignment's source and a gradebook that knows it (with the
    course's due date, so that nbgrader's late penalty applies as in the course); the course's own gradebook
    (``db_url``) is made to know the assignment too. The course folder itself is not touched (its release/ stays
    as committed)."""
    from nbgrader.api import Gradebook

    template = workdir / "template"
    template.mkdir(parents=True)
    shutil.copy(course / "nbgrader_config.py", template)
    shutil.copytree(course / "source" / folder, template / "source" / folder)
    result = subprocess.run(nbgrader_steps.command(nbgrader_steps.release(folder, db_url)), cwd=template,
                            env=nbgrader_env(), capture_output=True, text=True, timeout=600)
    if result.returncode != 0:
        raise InfrastructureError(f"generate_assignment failed:\n{result.stdout[-2000:]}{result.stderr[-2000:]}")
    with Gradebook(db_url) as gradebook:
        duedate = gradebook.find_assignment(folder).duedate
    if duedate is not None:
        with Gradebook(f"sqlite:///{template / 'gradebook.db'}") as scratch:
            scratch.update_or_create_assignment(folder, duedate=duedate)
    shutil.rmtree(template / "release", ignore_errors=True)
    return template


def grade_submission_job(template: str, submission: str, folder: str, student: str, timeout: float,
                         previous: dict | None = None, shown: dict | None = None) -> SubmissionResult:
    """Grade one submission in its own scratch course; return its record and its output files. Raise
    :class:`MachineryFailure` when the machinery fails (the caller retries); never for the student's code.

    Safe to run in any worker (a thread here, or a Dask task on the same machine): it touches only its own
    scratch directory and returns everything it produced. The submission folder is looked at once
    (:func:`~autograder.grading.grade.intake`); the scratch course gets only the files it accepts. ``previous``
    is the submission's earlier record (its verdicts of unchanged cells are kept), ``shown`` what the earlier
    feedback showed for each graded cell (notebook -> grade id -> outputs), shown again for a kept verdict."""
    start = time.monotonic()
    source = Path(template) / "source" / folder
    trusted = trusted_notebooks(source)
    checked = intake(Path(submission), trusted)
    if checked.refusal:  # nothing to grade: 0 points, and a feedback page that says why
        record = grade_submission(Path(submission), folder, trusted=trusted, student=student, checked=checked,
                                  options=options_from_config(Path(template))).record
        files = refusal_feedback(folder, student, sorted(trusted), checked.problems)
        files[f"autograded/{student}/{folder}/{RECORD_NAME}"] = record.to_json().encode()
        return SubmissionResult(student, "refused", record, time.monotonic() - start, files=files)
    with tempfile.TemporaryDirectory(prefix=f"{SCRATCH_PREFIX}{student}-") as scratch:
        course = Path(scratch) / "course"
        shutil.copytree(template, course)
        target = course / "submitted" / student / folder
        submission_files.copy_submission(Path(submission), target)
        submission_files.upgrade_old_notebooks(target)
        job = course / JOB_FILE
        job.write_text(json.dumps({"intake": checked.to_dict(), "previous": previous, "shown": shown or {}}),
                       encoding="utf-8")
        command = nbgrader_steps.command(nbgrader_steps.grading(folder, student, f"--GradeInSandbox.job={job}"))
        try:
            returncode, output = _run_group(jailed(command), course, max(timeout - (time.monotonic() - start), 1.0))
        except subprocess.TimeoutExpired:
            raise MachineryFailure(f"grading took longer than {timeout:.0f} s (the batch's limit on one job, "
                                   "beyond the student's own budgets)") from None
        if returncode != 0:
            raise MachineryFailure(f"nbgrader exited with code {returncode}: {output[-1500:]}")
        try:
            record = load_record(course / "autograded" / student / folder / RECORD_NAME)
        except (FileNotFoundError, StaleRecord) as error:
            raise MachineryFailure(f"nbgrader wrote no grading record: {error}") from None
        graded = {c.notebook for c in record.cells}
        if graded != set(trusted):
            raise MachineryFailure(f"the grading record covers {sorted(graded)}, not {sorted(trusted)}")
        files = {}
        for kind in ("autograded", "feedback"):
            root = course / kind / student / folder
            for path in sorted(root.rglob("*")) if root.exists() else ():
                if path.is_file() and not path.is_symlink() and path.stat().st_size < 50_000_000:
                    files[str(path.relative_to(course))] = path.read_bytes()
        return SubmissionResult(student, record.status, record, time.monotonic() - start, files=files,
                                late_penalty=read_late_penalties(course / "gradebook.db", folder, student))


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
    user, whose other processes would count too (the worker's cap binds its own user). And the job ends with the
    process that started it: a batch (or Dask worker) killed mid-way leaves no grading behind."""
    DEFAULT_LIMITS.apply(processes=False, hard=False)
    _end_with_parent()


def _end_with_parent() -> None:
    """Ask Linux to SIGKILL this process when the thread that started it goes (PR_SET_PDEATHSIG)."""
    import ctypes
    import signal

    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL), 0, 0, 0)  # 1: PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def read_late_penalties(db: Path, folder: str, student: str) -> dict[str, float]:
    """notebook -> the late-submission penalty nbgrader's autograde assigned, from a scratch gradebook."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{db}") as gradebook:
        submission = gradebook.find_submission(folder, student)
        return {nb.name: float(nb.late_submission_penalty or 0.0) for nb in submission.notebooks}


def merge_result(gradebook, course: Path, folder: str, result: SubmissionResult) -> None:
    """Write one result into the course gradebook and folders (called from one thread only). Only what the
    student's code earned is written: an unchanged or infrastructure result leaves everything as it was."""
    record = result.record
    if record is None or not record.earned or result.status not in ("graded", "refused", "failed"):
        return
    gradebook.update_or_create_student(result.student)
    try:
        gradebook.remove_submission(folder, result.student)
    except Exception:  # noqa: BLE001 - nbgrader raises MissingEntry when there is none yet
        gradebook.db.rollback()
    timestamp = {"timestamp": record.submitted_at.removesuffix(" UTC")} if record.submitted_at else {}
    with gradebook.db.no_autoflush:  # nbgrader's add_submission warns under SQLAlchemy 2 autoflush
        submission = gradebook.add_submission(folder, result.student, **timestamp)
    scores = record.scores()
    for notebook in submission.notebooks:
        notebook.late_submission_penalty = result.late_penalty.get(notebook.name)
        for grade in notebook.grades:
            grade.auto_score = scores.get(notebook.name, {}).get(grade.name, 0.0)
            grade.needs_manual_grade = False if grade.cell_type == "code" else grade.needs_manual_grade
    gradebook.db.commit()
    for kind in ("autograded", "feedback"):  # what an earlier grading left is replaced, not mixed in
        shutil.rmtree(course / kind / result.student / folder, ignore_errors=True)
    for relative, content in result.files.items():
        target = course / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)


def submissions(course: Path, folder: str) -> list[tuple[str, Path]]:
    """(student, submission folder) for every student who submitted this assignment."""
    root = course / "submitted"
    return sorted((p.name, p / folder) for p in root.iterdir() if (p / folder).is_dir()) if root.exists() else []


Runner = Callable[[list[tuple], int], Iterator[SubmissionResult]]


def _with_retries(job: tuple) -> SubmissionResult:
    """Run one job, again up to :data:`RETRIES` times while the machinery fails; then an infrastructure result."""
    reasons = []
    for attempt in range(1, RETRIES + 2):
        try:
            result = grade_submission_job(*job)
            result.attempts = attempt
            return result
        except Exception as error:  # noqa: BLE001 - the machinery's failure, never the student's: retried
            reasons.append(f"{type(error).__name__}: {error}" if not isinstance(error, MachineryFailure)
                           else str(error))
    return SubmissionResult(job[3], "infrastructure", reason=reasons[-1], attempts=RETRIES + 1)


def run_local(jobs: list[tuple], workers: int) -> Iterator[SubmissionResult]:
    """The embedded default: a pool of ``workers`` threads, each driving one nbgrader process at a time."""
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(_with_retries, job) for job in jobs]
        for future in as_completed(futures):
            yield future.result()


def run_dask(jobs: list[tuple], workers: int, address: str | None = None) -> Iterator[SubmissionResult]:
    """The same jobs on a Dask cluster: ``address`` of a running scheduler, or a local cluster. A job the
    machinery failed is retried by Dask (``retries``); a job whose worker died is run again on another."""
    from dask.distributed import Client, LocalCluster
    from dask.distributed import as_completed as dask_completed

    cluster = None if address else LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                                dashboard_address=None)
    with Client(address or cluster) as client:
        futures = [client.submit(grade_submission_job, *job, pure=False, retries=RETRIES) for job in jobs]
        by_key = {f.key: job for f, job in zip(futures, jobs, strict=True)}
        for future in dask_completed(futures):
            try:
                yield future.result()
            except Exception as error:  # noqa: BLE001 - still failing after the retries: not graded
                yield SubmissionResult(by_key[future.key][3], "infrastructure",
                                       reason=f"{type(error).__name__}: {error}", attempts=RETRIES + 1)
    if cluster is not None:
        cluster.close()


@dataclass
class Plan:
    """What a batch run will do: the jobs to run and the results already known (unchanged submissions)."""

    jobs: list[tuple] = field(default_factory=list)
    known: list[SubmissionResult] = field(default_factory=list)
    previous: dict[str, GradingRecord] = field(default_factory=dict)
    stale: dict[str, str] = field(default_factory=dict)


def plan(course: Path, folder: str, options: GradingOptions, *, force: bool = False,
         timeout: float | None = None) -> Plan:
    """Which submissions need grading: those without a record, with a stale one, or whose submission or grader
    fingerprint differs from their record's (all of them with ``force``)."""
    trusted = trusted_notebooks(course / "source" / folder)
    prints = fingerprint.cell_fingerprints(trusted, assignment_module(folder), options.as_dict())
    grader = fingerprint.grader_fingerprint(prints)
    timeout = timeout if timeout is not None else default_timeout(options)
    result = Plan()
    for student, path in submissions(course, folder):
        try:
            previous = load_record(record_path(course, student, folder))
        except FileNotFoundError:
            previous = None
        except StaleRecord as error:
            previous, result.stale[student] = None, str(error)
        if previous is not None and not previous.earned:
            previous = None
        if previous is not None:
            result.previous[student] = previous
            if not force and previous.grader_fingerprint == grader and \
                    previous.submission_fingerprint == fingerprint.submission_fingerprint(path):
                result.known.append(SubmissionResult(student, "unchanged", previous, previous=previous))
                continue
        reuse = previous is not None and not force
        result.jobs.append((None, str(path), folder, student, timeout, previous.to_dict() if reuse else None,
                            shown_outputs(course / "autograded" / student / folder) if reuse else None))
    return result


def shown_outputs(autograded: Path) -> dict[str, dict[str, list]]:
    """notebook -> grade id -> the outputs an earlier grading rendered for each graded cell (the checks' lines,
    learning curves), to show again where its verdict is kept. Only what is shown: verdicts come from records."""
    import nbformat

    from autograder.grading.notebook import _nbgrader

    shown = {}
    for path in sorted(autograded.glob("*.ipynb")):
        try:
            nb = nbformat.read(str(path), as_version=4)
        except Exception:  # noqa: BLE001 - nothing to show again: the verdict is rendered from the record
            continue
        shown[path.name] = {_nbgrader(c)["grade_id"]: c.get("outputs", []) for c in nb.cells
                            if c.cell_type == "code" and _nbgrader(c).get("grade") and _nbgrader(c).get("grade_id")}
    return shown


def default_timeout(options: GradingOptions) -> float:
    """The batch's limit on one job: the student's budgets (all cells, all checks) and the machinery's share."""
    return options.notebook_budget + options.submission_budget + MACHINERY_SECONDS


def batch_grade(course: Path, folder: str, *, workers: int = 2, db_url: str | None = None,
                engine: str = "local", address: str | None = None, timeout: float | None = None,
                progress: bool = True, force: bool = False) -> list[SubmissionResult]:
    """Grade the submissions of ``folder`` in ``course`` that changed since their record (all with ``force``);
    return every submission's result in student order."""
    from nbgrader.api import Gradebook
    from tqdm.auto import tqdm

    course = course.resolve()
    db_url = db_url or f"sqlite:///{course / 'gradebook.db'}"
    try:
        options = options_from_config(course)
        work = plan(course, folder, options, force=force, timeout=timeout)
    except Exception as error:
        raise InfrastructureError(f"{type(error).__name__}: {error}") from error
    results: list[SubmissionResult] = list(work.known)
    with tempfile.TemporaryDirectory(prefix="rlir-batch-") as workdir:
        try:
            if work.jobs:
                template = str(prepare_template(course, folder, Path(workdir), db_url))
                jobs = [(template, *job[1:]) for job in work.jobs]
                runner = run_local if engine == "local" else (lambda j, w: run_dask(j, w, address))
                with Gradebook(db_url) as gradebook:
                    for result in tqdm(runner(jobs, workers), total=len(jobs), desc=f"grading {folder}",
                                       disable=not progress):
                        result.previous = work.previous.get(result.student)
                        result.stale = work.stale.get(result.student, "")
                        merge_result(gradebook, course, folder, result)
                        results.append(result)
        except InfrastructureError:
            raise
        except Exception as error:
            raise InfrastructureError(f"{type(error).__name__}: {error}") from error
    return sorted(results, key=lambda r: r.student)


def score_changes(results: list[SubmissionResult]) -> list[dict]:
    """Every graded cell whose points moved since the record a result replaced: student, check, old, new."""
    changes = []
    for result in results:
        old, new = result.previous, result.record
        if old is None or new is None or result.status in ("unchanged", "infrastructure") or not new.earned:
            continue
        before = {(c.notebook, c.grade_id): c.points for c in old.cells}
        for cell in new.cells:
            was = before.get((cell.notebook, cell.grade_id))
            if was is None or was != cell.points:
                changes.append({"student": result.student, "check": cell.grade_id, "old": was, "new": cell.points})
    return changes


def changes_table(changes: list[dict]) -> str:
    """The changed scores as a table (student, check, old -> new)."""
    if not changes:
        return ""
    width = max(len(c["student"]) for c in changes)
    check = max(len(c["check"]) for c in changes)
    rows = [f"{c['student']:<{width}}  {c['check']:<{check}}  "
            f"{'-' if c['old'] is None else format(c['old'], 'g')} -> {c['new']:g}" for c in changes]
    return "\n".join([f"scores changed ({len({c['student'] for c in changes})} students):", *rows])


def summary(results: list[SubmissionResult], max_points: float) -> str:
    """The end-of-batch report: one line per submission not graded and why, per note and per stale record,
    the table of changed scores, then the totals by status."""
    lines = []
    for r in results:
        if r.stale:
            lines.append(f"STALE {r.student}: {r.stale}")
        if r.status == "refused":
            lines.append(f"NOT GRADED {r.student}: {r.error.splitlines()[0] if r.error else '?'}")
        elif r.status == "infrastructure":
            lines.append(f"NOT GRADED {r.student}: grading failed {r.attempts} times, previous grade kept: "
                         f"{r.reason.splitlines()[0] if r.reason else '?'}")
        elif r.status == "failed":
            lines.append(f"FAILED {r.student}: {r.error.splitlines()[0]}")
    lines += [f"NOTE {r.student}: {note}" for r in results if r.status == "graded" for note in r.notes]
    table = changes_table(score_changes(results))
    if table:
        lines.append(table)
    counts = {status: sum(r.status == status for r in results)
              for status in ("graded", "unchanged", "refused", "failed", "infrastructure")}
    earned = [r for r in results if r.status in ("graded", "unchanged", "failed")]
    mean = sum(r.points for r in earned) / len(earned) if earned else 0.0
    lines.append(f"{len(results)} submissions: {counts['graded']} graded, {counts['unchanged']} unchanged, "
                 f"{counts['refused']} not gradable (0 points), {counts['failed']} failed (0 points), "
                 f"{counts['infrastructure']} not graded (grading failed); mean {mean:.1f} / {max_points:g} points; "
                 f"{sum(r.seconds for r in results):.0f} s of grading")
    return "\n".join(lines)


def write_report(results: list[SubmissionResult], path: Path) -> None:
    """The batch as JSON: every student's status, points, reason, attempts and time, and the changed scores."""
    students = [{"student": r.student, "status": r.status, "points": r.points,
                 "max_points": r.record.max_points if r.record else None, "reason": r.error, "notes": r.notes,
                 "submitted_at": r.record.submitted_at if r.record else None, "attempts": r.attempts,
                 "seconds": round(r.seconds, 3), "stale": r.stale} for r in results]
    path.write_text(json.dumps({"students": students, "changes": score_changes(results)}, indent=2))
