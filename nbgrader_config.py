"""nbgrader configuration of the rlir course directory (this folder).

Read by every nbgrader command run here. What it sets, and why:
* the course id, this folder as the course root, and the Python kernel every notebook names;
* the notebook runs once, cell by cell in notebook order, in the sandbox instead of a Jupyter kernel, and
  graded cells are judged outside it by our trusted grader (autograder.grading.nbgrader_plugin); a cell that runs
  longer than the timeout is interrupted, one that kills its process is skipped, and the rest still run;
* a submission's symbolic links, hard links to other files and devices are refused, never copied;
* student HTML, JavaScript and markdown lose their active content in autograded notebooks and feedback;
* ``.hypothesis`` folders (should any appear) are never copied into releases, submissions or feedback;
* warnings on stderr (e.g. a DeprecationWarning, a progress bar) do not zero a correct cell;
* a deleted graded cell is put back and graded, not silently skipped.
"""

import os

from autograder.grading.nbgrader_plugin import configure

c = get_config()  # noqa: F821 - provided by nbgrader when it loads this file

c.CourseDirectory.course_id = "rlir"
c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", ".hypothesis",
                            ".pytest_cache"]

c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.Execute.kernel_name = "python3"  # the environment's own kernel (generate_assignment runs the source)
c.GradeInSandbox.timeout = 300  # seconds one student cell may run when graded
c.GradeInSandbox.notebook_budget = 900  # seconds all student cells of one notebook may run
# Also configurable here (defaults: autograder.grading.notebook and autograder.sandbox.policy): the checks'
# budgets (cell_budget, submission_budget, in CPU seconds of the student's code) and the worker's limits
# (memory_bytes, processes, open_files, file_bytes, cpu_seconds), e.g. c.GradeInSandbox.memory_bytes = 4 * 1024**3

c.IgnorePattern.pattern = r"(?s)^(?!.*Traceback).*(Warning|\d+%\|)"
c.IgnorePattern.enabled = True
c.OverwriteCells.add_missing_cells = True

configure(c)
