#!/usr/bin/env bash
# Development: Django's server with a background worker beside it; Ctrl+C stops both
# (and only them: a Ceph gateway started by `make run-s3` keeps running; `make s3-down`).
set -euo pipefail
port=${1:-8000}
python manage.py run_worker &
worker=$!
trap 'kill "$worker" 2>/dev/null || true' EXIT
python manage.py runserver "127.0.0.1:$port"
