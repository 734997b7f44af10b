"""The deployment kit is true: scripts lint and run, documented commands and JSON work."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from media_store.storage.bucket import cors_configuration, public_read_policy
from tests.support.app_server import AppServer
from tests.support.http import fetch
from tests.support.s3 import REPO

DOCS = [
    REPO / "README.md",
    REPO / "KOYEB_S3_SETUP.md",
    REPO / "KOYEB_QUICK_FIX.md",
    *sorted((REPO / "docs").glob("*.md")),
]
RUNNABLE = re.compile(r"<!-- runs-in-tests -->\s*```bash\n(.*?)```", re.DOTALL)
JSON_BLOCK = re.compile(r"```json\n(.*?)```", re.DOTALL)
SHELL_SCRIPTS = [
    REPO / "setup_koyeb_s3.sh",
    *sorted((REPO / "scripts").glob("*.sh")),
    REPO / ".ci" / "run",
]


def test_shell_scripts_pass_shellcheck():
    shellcheck = shutil.which("shellcheck")
    assert shellcheck, "shellcheck is not installed (make test installs it)"
    result = subprocess.run([shellcheck, *map(str, SHELL_SCRIPTS)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


def production_env(s3, tmp_path: Path, **extra: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "DJANGO_", "SECURE_"))}
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    python = bin_dir / "python"  # the docs say `python`: make it this environment's
    python.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    python.chmod(0o755)
    env = {
        **base,
        "PATH": f"{bin_dir}{os.pathsep}{base['PATH']}",
        "PYTHON": sys.executable,
        "DEBUG": "False",
        "SECRET_KEY": "deploy-test-" + "k" * 40,
        "ALLOWED_HOSTS": "shop.example.com",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'deploy.sqlite3'}",
        "DATABASE_ON_VOLUME": "True",  # the test's file stands for a mounted volume
        "USE_S3": "True",
        "STATIC_ON_S3": "True",
        "STATIC_ROOT": str(tmp_path / "static"),
        "MEDIA_ROOT": str(tmp_path / "media"),
        "PRIVATE_MEDIA_ROOT": str(tmp_path / "private"),
        "AWS_STORAGE_BUCKET_NAME": s3.bucket,
        "AWS_ACCESS_KEY_ID": s3.server.access_key,
        "AWS_SECRET_ACCESS_KEY": s3.server.secret_key,
        "AWS_S3_ENDPOINT_URL": s3.server.endpoint_url,
        "CORS_ALLOWED_ORIGINS": "https://shop.example.com",
        **extra,
    }
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput"],
        cwd=REPO,
        env=env,
        check=True,
        capture_output=True,
    )
    return env


@pytest.mark.s3
def test_setup_script_runs_against_the_gateway(s3, tmp_path):
    env = production_env(s3, tmp_path)
    result = subprocess.run(
        ["./setup_koyeb_s3.sh"], cwd=REPO, env=env, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "All storage checks passed." in result.stdout and "All steps passed" in result.stdout
    static_keys = s3.keys("static/")
    assert "static/core/storefront.js" in static_keys and "static/admin/css/base.css" in static_keys
    assert s3.keys("media/") == [] and s3.keys("private/") == []


@pytest.mark.s3
def test_setup_script_uses_the_projects_environment_from_a_plain_shell(s3, tmp_path):
    """After `make install` (or `make run`), `./setup_koyeb_s3.sh` works as it is: it runs
    with the project's .venv, not with a system python3 that lacks the packages."""
    env = production_env(s3, tmp_path)
    del env["PYTHON"]
    bare = tmp_path / "bare-bin"
    bare.mkdir()
    (bare / "python3").write_text("#!/bin/sh\necho 'no packages here' >&2\nexit 1\n")
    (bare / "python3").chmod(0o755)
    env["PATH"] = f"{bare}{os.pathsep}{env['PATH']}"
    result = subprocess.run(
        ["./setup_koyeb_s3.sh", "--no-policy"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "All steps passed" in result.stdout and "cron" in result.stdout  # "no cron needed"
    assert "Schedule" not in result.stdout


@pytest.mark.s3
def test_setup_script_names_what_is_missing(s3, tmp_path):
    env = production_env(s3, tmp_path)
    del env["AWS_SECRET_ACCESS_KEY"]
    env["USE_S3"] = "False"
    result = subprocess.run(
        ["./setup_koyeb_s3.sh"], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 1
    assert "AWS_SECRET_ACCESS_KEY" in result.stderr and "USE_S3=True" in result.stderr


@pytest.mark.s3
def test_every_runnable_shell_command_in_the_docs_runs(s3, tmp_path):
    blocks = [(doc.name, block) for doc in DOCS for block in RUNNABLE.findall(doc.read_text())]
    assert len(blocks) >= 3
    env = production_env(s3, tmp_path)
    for name, block in blocks:
        result = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", block],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert result.returncode == 0, f"{name}:\n{block}\n{result.stdout}\n{result.stderr}"


def json_blocks(doc: Path) -> list:
    return [json.loads(block) for block in JSON_BLOCK.findall(doc.read_text())]


def test_documented_policies_are_valid_and_match_the_code():
    blocks = json_blocks(REPO / "KOYEB_S3_SETUP.md")
    assert public_read_policy("ultamine-media") in blocks
    assert cors_configuration(["https://your-app-yourorg.koyeb.app"])["CORSRules"] in blocks
    iam = next(
        b
        for b in blocks
        if isinstance(b, dict)
        and any(s.get("Sid") == "ReadWriteObjects" for s in b.get("Statement", []))
    )
    resources = {
        r
        for s in iam["Statement"]
        for r in ([s["Resource"]] if isinstance(s["Resource"], str) else s["Resource"])
    }
    assert resources == {"arn:aws:s3:::ultamine-media", "arn:aws:s3:::ultamine-media/*"}


def test_env_example_lists_every_setting_read_from_the_environment():
    settings_source = (REPO / "config" / "settings.py").read_text()
    names = set(re.findall(r'env(?:\.\w+)?\(\s*"([A-Z0-9_]+)"', settings_source))
    example = (REPO / ".env.koyeb.example").read_text()
    documented = set(re.findall(r"^#?\s*([A-Z0-9_]+)=", example, re.MULTILINE))
    readme = (REPO / "README.md").read_text()
    missing = sorted(n for n in names - documented if n not in readme)
    assert not missing, f"undocumented settings: {missing}"


def test_procfile_and_dockerfile_run_web_and_worker_and_migrate():
    procfile = (REPO / "Procfile").read_text()
    assert "release: python manage.py migrate --noinput" in procfile
    assert "web: scripts/start.sh web" in procfile
    assert "worker: scripts/start.sh worker" in procfile
    start = (REPO / "scripts" / "start.sh").read_text()
    assert "exec gunicorn config.wsgi:application" in start
    assert "exec python manage.py run_worker" in start
    dockerfile = (REPO / "Dockerfile").read_text()
    assert "collectstatic --noinput" in dockerfile and "/healthz" in dockerfile
    assert "migrate --noinput && exec scripts/start.sh web" in dockerfile
    assert "--require-hashes -r requirements.txt" in dockerfile


def test_start_script_refuses_an_unknown_role():
    result = subprocess.run(
        [str(REPO / "scripts" / "start.sh"), "cron"], capture_output=True, text=True
    )
    assert result.returncode == 64 and "usage" in result.stderr


def test_the_providers_doc_states_each_profile_as_the_code_has_it():
    """docs/PROVIDERS.md's "What the profile sets" table is the profiles' own values."""
    from media_store.storage.providers import PROVIDERS

    text = (REPO / "docs" / "PROVIDERS.md").read_text()
    header = next(line for line in text.splitlines() if line.startswith("| Setting | aws"))
    names = [cell.strip() for cell in header.strip("|").split("|")][1:]
    rows = {
        line.split("|")[1].strip().split(" ")[0].strip("`"): [
            cell.strip().strip("`") for cell in line.strip("|").split("|")[1:]
        ]
        for line in text.splitlines()
        if line.startswith("| `AWS_S3_")
    }
    for index, name in enumerate(names):
        profile = PROVIDERS[name]
        assert rows["AWS_S3_DIRECT_UPLOAD"][index] == profile.direct_upload
        assert rows["AWS_S3_CHECKSUMS"][index] == str(profile.checksum_header)
        assert rows["AWS_S3_CONDITIONAL_WRITES"][index] == str(profile.conditional_writes)


@pytest.mark.s3
def test_a_database_file_lost_at_redeploy_shows_in_readyz_and_storage_check(s3, tmp_path):
    env = production_env(s3, tmp_path, HEALTH_DETAILS_TOKEN="ops-token")
    del env["DATABASE_ON_VOLUME"]
    checked = subprocess.run(
        [sys.executable, "manage.py", "storage_check"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert checked.returncode == 1
    assert "FAIL data survives a redeploy" in checked.stdout and "DATABASE_URL" in checked.stdout
    server = AppServer(env={**env, "PYTHONPATH": str(REPO)}, workdir=tmp_path / "app")
    try:
        server.start()
        ready = fetch(server.url("/readyz"), headers={"Authorization": "Bearer ops-token"})
        detail = json.loads(ready.body)["checks"]["database"]["detail"]
        assert ready.status == 200 and "lost at the next redeploy" in detail
    finally:
        server.kill()
