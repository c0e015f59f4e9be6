"""The first line of defence: student code that hangs, exits, crashes, floods or cheats costs only its own
points, and never the grader's process."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest

from autograder.grading.notebook import grade_notebook, read_notebook
from autograder.sandbox import Sandbox, StudentCodeError, StudentCrash, StudentTimeout
from tests.helpers import expensive, graded_cells, require_jail, source_notebook


def require_own_process_count() -> None:
    """Skip unless each worker's process cap counts only its own processes: a fresh uid (a root grader) or
    bubblewrap's user namespace (any grader; the kernel counts processes per user namespace)."""
    from autograder.sandbox import jail_mechanism, unprivileged_user

    if unprivileged_user() is None and jail_mechanism() != "bwrap":
        pytest.skip("the worker shares the grader's user and its process count here")


def sandbox_with(source: str, **options) -> Sandbox:
    return Sandbox([("<cell answer_test>", source)], **options)


def test_results_and_in_place_changes_come_back():
    with sandbox_with("def bump(a, rng):\n    a[0] += 1\n    return rng.integers(100)\n") as box:
        array = np.zeros(3)
        rng = np.random.default_rng(1)
        expected = np.random.default_rng(1).integers(100)
        assert box.call("bump", (array, rng), {}) == expected
        assert array.tolist() == [1.0, 0.0, 0.0]
        assert rng.bit_generator.state == (lambda r: (r.integers(100), r.bit_generator.state)[1])(
            np.random.default_rng(1))


def test_infinite_loop_times_out_then_the_next_check_gets_a_fresh_process():
    with sandbox_with("def spin():\n    while True:\n        pass\n\ndef fine():\n    return 7\n",
                      call_timeout=1.0) as box:
        start = time.monotonic()
        with pytest.raises(StudentTimeout):
            box.function("spin")()
        assert time.monotonic() - start < 5
        with pytest.raises(StudentTimeout):  # the same check stops calling at once
            box.function("fine")()
        box.ensure_ready()
        assert box.function("fine")() == 7


@pytest.mark.parametrize("body, kind", [
    ("import sys\n    sys.exit(3)", "exception"),
    ("raise SystemExit", "exception"),
    ("raise KeyboardInterrupt", "exception"),
    ("raise ValueError('boom')", "exception"),
    ("import os\n    os._exit(0)", "crash"),
    ("import os, signal\n    os.kill(os.getpid(), signal.SIGSEGV)", "crash"),
    ("return bytearray(64 * 2**30)", "exception"),
])
def test_exits_crashes_and_memory_bombs_are_reported_not_fatal(body, kind):
    with sandbox_with(f"def bad():\n    {body}\n", memory_bytes=2 * 1024**3) as box:
        with pytest.raises(StudentCodeError) as error:
            box.function("bad")()
        assert error.value.kind == kind
        assert isinstance(error.value, StudentCrash) == (kind == "crash")


def test_huge_results_are_refused():
    with sandbox_with("import numpy as np\ndef flood():\n    return np.zeros(40_000_000)\n") as box:
        with pytest.raises(StudentCrash, match="MB of data"):
            box.function("flood")()


def test_a_top_level_exit_in_an_answer_cell_fails_loading_once_without_retrying():
    with Sandbox([("<cell answer_a>", "import os\nos._exit(1)\n"), ("<cell answer_b>", "def f():\n    return 1")],
                 ) as box:
        assert [load.ok for load in box.loads] == [False]
        box.ensure_ready()  # does not start again: it would fail the same way
        with pytest.raises(StudentCrash):
            box.function("f")()


def test_a_broken_cell_does_not_stop_the_next_one_from_loading():
    with Sandbox([("<cell answer_a>", "def f(:\n"), ("<cell answer_b>", "def g():\n    return 2\n")]) as box:
        assert [load.ok for load in box.loads] == [False, True]
        assert box.function("g")() == 2


def test_a_missing_function_is_named():
    with sandbox_with("x = 1\n") as box:
        with pytest.raises(StudentCodeError, match="`nothing` is not defined"):
            box.function("nothing")()


def test_stderr_noise_and_prints_do_not_disturb_the_protocol():
    source = "import sys\ndef noisy():\n    print('x' * 100000)\n    sys.stderr.write('warn ' * 100000)\n    return 5\n"
    with sandbox_with(source) as box:
        assert box.function("noisy")() == 5


def _submission(replacements: dict[str, str]):
    nb = read_notebook(source_notebook("tabular_q_learning"))
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in replacements:
            cell.source = replacements[grade_id]
    return nb


def test_patching_numpy_and_the_checks_in_an_answer_cell_earns_nothing():
    cheat = '''
import numpy as np
import autograder.assignments.tabular_q_learning as checks
import autograder.toolkit.framework as framework
np.isclose = lambda *a, **k: True
np.allclose = lambda *a, **k: True
np.array_equal = lambda *a, **k: True
checks.check_update_moves_toward_target = lambda f: print("PASSED update_moves_toward_target")
checks.check_update_fixed_point = lambda f: None
framework.fail = lambda *a, **k: None

def q_learning_update(q_table, state, action, reward, next_state, terminated, alpha, gamma):
    q_table[state, action] = 123.0
'''
    verdict = grade_notebook(_submission({"answer_q_learning_update": cheat}), "tabular_q_learning")
    by_id = {cell.grade_id: cell for cell in verdict.cells}
    for grade_id in ("update_fixed_point", "update_moves_toward_target", "update_alpha_edge_cases",
                     "update_terminal_vs_truncated"):
        assert not by_id[grade_id].passed, grade_id
    assert by_id["shape_reward"].passed and by_id["greedy_policy"].passed


def test_an_infinite_loop_costs_only_its_own_checks():
    spin = "def greedy_policy(q_table):\n    while True:\n        pass\n"
    nb = _submission({"answer_greedy_policy": spin})
    # The teaching cells that draw the greedy policy hang too: interrupted after 10 s here (300 s in the course).
    # Every graded cell but the learning check (about 15 s; it does not call greedy_policy).
    cheap = set(graded_cells("tabular_q_learning")) - expensive("tabular_q_learning")
    verdict = grade_notebook(nb, "tabular_q_learning", cell_timeout=10.0, only=cheap)
    assert {cell.grade_id for cell in verdict.cells} == cheap
    by_id = {cell.grade_id: cell for cell in verdict.cells}
    assert not by_id["greedy_policy"].passed
    assert "did not return" in by_id["greedy_policy"].error_message
    assert verdict.points == verdict.max_points - by_id["greedy_policy"].max_points


def test_student_code_has_no_network():
    import socket

    require_jail("it has the network")
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]
    source = ("import socket\ndef reach(port):\n    s = socket.socket()\n    s.settimeout(2)\n"
              "    return s.connect_ex(('127.0.0.1', port))\n")
    try:
        with sandbox_with(source) as box:
            assert box.function("reach")(port) != 0
    finally:
        server.close()


def test_student_code_cannot_rewrite_the_checks_or_the_gradebook(tmp_path):
    import autograder.toolkit.framework
    from autograder.sandbox import jail_mechanism, unprivileged_user

    if unprivileged_user() is None and jail_mechanism() != "bwrap":  # another user, or read-only mounts
        pytest.skip("student code runs as the grader, with the grader's files writable, here")
    gradebook = tmp_path / "gradebook.db"
    gradebook.write_text("grades")
    source = ("def tamper(paths):\n    done = []\n    for path in paths:\n        try:\n"
              "            open(path, 'a').write('# pwned')\n            done.append(path)\n"
              "        except OSError:\n            pass\n    return done\n")
    with sandbox_with(source) as box:
        assert box.function("tamper")([autograder.toolkit.framework.__file__, str(gradebook)]) == []
    assert gradebook.read_text() == "grades"


def test_a_worker_that_cannot_start_is_an_infrastructure_error_not_a_student_failure(monkeypatch):
    from autograder.sandbox import SandboxUnavailable

    monkeypatch.setattr("sys.executable", "/nonexistent/python")
    with pytest.raises(SandboxUnavailable, match="did not start"):
        sandbox_with("def f():\n    return 1\n").start()


def test_student_code_cannot_read_hidden_tests_or_the_gradebook(tmp_path):
    require_jail("it sees the grader's files")
    course = Path(tempfile.mkdtemp(prefix="scratch-course-", dir=Path(__file__).parent))  # not under /tmp
    course.chmod(0o755)
    (course / "source").mkdir()
    (course / "source" / "hidden.ipynb").write_text("### BEGIN HIDDEN TESTS secret")
    (course / "gradebook.db").write_text("all the grades")
    for path in (course / "source", course / "source" / "hidden.ipynb", course / "gradebook.db"):
        path.chmod(0o755 if path.is_dir() else 0o644)
    source = ("import os\ndef peek(course):\n    found = []\n    for root, _, files in os.walk(course):\n"
              "        for name in files:\n            found.append(open(os.path.join(root, name)).read())\n"
              "    return found\n")
    box = Sandbox([("<cell answer_p>", source)], hidden_paths=(str(course / "source"), str(course / "gradebook.db")),
                  visible_paths=(str(course),))
    try:
        with box:
            assert box.function("peek")(str(course)) == [""]  # the gradebook reads empty, source/ is empty
        assert "secret" in (course / "source" / "hidden.ipynb").read_text()
    finally:
        shutil.rmtree(course)


def test_student_code_gets_its_own_empty_tmp():
    """/tmp is fresh: the grader's files there are absent; it holds the worker's own folder and, where the
    course lies under /tmp (a clone in /tmp/...), only the steps towards the bound course packages."""
    from autograder.sandbox import unprivileged_user

    require_jail("it sees the grader's files")
    leftover = Path(tempfile.mkdtemp(prefix="leftover-"))
    leftover.chmod(0o755)
    (leftover / "solution.ipynb").write_text("BEGIN SOLUTION")
    (leftover / "solution.ipynb").chmod(0o644)
    source = "import os\ndef look(path):\n    return os.path.exists(path), sorted(os.listdir('/tmp'))\n"
    try:
        with sandbox_with(source) as box:
            exists, listing = box.function("look")(str(leftover / "solution.ipynb"))
            policy = box.policy(unprivileged_user())
        steps = {Path(p).relative_to("/tmp").parts[0] for p in policy.visible() if Path(p).is_relative_to("/tmp")}
        assert policy.entries("/tmp") == {"rlir-student"} | steps and leftover.name not in steps
        assert exists is False and set(listing) == policy.entries("/tmp"), listing
    finally:
        shutil.rmtree(leftover)


def test_student_code_sees_only_the_interpreter_and_the_course_packages():
    """Any other folder is covered (or, under bubblewrap, absent), wherever it is: another course's
    world-readable gradebook beside this repository, the repository's tests and notebooks, the grader's
    processes in /proc."""
    require_jail("it sees the grader's files")
    repo = Path(__file__).resolve().parent.parent
    other = Path(tempfile.mkdtemp(prefix="other-course-", dir=repo))
    other.chmod(0o755)
    (other / "gradebook.db").write_text("SQLite format 3 all the grades")
    (other / "gradebook.db").chmod(0o644)
    source = ("import glob, os\ndef look(repo):\n    import rlir, torch\n"
              "    found = [open(p).read() for p in glob.glob(repo + '/**/gradebook.db', recursive=True)]\n"
              "    names = set(os.listdir(repo + '/tests')) if os.path.exists(repo + '/tests') else set()\n"
              "    pids = [p for p in os.listdir('/proc') if p.isdigit()]\n"
              "    return found, sorted(names), len(pids), rlir.__name__\n")
    try:
        with sandbox_with(source) as box:
            found, names, n_processes, package = box.function("look")(str(repo))
        assert found in ([], [""]) and names == [] and package == "rlir"
        assert n_processes < 10  # its own namespace: the jail's shell, the worker, what the worker started
    finally:
        shutil.rmtree(other)


def test_the_default_hidden_paths_cover_this_course():
    from autograder.sandbox import sensitive_paths

    root = Path(__file__).resolve().parent.parent
    assert str(root / "source") in sensitive_paths()


def test_a_fork_bomb_is_contained():
    require_own_process_count()
    source = ("import os\ndef bomb():\n    children = 0\n    try:\n        for _ in range(100000):\n"
              "            if os.fork() == 0:\n                import time\n                time.sleep(30)\n"
              "                os._exit(0)\n            children += 1\n    except OSError:\n        return children\n"
              "    return children\n")
    with sandbox_with(source, call_timeout=60.0) as box:
        assert box.function("bomb")() < 600


def test_processes_that_leave_the_process_group_die_with_the_worker():
    require_jail("its processes can outlive it")
    beacon = Path(tempfile.mkdtemp(prefix="scratch-beacon-", dir=Path(__file__).parent))  # not under /tmp
    beacon.chmod(0o777)
    source = ("import os, time\ndef escape(path):\n    if os.fork() == 0:\n        os.setsid()\n"
              "        while True:\n            open(path, 'a').write('.')\n            time.sleep(0.05)\n"
              "    time.sleep(0.5)\n    return 1\n")
    with sandbox_with(source, visible_paths=(str(beacon),)) as box:
        assert box.function("escape")(str(beacon / "alive")) == 1
    time.sleep(0.5)
    size = (beacon / "alive").stat().st_size
    time.sleep(1.0)
    still_growing = (beacon / "alive").stat().st_size != size
    shutil.rmtree(beacon)
    assert not still_growing, "an escaped process is still running"


def test_one_submissions_fork_bomb_does_not_starve_another_submission():
    require_own_process_count()
    bomb = ("import os, time\ndef bomb():\n    n = 0\n    try:\n        while True:\n            if os.fork() == 0:\n"
            "                time.sleep(60)\n                os._exit(0)\n            n += 1\n    except OSError:\n"
            "        return n\n")
    polite = "import os\ndef fork_once():\n    pid = os.fork()\n    if pid == 0:\n        os._exit(0)\n" \
             "    os.waitpid(pid, 0)\n    return 1\n"
    with sandbox_with(bomb, call_timeout=60.0) as attacker, sandbox_with(polite) as victim:
        assert attacker.function("bomb")() > 100  # its children are alive until its sandbox closes
        assert victim.function("fork_once")() == 1
        assert subprocess.run(["true"]).returncode == 0  # nor the grader's own


def test_a_training_run_is_shared_across_checks_but_repeated_within_one():
    """Same function, same arguments: a second graded cell reuses the run; the same cell asking again (a
    determinism check) runs it again; other arguments run anew."""
    source = ("runs = []\ndef train(seed):\n    runs.append(seed)\n    return len(runs)\n"
              "def count():\n    return len(runs)\n")
    with Sandbox([("<cell answer_train>", source)], shared_runs=("train",)) as box:
        train = box.function("train")
        box.current_check = "first"
        assert train(1) == 1 and train(1) == 2  # repeated on purpose within one check: runs again
        box.current_check = "second"
        assert train(1) == 1  # the first check's run, shared
        assert train(2) == 3  # other arguments: a new run
        assert box.function("count")() == 3


def test_a_course_in_a_closed_home_folder(jail, monkeypatch):
    """The grader's packages in a home folder of mode 750 (as new Ubuntu homes; /root is 700): a jail rebuilds
    the way to them as passable folders holding nothing else, so the worker runs them, with the grader's own
    Python; with no jail the sandbox user cannot enter it, and the error names that folder and what to do."""
    import autograder.sandbox.client as client
    from autograder.sandbox import SandboxUnavailable, unprivileged_user

    if unprivileged_user() is None:
        pytest.skip("the worker runs as the grader's own user here")
    base = Path(tempfile.mkdtemp(prefix="rlir-home-"))  # (pytest's own tmp_path lies in a folder of mode 700)
    base.chmod(0o755)
    home = base / "home"
    course = home / "course"
    for package in ("autograder", "rlir"):
        shutil.copytree(Path(client.__file__).parents[2] / package, course / package)
    (home / "private.txt").write_text("the grader's own")
    home.chmod(0o750)
    monkeypatch.setattr(client, "package_roots", lambda: (str(course),))
    monkeypatch.setattr(client, "course_package_dirs", lambda: (str(course / "autograder"), str(course / "rlir")))
    source = "import os, sys\ndef where(home):\n    return sys.version, os.listdir(home), __import__('rlir').__file__\n"
    try:
        if jail == "none":
            with pytest.raises(SandboxUnavailable) as error:
                sandbox_with(source).start()
            assert f"cannot enter {home} (mode 750)" in str(error.value) and f"chmod o+x {home}" in str(error.value)
            return
        with sandbox_with(source) as box:
            version, listing, rlir_file = box.function("where")(str(home))
        assert version == sys.version and listing == ["course"] and rlir_file.startswith(str(course))
    finally:
        shutil.rmtree(base)


# What the student's code lists, folder by folder: (name, whether it holds anything) of each entry, or None
# where the folder is absent or closed; and the numeric entries of /proc with the worker's own pid and parent's.
LOOK_AROUND = '''
import os
def look_around(folders):
    def full(path):
        try:
            return bool(os.listdir(path)) if os.path.isdir(path) else os.path.getsize(path) > 0
        except OSError:
            return False
    seen = {}
    for folder in folders:
        try:
            seen[folder] = sorted((name, full(os.path.join(folder, name))) for name in os.listdir(folder))
        except OSError:
            seen[folder] = None
    pids = sorted(int(p) for p in os.listdir("/proc") if p.isdigit())
    return seen, pids, os.getpid(), os.getppid()
'''


def test_student_code_sees_nothing_beyond_the_policy():
    """Every folder a student might look in lists only what the sandbox's policy shows: at the root the
    system's entries and the steps towards the interpreter and the course packages; of /etc the few files it
    names; of /proc its own processes; in the grader's home, /tmp and the repository only the steps towards
    visible folders. Under the unshare fallback (which leaves /etc and /sys as they are) anything else must at
    least be an empty cover."""
    from autograder.sandbox import jail_mechanism, unprivileged_user
    from autograder.sandbox.jail import SYSTEM_DIRS  # what the fallback leaves as the host has it

    mechanism = jail_mechanism()
    if not mechanism:
        pytest.skip("this machine cannot jail student code")
    repo = str(Path(__file__).resolve().parent.parent)
    # and every folder on the way to the repository (a clone under /tmp, a home folder or /srv)
    folders = list(dict.fromkeys(["/", "/etc", str(Path.home()), "/tmp",
                                  *(str(p) for p in reversed(Path(repo).parents)), repo]))
    with sandbox_with(LOOK_AROUND) as box:
        seen, pids, pid, parent = box.function("look_around")(folders)
        policy = box.policy(unprivileged_user())
    assert set(pids) <= {1, pid, parent}, pids  # its own PID namespace: the jail's first process and itself
    for folder in folders:
        if seen[folder] is None or (folder == "/etc" and mechanism != "bwrap"):
            continue  # nothing to see (the fallback shows /etc as the host has it)
        allowed = policy.entries(folder) | (SYSTEM_DIRS if folder == "/" and mechanism != "bwrap" else set())
        beyond = {name for name, full in seen[folder] if name not in allowed}
        if mechanism == "bwrap":
            assert not beyond, f"{folder} shows {sorted(beyond)} beyond the policy {sorted(allowed)}"
        else:
            assert not {name for name, full in seen[folder] if name in beyond and full}, (folder, seen[folder])
    # /tmp is fresh: the worker's own empty folder, and the steps towards the course where it lies under /tmp
    assert {name for name, _ in seen["/tmp"]} == policy.entries("/tmp") and not dict(seen["/tmp"])["rlir-student"]
    # of the repository: the course packages, and the interpreter's folders where it lives there (CI's .venv)
    in_repo = {Path(p).relative_to(repo).parts[0] for p in policy.readonly if Path(p).is_relative_to(repo)}
    assert {"autograder", "rlir"} <= in_repo and in_repo <= {"autograder", "rlir", ".venv"}, in_repo
    assert {name for name, full in seen[repo] if full} == in_repo, seen[repo]


def test_the_policy_reads_as_it_is_enforced():
    from autograder.sandbox import DEFAULT_LIMITS

    policy = sandbox_with("x = 1\n").policy((123456, 65534))
    text = policy.describe()
    assert str(policy) == text
    for path in (*policy.readonly, "/usr", "/tmp", policy.workdir):
        assert path in text
    assert "uid 123456" in text and "network:         none" in text and "512 processes" in text
    assert policy.limits == DEFAULT_LIMITS
    repo = Path(__file__).resolve().parent.parent
    assert str(repo) not in policy.readonly and str(repo / "autograder") in policy.readonly  # packages only
    assert str(repo / "source") in policy.hidden
    for name, value in policy.environment().items():  # the whole environment, and that nothing else passes
        assert f"{name}={value}" in text
    assert "nothing of the grader's" in text


def test_bubblewrap_clears_the_environment_and_sets_only_the_policys():
    from autograder.sandbox.jail import bwrap_command

    policy = sandbox_with("x = 1\n", extra_env={"RLIR_EXAMPLE_FLAG": "1"}).policy((123456, 65534))
    command = bwrap_command(policy, "bwrap")
    assert "--clearenv" in command
    start = command.index("--clearenv")
    set_env = {command[i + 1]: command[i + 2] for i in range(start, len(command)) if command[i] == "--setenv"}
    assert set_env == policy.environment() and set_env["RLIR_EXAMPLE_FLAG"] == "1"
    assert "--setenv" not in command[:start]  # (set after clearing, never before)


LIMITS = '''
import resource
def limits():
    names = ("RLIMIT_AS", "RLIMIT_NPROC", "RLIMIT_NOFILE", "RLIMIT_FSIZE", "RLIMIT_CPU", "RLIMIT_CORE")
    return {name: list(resource.getrlimit(getattr(resource, name))) for name in names}
'''


def _expected(limits, processes: bool = True) -> dict[str, int]:
    import resource

    names = {resource.RLIMIT_AS: "RLIMIT_AS", resource.RLIMIT_NPROC: "RLIMIT_NPROC",
             resource.RLIMIT_NOFILE: "RLIMIT_NOFILE", resource.RLIMIT_FSIZE: "RLIMIT_FSIZE",
             resource.RLIMIT_CPU: "RLIMIT_CPU", resource.RLIMIT_CORE: "RLIMIT_CORE"}
    return {names[which]: value for which, value in limits.rlimits(processes)}


def test_batch_jobs_and_the_sandbox_worker_run_under_the_same_limits():
    import json
    import sys

    from autograder.grading import batch
    from autograder.sandbox import DEFAULT_LIMITS

    with sandbox_with(LIMITS) as box:
        worker = box.function("limits")()
    assert {name: soft for name, (soft, hard) in worker.items() if name in _expected(DEFAULT_LIMITS)} \
        == _expected(DEFAULT_LIMITS)
    assert all(soft == hard for name, (soft, hard) in worker.items() if name in _expected(DEFAULT_LIMITS))
    code, output = batch._run_group([sys.executable, "-c", LIMITS + "\nimport json; print(json.dumps(limits()))"],
                                    Path.cwd(), 60.0)
    job = json.loads(output.strip().splitlines()[-1])
    assert code == 0
    assert {name: soft for name, (soft, _) in job.items() if name in _expected(DEFAULT_LIMITS, False)} \
        == _expected(DEFAULT_LIMITS, processes=False)  # (a job runs as the grader's user: no process cap)
    assert batch.SUBMISSION_MEMORY_BYTES == DEFAULT_LIMITS.memory_bytes


def test_limits_and_budgets_set_in_nbgrader_config_reach_the_sandbox(tmp_path, monkeypatch):
    import nbformat
    from traitlets.config import Config

    import autograder.grading.grade as grade
    import autograder.grading.nbgrader_plugin as plugin
    from autograder.sandbox import Limits
    from tests.helpers import ROOT

    config = Config()
    config.GradeInSandbox.memory_bytes = 3 * 1024**3
    config.GradeInSandbox.open_files = 777
    config.GradeInSandbox.file_bytes = 10 * 1024**2
    config.GradeInSandbox.processes = 300
    config.GradeInSandbox.cpu_seconds = 5000
    config.GradeInSandbox.timeout = 12.0
    config.GradeInSandbox.cell_budget = 34.0
    config.GradeInSandbox.submission_budget = 56.0
    config.GradeInSandbox.notebook_budget = 78.0
    calls = []
    class Captured(Exception):
        """Stops grading once the options grade_notebook was called with are seen."""

    def capture(nb, assignment, **options):  # what the plugin grades with, through grade_submission
        calls.append(options)
        raise Captured

    monkeypatch.setattr(grade, "grade_notebook", capture)
    release = ROOT / "release" / "01_tabular_q_learning" / "tabular_q_learning.ipynb"
    shutil.copy(release, tmp_path / release.name)  # a submission the plugin's intake accepts
    resources = {"nbgrader": {"assignment": "tabular_q_learning", "student": "s"},
                 "metadata": {"path": str(tmp_path), "name": "tabular_q_learning"}}
    with pytest.raises(Captured):
        plugin.GradeInSandbox(config=config).preprocess(nbformat.read(str(release), as_version=4), resources)
    (options,) = calls
    expected = Limits(memory_bytes=3 * 1024**3, processes=300, open_files=777, file_bytes=10 * 1024**2,
                      cpu_seconds=5000)
    assert options["limits"] == expected
    assert (options["cell_timeout"], options["cell_budget"], options["submission_budget"],
            options["notebook_budget"]) == (12.0, 34.0, 56.0, 78.0)
    with sandbox_with(LIMITS, limits=options["limits"]) as box:
        worker = box.function("limits")()
    assert {name: soft for name, (soft, _) in worker.items() if name in _expected(expected)} == _expected(expected)


ENVIRONMENT = '''
import os
def environments():
    found = {"os.environ": dict(os.environ)}
    for pid in ("self", "1", str(os.getppid())):
        try:
            found[pid] = open(f"/proc/{pid}/environ", "rb").read().decode("latin-1")
        except OSError as error:
            found[pid] = type(error).__name__
    return found
'''


@pytest.fixture(params=["bwrap", "unshare", "none"])
def jail(request, monkeypatch):
    """Each way of running the worker this machine has: bubblewrap, the unshare fallback, no jail."""
    from autograder.sandbox.client import _closed_folder_on_the_way
    from autograder.sandbox.jail import jail_mechanism

    monkeypatch.setenv("RLIR_JAIL", "" if request.param == "bwrap" else request.param)
    jail_mechanism.cache_clear()
    try:  # (and a skip too leaves the mechanism as it found it, for the tests after it)
        if (jail_mechanism() or "none") != request.param:
            pytest.skip(f"{request.param} does not run here")
        closed = _closed_folder_on_the_way() if request.param == "none" else None
        if closed is not None and "closed_home" not in request.node.name:
            pytest.skip(f"with no jail the sandbox user cannot enter {closed[0]} here (the grader's Python in "
                        "/root, say): the sandbox refuses, as test_a_course_in_a_closed_home_folder shows")
        yield request.param
    finally:
        monkeypatch.undo()
        jail_mechanism.cache_clear()


def test_student_code_finds_only_the_policys_environment(jail, monkeypatch):
    """The grader's secrets, locale and thread settings reach no environment the student's code can read: its
    own, its jail's first process's, its parent's (issue 21). It finds exactly the policy's variables."""
    from autograder.sandbox import unprivileged_user
    from tests.corpus.adversarial import GRADER_SECRETS

    for name, value in {**GRADER_SECRETS, "LANG": "de_DE.UTF-8", "OMP_NUM_THREADS": "7"}.items():
        monkeypatch.setenv(name, value)
    with sandbox_with(ENVIRONMENT, extra_env={"RLIR_EXAMPLE_FLAG": "1"}) as box:
        found = box.function("environments")()
        policy = box.policy(unprivileged_user())
    seen = found.pop("os.environ")
    expected = policy.environment(seen["HOME"])  # (the workdir: a temporary folder where there is no jail)
    assert {k: v for k, v in seen.items() if k not in ("PWD", "OLDPWD")} == expected
    assert expected["LANG"] == "C.UTF-8" and expected["OMP_NUM_THREADS"] == "1" and expected["RLIR_EXAMPLE_FLAG"] == "1"
    if jail == "none" and unprivileged_user() is None:
        found.pop(str(os.getppid()), None)  # unjailed as the grader's own user: its parent is the grader itself
    for where, text in found.items():
        leaked = [name for name, value in GRADER_SECRETS.items() if value in text]
        assert not leaked and "de_DE" not in text, f"/proc/{where}/environ holds {leaked or 'the grader locale'}"


def test_a_cell_may_set_a_variable_of_its_own(monkeypatch):
    """A notebook that sets a variable for itself still works; the grader's own stay out of reach."""
    monkeypatch.setenv("PGPASSWORD", "canary")
    notebook = ['import os\nos.environ.setdefault("MY_DATA_DIR", "data")\n',
                'import os\ndef data_dir():\n    return os.environ["MY_DATA_DIR"], os.environ.get("PGPASSWORD")\n']
    with Sandbox([(f"<cell {i}>", cell) for i, cell in enumerate(notebook)], notebook=True) as box:
        box.run_until(2)
        assert box.function("data_dir")() == ("data", None)


TMP_LOOK = """import os
def tmp_look(shared, escape):
    with open(os.path.join(shared, "data.txt")) as handle:
        data = handle.read()
    steps = {}
    folder = shared
    while folder != "/":
        folder = os.path.dirname(folder)
        steps[folder] = sorted(os.listdir(folder))
    written = []
    for path in (escape, os.path.join(shared, "written-by-student")):
        try:
            with open(path, "w") as handle:
                handle.write("left behind")
            written.append(path)
        except OSError:
            pass
    return data, steps, written
"""


def test_a_folder_shown_under_tmp_leaves_the_rest_of_tmp_fresh(jail):
    """A folder the grader shows that lies under /tmp (a batch job's scratch course, a course cloned in /tmp):
    the worker sees it and, of the host's /tmp, only the steps to it; what it writes to /tmp stays in its own
    fresh one. Under the unshare fallback the host's /tmp was the worker's, writable, its other entries covered."""
    from autograder.sandbox import unprivileged_user

    if jail == "none":
        pytest.skip("no jail: the worker's /tmp is the host's")
    shared = Path(tempfile.mkdtemp(prefix="shown-"))
    shared.chmod(0o755)
    (shared / "data.txt").write_text("the course's file")
    (shared / "data.txt").chmod(0o644)
    escape = Path(tempfile.gettempdir()) / f"rlir-escape-{os.getpid()}"
    try:
        with sandbox_with(TMP_LOOK, visible_paths=(str(shared),)) as box:
            data, steps, written = box.function("tmp_look")(str(shared), str(escape))
            policy = box.policy(unprivileged_user())
        assert data == "the course's file"
        assert set(steps["/tmp"]) == policy.entries("/tmp"), steps["/tmp"]
        assert shared.name in steps["/tmp"] and "rlir-student" in steps["/tmp"]
        assert str(escape) in written and not escape.exists(), "the worker wrote into the host's /tmp"
        if unprivileged_user() is not None:  # a fresh uid may not write the grader's folder (host permissions)
            assert not (shared / "written-by-student").exists()
    finally:
        shutil.rmtree(shared)
        escape.unlink(missing_ok=True)
