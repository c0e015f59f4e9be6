#!/usr/bin/env bash
# The tests: set up, lint, and run the test suite on both cores, one file per worker at a time (extra arguments
# go to pytest, e.g. -m slow; -n 0 runs it in one process).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$PWD/.venv/bin:$PATH"
# Compile the course's modules once, not again in each of the run's hundreds of processes (graders, nbgrader jobs,
# sandbox workers) where the machine's environment says not to write bytecode.
unset PYTHONDONTWRITEBYTECODE
ruff check autograder rlir student tests benchmarks nbgrader_config.py
exec python -m pytest -n 2 --dist loadfile "$@"
