#!/usr/bin/env bash
# Headless Chromium for the browser tests (tests marked `browser`): Debian's own package, where it is missing.
# Playwright itself comes with the pinned environment (scripts/setup.sh); it drives this Chromium and never
# downloads a browser of its own.
set -euo pipefail
if command -v chromium >/dev/null || command -v chromium-browser >/dev/null; then
  exit 0
fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends chromium
