"""nbgrader configuration of the rlir course directory (this folder).

Read by every nbgrader command run here. What it sets, and why:
* the course id, this folder as the course root, and the Python kernel every notebook names;
* a cell timeout, so a student's infinite loop costs that cell, not the whole batch;
* graded cells are re-run outside the student's kernel by our trusted grader (autograder.nbgrader_plugin),
  which also survives a kernel killed by ``os._exit``;
* ``.hypothesis`` folders (should any appear) are never copied into releases, submissions or feedback;
* warnings on stderr (e.g. a DeprecationWarning, a progress bar) do not zero a correct cell;
* a deleted graded cell is put back and graded, not silently skipped.
"""

import os

from autograder.nbgrader_plugin import configure

c = get_config()  # noqa: F821 - provided by nbgrader when it loads this file

c.CourseDirectory.course_id = "rlir"
c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", ".hypothesis",
                            ".pytest_cache"]

c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.Execute.kernel_name = "python3"  # the environment's own kernel, whatever a submission's metadata says
c.Execute.timeout = 300
c.Execute.interrupt_on_timeout = True

c.IgnorePattern.pattern = r"(?s)^(?!.*Traceback).*(Warning|\d+%\|)"
c.IgnorePattern.enabled = True
c.OverwriteCells.add_missing_cells = True

configure(c)
