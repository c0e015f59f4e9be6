#!/usr/bin/env bash
# The tests: set up, lint, and run the test suite (extra arguments go to pytest, e.g. -m slow).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$PWD/.venv/bin:$PATH"
ruff check autograder rlir student tests benchmarks nbgrader_config.py
exec python -m pytest "$@"
