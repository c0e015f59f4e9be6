"""The student distribution: what a student installs, built from this repository for them.

* :mod:`student.distribution` says what goes into the wheel (the course library and the public checks the
  notebooks call, nothing an instructor keeps back) and builds it: ``python -m student.build_wheel``.
* :mod:`student.install_cell` writes, from ``course.toml``, the install cell at the top of every notebook.

This package is instructor tooling: it is not itself part of the wheel.
"""
