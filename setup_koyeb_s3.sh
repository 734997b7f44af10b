#!/usr/bin/env bash
# Prepare and verify S3 media storage for a Koyeb (or any ephemeral-disk) deployment.
#
#   ./setup_koyeb_s3.sh            check tools and env, set the bucket up (configure_bucket:
#                                  CORS, lifecycle, policy where the store has them),
#                                  run storage_check, collect static, print the checklist
#   ./setup_koyeb_s3.sh --no-configure   do not touch the bucket's settings
#   ./setup_koyeb_s3.sh --no-policy      set the bucket up but leave its policy alone
#
# Reads the same environment variables as the app (see .env.koyeb.example), including
# AWS_S3_PROVIDER. Runs with the project's .venv (made by `make install` / `make run`),
# or with $PYTHON. Exits non-zero at the first failed step, saying what to fix.
set -euo pipefail

cd "$(dirname "$0")"
if [ -z "${PYTHON:-}" ]; then
  if [ -x .venv/bin/python ]; then PYTHON=.venv/bin/python; else PYTHON=python3; fi
fi
CONFIGURE=1
CONFIGURE_ARGS=()
for arg in "$@"; do
  case "$arg" in
    --no-configure) CONFIGURE=0 ;;
    --no-policy) CONFIGURE_ARGS+=(--no-policy) ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "unknown option: $arg" >&2; exit 2 ;;
  esac
done

step() { printf '\n==> %s\n' "$*"; }
fail() { printf 'FAILED: %s\n' "$*" >&2; exit 1; }

step "1/5 Checking dependencies"
command -v "$PYTHON" >/dev/null || fail "$PYTHON not found; install Python 3.11+ or set PYTHON"
"$PYTHON" - <<'PY' || fail "Python packages missing for $PYTHON: run 'make install' here (it makes .venv from uv.lock), or set PYTHON to an interpreter with requirements.txt installed"
import sys
if sys.version_info < (3, 11):
    raise SystemExit(f"Python 3.11+ needed, found {sys.version.split()[0]}")
import boto3, django, storages  # noqa: F401
print(f"python {sys.version.split()[0]}, django {django.get_version()}, boto3 {boto3.__version__}")
PY

step "2/5 Checking environment variables"
missing=()
for name in SECRET_KEY AWS_STORAGE_BUCKET_NAME AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY; do
  [ -n "${!name:-}" ] || missing+=("$name")
done
case "${USE_S3:-}" in
  [Tt]rue|1|[Yy]es|on) ;;
  *) missing+=("USE_S3=True") ;;
esac
[ "${#missing[@]}" -eq 0 ] || fail "set ${missing[*]} (see .env.koyeb.example)"
echo "bucket ${AWS_STORAGE_BUCKET_NAME} at ${AWS_S3_ENDPOINT_URL:-AWS S3} (store: ${AWS_S3_PROVIDER:-found from the endpoint})"
"$PYTHON" manage.py check --deploy --fail-level ERROR || fail "Django system checks failed (see above)"

step "3/5 Bucket setup (CORS, lifecycle, policy; console steps are printed)"
if [ "$CONFIGURE" -eq 1 ]; then
  "$PYTHON" manage.py configure_bucket ${CONFIGURE_ARGS[@]+"${CONFIGURE_ARGS[@]}"} || fail "could not configure the bucket; the error above names the fix"
else
  echo "skipped (--no-configure)"
fi

step "4/5 Storage check (round trips, public/signed URLs, privacy, direct upload, CORS)"
"$PYTHON" manage.py storage_check || fail "storage check failed; each failure above names its fix"

step "5/5 Collecting static files"
"$PYTHON" manage.py collectstatic --noinput || fail "collectstatic failed"

cat <<'CHECKLIST'

All steps passed. Deployment checklist:
  [ ] Koyeb service env: USE_S3=True, AWS_* (as secrets), SECRET_KEY, ALLOWED_HOSTS,
      CSRF_TRUSTED_ORIGINS, CORS_ALLOWED_ORIGINS, DATABASE_URL
  [ ] Health check path /healthz (liveness); /readyz for readiness
  [ ] Release/run: python manage.py migrate --noinput before gunicorn starts
  [ ] Upload an image, redeploy, and confirm it still loads
  [ ] A worker service running scripts/start.sh worker (renditions, retried deletes and the
      periodic clean-up of unfinished uploads and orphans: no cron needed)
CHECKLIST
