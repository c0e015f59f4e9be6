"""Grading: a notebook with its own semantics (``notebook``), what a submission folder may hold
(``submission``), one submission graded into its grading record (``grade``, ``record``, ``fingerprint``), the
nbgrader plugin (``nbgrader_plugin``), a whole class in parallel (``batch``) and Gradescope (``gradescope``), all
of which render that record, and the class report read from the gradebook and the records (``report``,
``report_html``; near-identical code: ``similarity``). Student code runs only in :mod:`autograder.sandbox`."""
