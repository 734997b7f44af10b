#!/bin/sh
# Start one role of the app: `web` (gunicorn) or `worker` (background tasks).
# The Procfile and the Dockerfile both use it; on Koyeb the worker is a second
# service from the same image or repository whose run command is `scripts/start.sh worker`.
set -eu
case "${1:-web}" in
  web)
    # --preload: the app is imported once, before the workers fork, so its code and
    # modules are pages the workers share (bench/bench_concurrency.py, PSS).
    exec gunicorn config.wsgi:application --bind "0.0.0.0:${PORT:-8000}" \
      --workers "${WEB_CONCURRENCY:-2}" --threads 4 --timeout 60 --graceful-timeout 20 \
      --preload --access-logfile -
    ;;
  worker)
    exec python manage.py run_worker
    ;;
  *)
    echo "usage: $0 web|worker" >&2
    exit 64
    ;;
esac
