"""Settings behave as documented when the process starts with a given environment."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PRODUCTION = {
    "DEBUG": "False",
    "SECRET_KEY": "x" * 30 + "-production-like-secret-key-0123456789",
    "ALLOWED_HOSTS": "shop.example.com",
    "CSRF_TRUSTED_ORIGINS": "https://shop.example.com",
    "USE_S3": "True",
    "AWS_STORAGE_BUCKET_NAME": "shop-media",
    "AWS_ACCESS_KEY_ID": "AKIAEXAMPLE",
    "AWS_SECRET_ACCESS_KEY": "secret",
    "DATABASE_URL": "postgres://shop:pw@db.example.com:5432/shop",
}


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(
            ("AWS_", "KOYEB_", "SECRET_KEY", "SECURE_", "DEBUG", "USE_S3", "DJANGO_SETTINGS")
        )
    }
    clean.pop("DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_refuses_to_start_without_secret_key():
    env = dict(PRODUCTION)
    del env["SECRET_KEY"]
    result = manage("check", env=env)
    assert result.returncode != 0
    assert "Set the SECRET_KEY environment variable" in result.stderr


def test_check_deploy_is_clean_in_production():
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION)
    assert result.returncode == 0, result.stderr + result.stdout
    assert "no issues" in result.stdout


def test_a_sqlite_file_in_production_is_a_deploy_error_naming_the_fix():
    env = {k: v for k, v in PRODUCTION.items() if k != "DATABASE_URL"}
    result = manage("check", "--deploy", env=env)
    assert result.returncode != 0
    assert "config.E001" in result.stderr and "DATABASE_URL" in result.stderr
    assert "DATABASE_ON_VOLUME=True" in result.stderr  # the way out for a mounted volume
    on_volume = manage("check", "--deploy", env={**env, "DATABASE_ON_VOLUME": "True"})
    assert "config.E001" not in on_volume.stderr + on_volume.stdout
    koyeb = manage("check", env={**env, "KOYEB_APP_NAME": "shop"})  # every start, not only --deploy
    assert koyeb.returncode != 0 and "config.E001" in koyeb.stderr
    assert manage("check", env=env).returncode == 0  # elsewhere plain `check` lets it be
    for url in ("", "sqlite://:memory:"):  # unset by accident, or a database per process
        result = manage("check", "--deploy", env={**env, "DATABASE_URL": url})
        assert result.returncode != 0 and "config.E001" in result.stderr, url


def test_koyeb_without_s3_is_an_error_naming_the_fix():
    env = {**PRODUCTION, "USE_S3": "False", "KOYEB_APP_NAME": "shop"}
    result = manage("check", env=env)
    assert result.returncode != 0
    assert "media_store.E001" in result.stderr and "USE_S3=True" in result.stderr


@pytest.mark.parametrize(
    "missing", ["AWS_STORAGE_BUCKET_NAME", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"]
)
def test_s3_without_bucket_or_credentials_is_an_error(missing):
    env = {k: v for k, v in PRODUCTION.items() if k != missing}
    result = manage("check", env=env)
    assert result.returncode != 0
    assert "media_store.E002" in result.stderr and missing in result.stderr


SHOW_STORAGES = (
    "import json; from django.conf import settings; "
    "print(json.dumps({'storages': {k: [v['BACKEND'], sorted(v.get('OPTIONS', {}))] "
    "for k, v in settings.STORAGES.items()}, 'legacy': hasattr(settings, 'DEFAULT_FILE_STORAGE'), "
    "'media_url': getattr(settings, 'MEDIA_URL', ''), 'expire': settings.MEDIA_SIGNED_URL_EXPIRE, "
    "'private_options': {k: str(v) for k, v in settings.STORAGES['private'].get('OPTIONS', {})"
    ".items() if k in ('location', 'querystring_expire', 'bucket_name')}}))"
)


def built_settings(env: dict[str, str]) -> dict:
    result = manage("shell", "-c", SHOW_STORAGES, env=env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_settings_build_three_s3_storages_from_the_environment():
    built = built_settings({**PRODUCTION, "MEDIA_SIGNED_URL_EXPIRE": "120"})
    storages = built["storages"]
    assert not built["legacy"] and set(storages) == {"default", "private", "staticfiles"}
    assert storages["default"][0] == "media_store.storage.backends.PublicS3Storage"
    assert storages["private"][0] == "media_store.storage.backends.PrivateS3Storage"
    assert storages["staticfiles"][0] == "storages.backends.s3boto3.S3StaticStorage"
    assert built["private_options"] == {
        "bucket_name": "shop-media",
        "location": "private",
        "querystring_expire": "120",
    }
    assert "shop-media" not in built["media_url"]  # S3 storages build their own URLs


def test_settings_build_local_storages_in_development():
    built = built_settings({"DEBUG": "True", "USE_S3": "False"})
    storages = built["storages"]
    assert storages["default"][0] == "django.core.files.storage.FileSystemStorage"
    assert storages["private"][0] == "media_store.storage.backends.SignedFileSystemStorage"
    assert storages["private"][1] == ["location"]
    assert built["media_url"] == "/media/" and built["expire"] == 600


@pytest.mark.django_db
def test_health_checks_answer_any_host_over_plain_http(client, settings, local_media):
    settings.ALLOWED_HOSTS = ["shop.example.com"]
    settings.SECURE_SSL_REDIRECT = True
    assert client.get("/healthz", HTTP_HOST="10.0.0.7:8000").json() == {"status": "ok"}
    assert client.get("/readyz", HTTP_HOST="10.0.0.7:8000").status_code == 200
    assert client.get("/api/core/products/", HTTP_HOST="10.0.0.7:8000").status_code == 400


def test_an_unknown_rendition_format_is_an_error_before_the_first_upload():
    result = manage("check", env={**PRODUCTION, "MEDIA_RENDITION_FORMATS": "avif,jpegxl"})
    assert result.returncode != 0
    assert "media_store.E003" in result.stderr and "'JPEGXL'" in result.stderr


@pytest.mark.parametrize("variable", ["AWS_S3_ENDPOINT_URL", "MEDIA_MIRROR_ENDPOINT_URL"])
def test_an_endpoint_without_its_scheme_is_an_error_naming_the_setting(variable):
    env = {**PRODUCTION, "MEDIA_MIRROR_BUCKET_NAME": "shop-mirror"}
    env[variable] = "acct.r2.cloudflarestorage.com"
    result = manage("check", env=env)
    assert result.returncode != 0
    assert "media_store.E004" in result.stderr
    assert f"Set {variable}=https://acct.r2.cloudflarestorage.com" in result.stderr
