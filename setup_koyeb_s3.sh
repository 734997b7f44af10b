#!/usr/bin/env bash
# Prepare and verify S3 media storage for a Koyeb (or any ephemeral-disk) deployment.
#
#   ./setup_koyeb_s3.sh            check tools and env, apply bucket policy + CORS,
#                                  run storage_check, collect static, print the checklist
#   ./setup_koyeb_s3.sh --no-configure   do not touch the bucket's policy/CORS
#
# Reads the same environment variables as the app (see .env.koyeb.example).
# Exits non-zero at the first failed step, saying what to fix.
set -euo pipefail

cd "$(dirname "$0")"
PYTHON="${PYTHON:-python3}"
CONFIGURE=1
for arg in "$@"; do
  case "$arg" in
    --no-configure) CONFIGURE=0 ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "unknown option: $arg" >&2; exit 2 ;;
  esac
done

step() { printf '\n==> %s\n' "$*"; }
fail() { printf 'FAILED: %s\n' "$*" >&2; exit 1; }

step "1/5 Checking dependencies"
command -v "$PYTHON" >/dev/null || fail "$PYTHON not found; install Python 3.11+ or set PYTHON"
"$PYTHON" - <<'PY' || fail "Python packages missing: run 'uv sync' or 'pip install -r requirements.txt'"
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
echo "bucket ${AWS_STORAGE_BUCKET_NAME} at ${AWS_S3_ENDPOINT_URL:-AWS S3 (${AWS_S3_REGION_NAME:-us-east-1})}"
"$PYTHON" manage.py check --fail-level ERROR || fail "Django system checks failed (see above)"

step "3/5 Bucket policy and CORS"
if [ "$CONFIGURE" -eq 1 ]; then
  "$PYTHON" manage.py configure_bucket || fail "could not configure the bucket; check the IAM policy"
else
  echo "skipped (--no-configure)"
fi

step "4/5 Storage check (round trips, public/signed URLs, privacy, CORS)"
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
  [ ] Schedule: python manage.py media_orphans --delete (daily), media_cleanup_uploads (hourly)
CHECKLIST
