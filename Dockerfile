# syntax=docker/dockerfile:1
FROM python:3.11-slim AS app
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PORT=8000
WORKDIR /app
COPY requirements.txt .
RUN pip install --require-hashes -r requirements.txt
COPY . .
# Static files are collected at build time. With STATIC_ON_S3=True they are uploaded
# to the bucket by setup_koyeb_s3.sh instead (the build has no credentials).
RUN STATIC_ON_S3=False USE_S3=False SECRET_KEY=build-only python manage.py collectstatic --noinput
RUN useradd --create-home app
USER app
EXPOSE 8000
# For the web role. A worker container serves no HTTP: run it with --no-healthcheck
# (Koyeb: no health check on the worker service); /readyz on the web says if it is alive.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s \
  CMD python -c "import urllib.request,os; urllib.request.urlopen(f'http://127.0.0.1:{os.environ[\"PORT\"]}/healthz', timeout=4)"
# The image runs either role: `scripts/start.sh web` (default; migrations first, as
# Koyeb has no separate release phase) or `scripts/start.sh worker` (background tasks).
CMD ["sh", "-c", "python manage.py migrate --noinput && exec scripts/start.sh web"]
