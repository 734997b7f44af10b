# Prepare and verify S3 media storage for a Koyeb (or any ephemeral-disk) deployment.
# Windows/PowerShell mirror of setup_koyeb_s3.sh, step for step.
#
#   .\setup_koyeb_s3.ps1                 check tools and env, set the bucket up (configure_bucket:
#                                        CORS, lifecycle, policy where the store has them),
#                                        run storage_check, collect static, print the checklist
#   .\setup_koyeb_s3.ps1 -NoConfigure    do not touch the bucket's settings
#   .\setup_koyeb_s3.ps1 -NoPolicy       set the bucket up but leave its policy alone
#
# Reads the same environment variables as the app (see .env.koyeb.example), including
# AWS_S3_PROVIDER. Runs with the project's .venv (made by `make install` / `make run`),
# or with $env:PYTHON.
# NOTE: this script is not run by the test suite (no PowerShell on the CI machines);
# setup_koyeb_s3.sh is, against a real S3 gateway.
param([switch]$NoConfigure, [switch]$NoPolicy)
$ErrorActionPreference = "Stop"
Set-Location -Path $PSScriptRoot
$Venv = Join-Path $PSScriptRoot ".venv\Scripts\python.exe"
$Python = if ($env:PYTHON) { $env:PYTHON } elseif (Test-Path $Venv) { $Venv } else { "python" }

function Step($Text) { Write-Host "`n==> $Text" -ForegroundColor Cyan }
function Fail($Text) { Write-Host "FAILED: $Text" -ForegroundColor Red; exit 1 }
function Run([string[]]$Arguments, [string]$Failure) {
    & $Python @Arguments
    if ($LASTEXITCODE -ne 0) { Fail $Failure }
}

Step "1/5 Checking dependencies"
if (-not (Get-Command $Python -ErrorAction SilentlyContinue)) { Fail "$Python not found; install Python 3.11+ or set PYTHON" }
$probe = @'
import sys
if sys.version_info < (3, 11):
    raise SystemExit(f"Python 3.11+ needed, found {sys.version.split()[0]}")
import boto3, django, storages  # noqa: F401
print(f"python {sys.version.split()[0]}, django {django.get_version()}, boto3 {boto3.__version__}")
'@
Run @("-c", $probe) "Python packages missing for ${Python}: run 'uv sync --frozen' here (it makes .venv from uv.lock), or set PYTHON to an interpreter with requirements.txt installed"

Step "2/5 Checking environment variables"
$missing = @()
foreach ($name in "SECRET_KEY", "AWS_STORAGE_BUCKET_NAME", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY") {
    if (-not [Environment]::GetEnvironmentVariable($name)) { $missing += $name }
}
if (@("true", "1", "yes", "on") -notcontains "$env:USE_S3".ToLower()) { $missing += "USE_S3=True" }
if ($missing.Count -gt 0) { Fail "set $($missing -join ' ') (see .env.koyeb.example)" }
$endpoint = if ($env:AWS_S3_ENDPOINT_URL) { $env:AWS_S3_ENDPOINT_URL } else { "AWS S3" }
$store = if ($env:AWS_S3_PROVIDER) { $env:AWS_S3_PROVIDER } else { "found from the endpoint" }
Write-Host "bucket $env:AWS_STORAGE_BUCKET_NAME at $endpoint (store: $store)"
Run @("manage.py", "check", "--deploy", "--fail-level", "ERROR") "Django system checks failed (see above)"

Step "3/5 Bucket setup (CORS, lifecycle, policy; console steps are printed)"
if (-not $NoConfigure) {
    $configure = @("manage.py", "configure_bucket")
    if ($NoPolicy) { $configure += "--no-policy" }
    Run $configure "could not configure the bucket; the error above names the fix"
} else {
    Write-Host "skipped (-NoConfigure)"
}

Step "4/5 Storage check (round trips, public/signed URLs, privacy, direct upload, CORS)"
Run @("manage.py", "storage_check") "storage check failed; each failure above names its fix"

Step "5/5 Collecting static files"
Run @("manage.py", "collectstatic", "--noinput") "collectstatic failed"

Write-Host @'

All steps passed. Deployment checklist:
  [ ] Koyeb service env: USE_S3=True, AWS_* (as secrets), SECRET_KEY, ALLOWED_HOSTS,
      CSRF_TRUSTED_ORIGINS, CORS_ALLOWED_ORIGINS, DATABASE_URL
  [ ] Health check path /healthz (liveness); /readyz for readiness
  [ ] Release/run: python manage.py migrate --noinput before gunicorn starts
  [ ] Upload an image, redeploy, and confirm it still loads
  [ ] A worker service running scripts/start.sh worker (renditions, retried deletes and the
      periodic clean-up of unfinished uploads and orphans: no cron needed)
'@ -ForegroundColor Green
