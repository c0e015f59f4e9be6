"""Batch grading beyond the defaults: a PostgreSQL gradebook on a real server that this test starts, and the
jobs run by a local Dask cluster instead of the embedded thread pool."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import nbformat
import pytest

from autograder.grading.batch import batch_grade
from tests.corpus.tabular_q_learning import UNTRAINED, UNTRAINED_POINTS
from tests.e2e import make_course
from tests.helpers import notebook_of

NOTEBOOK = "tabular_q_learning.ipynb"
ERIN = UNTRAINED_POINTS  # erin submits UNTRAINED (learning is not tested here)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def postgres():
    """A throw-away PostgreSQL server (run as an unprivileged user: postgres refuses root)."""
    import pwd

    initdb, pg_ctl = shutil.which("initdb"), shutil.which("pg_ctl")
    if not (initdb and pg_ctl):
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
    root = Path(tempfile.mkdtemp(prefix="rlir-pg-"))
    runas = []
    if os.geteuid() == 0:
        nobody = pwd.getpwnam("nobody")
        os.chown(root, nobody.pw_uid, nobody.pw_gid)
        runas = ["runuser", "-u", "nobody", "--"]
    data, port = root / "data", free_port()
    subprocess.run([*runas, initdb, "-D", str(data), "-A", "trust", "-U", "grader"], check=True,
                   capture_output=True)
    subprocess.run([*runas, pg_ctl, "-D", str(data), "-l", str(root / "log"), "-w", "-o",
                    f"-p {port} -h 127.0.0.1 -k {root}", "start"], check=True, capture_output=True)
    try:
        import psycopg

        for _ in range(50):
            try:
                connection = psycopg.connect(host="127.0.0.1", port=port, user="grader", dbname="postgres",
                                             autocommit=True)
                break
            except psycopg.OperationalError:
                time.sleep(0.2)
        connection.cursor().execute("CREATE DATABASE gradebook")
        connection.close()
        yield f"postgresql://grader@127.0.0.1:{port}/gradebook"
    finally:
        subprocess.run([*runas, pg_ctl, "-D", str(data), "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def graded(tmp_path_factory, postgres):
    course, folder, solution, release = make_course(tmp_path_factory.mktemp("class"), "tabular_q_learning")
    release_nb = nbformat.read(str(release), as_version=4)
    for student, nb in (("erin", notebook_of("tabular_q_learning", UNTRAINED)), ("frank", release_nb)):
        target = course / "submitted" / student / folder
        target.mkdir(parents=True)
        nbformat.write(nb, str(target / NOTEBOOK))
    results = batch_grade(course, folder, workers=2, db_url=postgres, engine="dask", progress=False)
    return course, folder, postgres, {r.student: r for r in results}


def test_dask_engine_grades_every_submission(graded):
    _, _, _, results = graded
    assert results["erin"].ok and results["erin"].points == ERIN
    assert results["frank"].ok and results["frank"].points == 0


def test_results_land_in_the_postgresql_gradebook_and_not_in_sqlite(graded):
    from nbgrader.api import Gradebook

    course, folder, url, _ = graded
    with Gradebook(url) as gradebook:
        assert gradebook.find_submission(folder, "erin").score == ERIN
        assert gradebook.find_submission(folder, "frank").score == 0
    if (course / "gradebook.db").exists():
        with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as local:
            assert not [s for s in local.students if s.id in ("erin", "frank")]
    assert (course / "feedback" / "erin" / folder / NOTEBOOK.replace(".ipynb", ".html")).exists()


def test_regrading_replaces_a_result_instead_of_adding_one(graded):
    from nbgrader.api import Gradebook

    course, folder, url, _ = graded
    batch_grade(course, folder, workers=1, db_url=url, progress=False, force=True)  # regrade, changed or not
    with Gradebook(url) as gradebook:
        assert len(gradebook.find_assignment(folder).submissions) == 2
        assert gradebook.find_submission(folder, "erin").score == ERIN


