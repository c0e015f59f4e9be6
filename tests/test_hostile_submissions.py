"""Submissions that attack what grading hands back, and submissions that cannot be graded, through the batch
command with a correct classmate in the same run (who keeps full marks): links in a submission are refused and
never copied; student HTML and JavaScript lose their active content; hidden tests never reach the student's
process or its outputs; the student's jail leaves nothing behind; bad input gets one clear line and 0 points."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import nbformat
import pytest

from autograder.grading.batch import batch_grade, summary, write_report
from autograder.grading.submission import MAX_NOTEBOOK_BYTES
from tests.corpus.adversarial import GRADER_SECRETS, SNOOP_ENVIRONMENT
from tests.corpus.tabular_q_learning import UNTRAINED, UNTRAINED_POINTS
from tests.e2e import answer_cells, autograde_and_feedback, make_course
from tests.helpers import ROOT, require_jail

NOTEBOOK = "tabular_q_learning.ipynb"
# Only the classmate and "hostile" (whose feedback must keep its learning curve) train: the learning check is the
# costly one (about 15 s a submission). The other attackers leave train_q_learning as released (as UNTRAINED
# does) and earn the rest.
FULL = 40
# What a refused link points to (instructor solution, gradebook, a root-only file, a classmate's work); the
# autograded notebook holds the restored hidden tests by nbgrader's design, feedback never does.
REFUSED = ("BEGIN SOLUTION", "SQLite format", "root-only secret", "classmate's own text")
SECRETS = (*REFUSED, "BEGIN HIDDEN TESTS")
MARKER = "rlir-litter-7f3a"

# Active content a student can put in a notebook: each would set a DOM marker if it ran in a browser.
SCRIPTS = [
    'from IPython.display import HTML, display\n'
    'display(HTML("<script>document.body.setAttribute(\'data-pwned\', \'script\')</script>"))',
    'from IPython.display import HTML, display\n'
    'display(HTML(\'<img src="x" onerror="document.body.setAttribute(\\\'data-pwned\\\', \\\'onerror\\\')">\'))',
    'from IPython.display import Javascript, display\n'
    'display(Javascript("document.body.setAttribute(\'data-pwned\', \'javascript\')"))',
]
MARKDOWN = ('A note <script>document.body.setAttribute("data-pwned", "markdown")</script> and '
            '<img src="y" onerror="document.body.setAttribute(\'data-pwned\', \'md-onerror\')"> '
            'and [a link](javascript:document.body.setAttribute("data-pwned","link"))')
# The kernel's history, the notebook files it can find anywhere it can see, and what it could print of them.
# The walk follows no link and skips /proc and /sys (a recursive glob follows /proc/self/root back to / and
# spends the cell's whole time-out going round).
HISTORY = '''
import glob, os
print("IN", In, _ih)
get_ipython().run_line_magic("history", "")
found = glob.glob("*.ipynb")
for top, dirs, files in os.walk("/"):
    dirs[:] = [d for d in dirs if top != "/" or d not in ("proc", "sys")]
    found += [os.path.join(top, name) for name in files if name.endswith(".ipynb")]
print("FOUND", len(found), "notebooks")
for path in found[:200]:
    try:
        print(open(path).read())
    except OSError:
        pass
'''
# Litter: files in every scratch folder, an IPython startup file, a System V shared memory segment, and an
# attempt to append to any gradebook it can name.
LITTER = f'''
import ctypes, glob, os
for folder in ("/tmp", "/var/tmp", "/dev/shm", os.path.expanduser("~/.ipython/profile_default/startup")):
    try:
        os.makedirs(folder, exist_ok=True)
        open(os.path.join(folder, "{MARKER}.py"), "w").write("print('startup file ran')")
        print("wrote", folder)
    except OSError as error:
        print("refused", folder, type(error).__name__)
libc = ctypes.CDLL(None, use_errno=True)
print("shmget", libc.shmget(0x7f3a, 16 * 2**20, 0o1666))
for path in glob.glob("/tmp/**/gradebook.db", recursive=True) + glob.glob("{{course}}/**/gradebook.db",
                                                                            recursive=True):
    try:
        open(path, "ab").close()
        print("OPENED", path)
    except OSError as error:
        print("refused", path, type(error).__name__)
'''


def solution_notebook(solution: Path, release: Path, train: bool = False) -> nbformat.NotebookNode:
    """The release with the instructor's answers filled in, as a student would write them (no markers);
    train_q_learning only with ``train``."""
    nb = nbformat.read(str(release), as_version=4)
    solved = answer_cells(solution)
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in solved and (train or grade_id not in {f"answer_{name}" for name in UNTRAINED.unsolved}):
            cell.source = "\n".join(line for line in solved[grade_id].splitlines() if "### " not in line)
    return nb


def write(folder: Path, nb: nbformat.NotebookNode, name: str = NOTEBOOK) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(folder / name))


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    course, folder, source, release = make_course(tmp_path_factory.mktemp("hostile"), "tabular_q_learning")
    shutil.rmtree(course / "submitted", ignore_errors=True)
    submitted = course / "submitted"
    good = solution_notebook(source, release)
    write(submitted / "classmate" / folder, solution_notebook(source, release, train=True))
    (submitted / "classmate" / folder / "notes.txt").write_text("the classmate's own text")

    secret = tmp_path_factory.mktemp("root") / "secret.txt"
    secret.write_text("root-only secret")
    secret.chmod(0o600)
    linker = submitted / "linker" / folder
    write(linker, good)
    (course / "gradebook.db").touch()
    for name, target in {"gradebook.db": course / "gradebook.db", "solution.ipynb.txt": source,
                         "classmate.txt": submitted / "classmate" / folder / "notes.txt", "secret.txt": secret}.items():
        (linker / name).symlink_to(target)
    os.link(course / "nbgrader_config.py", linker / "hardlinked.py")
    os.mkfifo(linker / "pipe")
    (linker / "data.csv").write_text("a,b\n1,2\n")

    (submitted / "symlinked" / folder).mkdir(parents=True)
    (submitted / "symlinked" / folder / NOTEBOOK).symlink_to(source)

    hostile = solution_notebook(source, release, train=True)  # its feedback keeps the learning curve
    hostile.cells += [nbformat.v4.new_code_cell(s) for s in SCRIPTS]
    hostile.cells.append(nbformat.v4.new_markdown_cell(MARKDOWN))
    hostile.cells += [nbformat.v4.new_code_cell(HISTORY), nbformat.v4.new_code_cell(
        LITTER.replace("{course}", str(course)))]
    write(submitted / "hostile" / folder, hostile)

    repaired = solution_notebook(source, release)
    cells = []
    for cell in repaired.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id == "greedy_policy":
            continue  # deleted
        if grade_id == "shape_reward":
            cell = nbformat.v4.new_markdown_cell(cell.source, metadata=cell.metadata)  # retyped
        cells.append(cell)
    repaired.cells = cells
    write(submitted / "repaired" / folder, repaired)

    (submitted / "garbled" / folder).mkdir(parents=True)
    (submitted / "garbled" / folder / NOTEBOOK).write_text('{"cells": [', encoding="utf-8")
    write(submitted / "misnamed" / folder, good, "Copy of tabular_q_learning.ipynb")
    (submitted / "empty" / folder).mkdir(parents=True)
    old = submitted / "old_format" / folder
    old.mkdir(parents=True)
    nbformat.write(nbformat.convert(good, 3), str(old / NOTEBOOK), version=3)

    write(submitted / "snoop" / folder, snooping_notebook(source, release))
    bloated = solution_notebook(source, release)  # saved with stored outputs past the real size limit
    teaching = next(c for c in bloated.cells if c.cell_type == "code" and not c.metadata.get("nbgrader"))
    teaching.outputs = [nbformat.v4.new_output("stream", name="stdout", text="step 42: loss 0.1234\n" * (
        MAX_NOTEBOOK_BYTES // 21 + 1000))]
    write(submitted / "bloated" / folder, bloated)

    segments_before = shared_memory_segments()
    with grader_secrets():
        results = batch_grade(course, folder, workers=2, progress=False)
    write_report(results, course / "batch-report.json")
    (course / "batch-summary.txt").write_text(summary(results, FULL))
    return course, folder, {r.student: r for r in results}, segments_before


def snooping_notebook(source: Path, release: Path, train: bool = False) -> nbformat.NotebookNode:
    """A correct notebook (train_q_learning only with ``train``) whose shape_reward prints every environment it
    can find and raises with the secrets."""
    nb = solution_notebook(source, release, train)
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "answer_shape_reward":
            cell.source = SNOOP_ENVIRONMENT
    return nb


@contextlib.contextmanager
def grader_secrets():
    """The grader's process (and so nbgrader's and the batch's) holds the canary secrets meanwhile."""
    saved = {name: os.environ.get(name) for name in GRADER_SECRETS}
    os.environ.update(GRADER_SECRETS)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def secrets_in(course: Path) -> dict[str, list[str]]:
    """Which canary secrets stand in which file of the course: what grading wrote, the gradebook, the reports."""
    found = {}
    for path in course.rglob("*"):
        if path.is_file() and not path.is_symlink():
            content = path.read_bytes()
            names = [name for name, value in GRADER_SECRETS.items() if value.encode() in content]
            if names:
                found[str(path.relative_to(course))] = names
    return found


def shared_memory_segments() -> list[str]:
    """The machine's System V shared memory segments that no process is attached to: what a finished job could
    have left behind (a segment in use belongs to a live process, e.g. the PostgreSQL server another test file
    starts beside this one)."""
    lines = subprocess.run(["ipcs", "-m"], capture_output=True, text=True).stdout.splitlines()
    return [line for line in lines if re.match(r"0x", line) and line.split()[5] == "0"]


def handed_back(course: Path, folder: str, student: str) -> dict[str, bytes]:
    """Every file grading wrote for ``student``: the autograded and feedback folders."""
    files = {}
    for kind in ("autograded", "feedback"):
        root = course / kind / student / folder
        for path in root.rglob("*") if root.exists() else ():
            if path.is_file() or path.is_symlink():
                files[f"{kind}/{path.relative_to(root)}"] = path.read_bytes() if not path.is_symlink() else b"LINK"
    return files


def test_the_classmate_keeps_full_marks(batch):
    _, _, results, _ = batch
    assert results["classmate"].ok and results["classmate"].points == FULL


def test_links_fifos_and_outside_hard_links_are_refused_and_never_copied(batch):
    course, folder, results, _ = batch
    assert results["linker"].ok and results["linker"].points == UNTRAINED_POINTS
    files = handed_back(course, folder, "linker")
    names = {Path(name).name for name in files}
    assert names & {"gradebook.db", "solution.ipynb.txt", "classmate.txt", "secret.txt", "hardlinked.py",
                    "pipe"} == set(), names
    assert "data.csv" in names  # the student's own file is kept
    for name, content in files.items():
        secrets = SECRETS if name.startswith("feedback/") else REFUSED
        assert not any(secret.encode() in content for secret in secrets), f"refused content came back in {name}"
    notes = " ".join(results["linker"].notes)
    for name in ("gradebook.db", "solution.ipynb.txt", "classmate.txt", "secret.txt", "hardlinked.py", "pipe"):
        assert name in notes
    feedback = (course / "feedback" / "linker" / folder / "tabular_q_learning.html").read_text()
    assert "Grading notes" in feedback and "symbolic link" in feedback and "hard link" in feedback
    assert "NOTE linker: gradebook.db: a symbolic link" in summary(list(results.values()), FULL)


def test_a_notebook_that_is_a_link_is_not_graded_and_nothing_it_points_to_comes_back(batch):
    course, folder, results, _ = batch
    result = results["symlinked"]
    assert not result.ok and result.refused and result.points == 0
    assert "symbolic link" in result.error and "submit the notebook file itself" in result.error
    files = handed_back(course, folder, "symlinked")
    assert sorted(files) == ["autograded/grading.json", "feedback/tabular_q_learning.html"]
    assert b"symbolic link" in files["feedback/tabular_q_learning.html"]
    record = json.loads(files["autograded/grading.json"])
    assert record["status"] == "refused" and "symbolic link" in record["refusal"] and record["points"] == 0
    for content in files.values():
        assert not any(s.encode() in content for s in SECRETS)


def test_the_graders_secrets_reach_nothing_grading_hands_back(batch):
    """Secrets in the grader's environment stay there: the snooping student's cell printed its environments and
    its shape_reward raised with what it found, and no canary is in autograded/, feedback/, the gradebook, the
    batch report or its summary (issue 21)."""
    course, folder, results, _ = batch
    scores = {cell.grade_id: cell.points for cell in results["snoop"].record.cells}
    assert results["snoop"].ok and scores["shape_reward"] == 0, scores
    assert results["snoop"].points == UNTRAINED_POINTS - 2, scores
    graded = nbformat.read(str(course / "autograded" / "snoop" / folder / NOTEBOOK), as_version=4)
    assert "ENVIRONMENTS" in json.dumps(graded) and "RuntimeError" in json.dumps(graded)  # it ran, and raised
    assert secrets_in(course) == {}


def test_student_html_and_javascript_lose_their_active_content(batch):
    course, folder, results, _ = batch
    assert results["hostile"].ok and results["hostile"].points == FULL
    nb = nbformat.read(str(course / "autograded" / "hostile" / folder / NOTEBOOK), as_version=4)
    graded = "".join(str(c.get("outputs", "")) + (c.source if c.cell_type == "markdown" else "") for c in nb.cells)
    feedback = (course / "feedback" / "hostile" / folder / "tabular_q_learning.html").read_text()
    for text in (graded, feedback):
        assert "application/javascript" not in text
        assert not re.search(r"<script>document\.body", text)
        assert not re.search(r"<img[^>]*onerror", text, re.IGNORECASE)
        assert "javascript:document" not in text
    assert "data:image/png;base64" in feedback  # the learning curve stays
    assert "Property failed" not in feedback and "PASSED q_learning_learns" in feedback


def test_no_script_of_the_student_runs_when_the_feedback_page_is_opened_in_a_browser(batch):
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("no chromium on this machine (scripts/setup-browser.sh installs it)")
    course, folder, _, _ = batch
    page = course / "feedback" / "hostile" / folder / "tabular_q_learning.html"
    dom = subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                          "--disable-background-networking", "--disable-component-update", "--disable-sync",
                          f"--user-data-dir={course / '.chromium'}", "--virtual-time-budget=3000", "--dump-dom",
                          page.as_uri()], capture_output=True, text=True, timeout=120).stdout
    body = re.search(r"<body[^>]*>", dom)
    assert body is not None, dom[:2000]
    assert "data-pwned" not in body.group(0), body.group(0)
    assert "PASSED q_learning_learns" in dom


def test_hidden_tests_never_reach_the_students_process_or_what_comes_back(batch):
    course, folder, _, _ = batch
    files = handed_back(course, folder, "hostile")
    graded = nbformat.reads(files[f"autograded/{NOTEBOOK}"].decode(), as_version=4)
    printed = "".join(o.get("text", "") for c in graded.cells if c.cell_type == "code" and "In, _ih" in c.source
                      for o in c.outputs)
    assert "IN" in printed and "FOUND" in printed  # the cell ran to its end, printing what it found
    assert "BEGIN HIDDEN TESTS" not in printed and "check_" not in printed
    feedback = files["feedback/tabular_q_learning.html"].decode()
    assert "BEGIN HIDDEN TESTS" not in feedback and "_expected = 1.0 + 0.5" not in feedback


def test_the_students_jail_leaves_nothing_behind_and_opens_no_gradebook(batch):
    require_jail("it could leave things behind")
    course, folder, _, segments_before = batch
    graded = nbformat.read(str(course / "autograded" / "hostile" / folder / NOTEBOOK), as_version=4)
    printed = "".join(o.get("text", "") for c in graded.cells if c.cell_type == "code" and MARKER in c.source
                      for o in c.outputs)
    assert "shmget" in printed and "OPENED" not in printed, printed
    for folder_name in ("/tmp", "/var/tmp", "/dev/shm", os.path.expanduser("~/.ipython/profile_default/startup")):
        assert not (Path(folder_name) / f"{MARKER}.py").exists()
    assert not list(Path("/tmp").glob(f"**/{MARKER}.py"))
    assert shared_memory_segments() == segments_before


def test_deleted_and_retyped_graded_cells_are_put_back_graded_and_noted(batch):
    course, folder, results, _ = batch
    result = results["repaired"]
    assert result.ok and result.points == UNTRAINED_POINTS
    notes = " ".join(result.notes) + (course / "feedback" / "repaired" / folder / "tabular_q_learning.html").read_text()
    assert "greedy_policy" in notes and "missing" in notes
    assert "shape_reward" in notes and "markdown" in notes
    text = summary(list(results.values()), FULL)
    assert "NOTE repaired: graded cell greedy_policy was missing" in text
    assert "NOTE repaired: graded cell shape_reward had been changed to a markdown cell" in text


@pytest.mark.parametrize("student, reason", [
    ("garbled", "is not valid JSON (line 1"),
    ("misnamed", "no notebook named tabular_q_learning.ipynb (found: Copy of tabular_q_learning.ipynb)"),
    ("empty", "the submission folder is empty"),
])
def test_what_cannot_be_graded_gets_one_clear_line_zero_and_a_feedback_page(batch, student, reason):
    course, folder, results, _ = batch
    result = results[student]
    assert not result.ok and result.refused and result.points == 0 and reason in result.error
    line = next(line for line in summary(list(results.values()), FULL).splitlines() if student in line)
    assert line.startswith(f"NOT GRADED {student}: ") and reason in line
    page = (course / "feedback" / student / folder / "tabular_q_learning.html").read_text()
    assert reason.split(" (")[0] in page and "0 points" in page


def test_an_old_format_notebook_is_converted_and_graded(batch):
    _, _, results, _ = batch
    result = results["old_format"]
    assert result.ok and result.points == UNTRAINED_POINTS, result.error
    assert any("format 3" in note for note in result.notes)


def test_a_notebook_over_the_size_limit_for_its_stored_outputs_is_graded_without_them_and_noted(batch):
    course, folder, results, _ = batch
    assert (course / "submitted" / "bloated" / folder / NOTEBOOK).stat().st_size > MAX_NOTEBOOK_BYTES
    result = results["bloated"]
    assert result.ok and result.points == UNTRAINED_POINTS, result.error
    assert any("outputs" in note and "cleared" in note for note in result.notes), result.notes
    feedback = (course / "feedback" / "bloated" / folder / "tabular_q_learning.html").read_text()
    assert "cleared" in feedback and len(feedback) < MAX_NOTEBOOK_BYTES // 10


def test_the_gradebook_has_every_student_and_zero_for_what_was_not_graded(batch):
    from nbgrader.api import Gradebook

    course, folder, results, _ = batch
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        scores = {s: gradebook.find_submission(folder, s).score for s in results}
    assert scores["classmate"] == FULL and scores["garbled"] == 0 and scores["symlinked"] == 0


@pytest.fixture(scope="module")
def plain_nbgrader(tmp_path_factory):
    """The same link attacks under plain ``nbgrader autograde`` and ``generate_feedback`` (no batch)."""
    course, folder, source, release = make_course(tmp_path_factory.mktemp("plain"), "tabular_q_learning")
    good = solution_notebook(source, release)
    linker = course / "submitted" / "linker" / folder
    write(linker, good)
    (linker / "solution.txt").symlink_to(source)
    os.link(course / "nbgrader_config.py", linker / "hardlinked.py")
    (course / "submitted" / "symlinked" / folder).mkdir(parents=True)
    (course / "submitted" / "symlinked" / folder / NOTEBOOK).symlink_to(source)
    write(course / "submitted" / "snoop" / folder, snooping_notebook(source, release))
    with grader_secrets():
        autograde_and_feedback(course, folder)
    return course, folder


def test_plain_nbgrader_copies_no_link_and_grades_no_linked_notebook(plain_nbgrader):
    from tests.e2e import scores

    course, folder = plain_nbgrader
    linker = handed_back(course, folder, "linker")
    assert {Path(n).name for n in linker} & {"solution.txt", "hardlinked.py"} == set()
    assert sum(scores(course, folder, NOTEBOOK, "linker").values()) == UNTRAINED_POINTS
    assert sum(scores(course, folder, NOTEBOOK, "symlinked").values()) == 0
    for content in handed_back(course, folder, "symlinked").values():
        assert b"BEGIN SOLUTION" not in content and b"def value_iteration" not in content
    feedback = (course / "feedback" / "symlinked" / folder / "tabular_q_learning.html").read_text()
    assert "was not graded" in feedback and "symbolic link" in feedback


def test_plain_nbgrader_hands_back_none_of_the_graders_secrets(plain_nbgrader):
    from tests.e2e import scores

    course, folder = plain_nbgrader
    assert scores(course, folder, NOTEBOOK, "snoop")["shape_reward"] == 0
    assert sum(scores(course, folder, NOTEBOOK, "snoop").values()) == UNTRAINED_POINTS - 2
    assert secrets_in(course) == {}


def test_the_grade_command_hands_back_none_of_the_graders_secrets_and_ignores_its_locale(tmp_path):
    """``python -m autograder grade`` of the snooping notebook with the canary secrets, another locale and other
    thread counts in the grader's environment: every other check keeps the instructor solution's verdict (full
    marks), shape_reward fails with what it raised, and no secret is printed."""
    import sys

    source = ROOT / "source" / "01_tabular_q_learning" / NOTEBOOK
    write(tmp_path, snooping_notebook(source, ROOT / "release" / "01_tabular_q_learning" / NOTEBOOK, train=True))
    env = {**os.environ, **GRADER_SECRETS, "LANG": "de_DE.UTF-8", "LC_ALL": "de_DE.UTF-8", "OMP_NUM_THREADS": "3",
           "MKL_NUM_THREADS": "3"}
    result = subprocess.run([sys.executable, "-m", "autograder", "grade", str(tmp_path / NOTEBOOK), "--assignment",
                             "tabular_q_learning"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    output = result.stdout + result.stderr
    assert result.returncode == 0 and "TOTAL 38 / 40" in output and "RuntimeError" in output, output[-3000:]
    assert not [name for name, value in GRADER_SECRETS.items() if value in output]
