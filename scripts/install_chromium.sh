#!/usr/bin/env bash
# Debian's Chromium for the browser tests (Playwright drives it; no browser downloads).
set -euo pipefail
if command -v chromium >/dev/null; then exit 0; fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
