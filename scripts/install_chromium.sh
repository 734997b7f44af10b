#!/usr/bin/env bash
# Debian's Chromium for the browser tests (Playwright drives it; no browser downloads).
set -euo pipefail
command -v chromium >/dev/null || "$(dirname "$0")/apt_install.sh" chromium fonts-dejavu-core
