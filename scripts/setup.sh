#!/usr/bin/env bash
# Create .venv and install the pinned environment; does nothing when the pins have not changed.
set -euo pipefail
cd "$(dirname "$0")/.."
python=$(command -v python3.11 || command -v python3)
if ! "$python" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
  echo "Python 3.11 is required (found $("$python" --version))" >&2
  exit 1
fi
[ -x .venv/bin/python ] || "$python" -m venv .venv
stamp=".venv/.installed-$(cat requirements.lock pyproject.toml | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  pip=(.venv/bin/python -m pip install --disable-pip-version-check --quiet)
  # torch first, pinned to the CPU build: an unpinned torch would pull gigabytes of CUDA packages.
  "${pip[@]}" torch==2.13.0
  "${pip[@]}" -r requirements.lock
  "${pip[@]}" --no-deps -e .
  rm -f .venv/.installed-*
  touch "$stamp"
fi
