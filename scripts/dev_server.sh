#!/usr/bin/env bash
# Development: Django's server with a background worker beside it; Ctrl+C stops both.
set -euo pipefail
port=${1:-8000}
python manage.py run_worker &
trap 'kill 0' EXIT
python manage.py runserver "127.0.0.1:$port"
