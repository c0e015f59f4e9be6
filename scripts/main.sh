#!/usr/bin/env bash
# The main job: set up, compile source/ into release/, autograde the instructor solutions (and the untouched
# release) as sample students, write their feedback, and print the score table.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$PWD/.venv/bin:$PATH"
exec python -m autograder demo --course .
