"""Grading: a notebook with its own semantics (``notebook``), what a submission folder may hold
(``submission``), the nbgrader plugin (``nbgrader_plugin``), a whole class in parallel (``batch``) and
Gradescope (``gradescope``). Student code runs only in :mod:`autograder.sandbox`."""
