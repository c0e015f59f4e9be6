"""The course's autograder: property-based checks of RL code, and the tools to grade notebooks safely.

Layers, each importing only those below it:

* ``toolkit``: the checking harness every assignment uses (runs in the grader and in a student's Jupyter);
* ``assignments``: one checks module per assignment, discovered (``assignments.registry()``);
* ``sandbox``: the jailed worker that runs student code, and the client the grader calls it with;
* ``grading``: a notebook graded with its own semantics, the nbgrader plugin, batch grading, Gradescope.

Graded notebook cells call checks such as ``autograder.assignments.tabular_q_learning.check_update_fixed_point``;
during ``nbgrader autograde`` they run outside the student's kernel against the student's objects in a sandbox.
"""
