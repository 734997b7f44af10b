"""The real app under gunicorn, as a subprocess in a throwaway working directory."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support.s3 import REPO, free_port


@dataclass
class Database:
    """A database of its own for the app processes (never the test run's own database)."""

    url: str
    _admin_url: str | None = None
    _name: str | None = None

    @classmethod
    def create(cls, base_url: str | None, tmp: Path) -> Database:
        if base_url and base_url.startswith(("postgres://", "postgresql://")):
            import psycopg

            name = f"e2e_{uuid.uuid4().hex[:10]}"
            with psycopg.connect(_libpq(base_url), autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{name}"')
            return cls(url=base_url.rsplit("/", 1)[0] + f"/{name}", _admin_url=base_url, _name=name)
        return cls(url=f"sqlite:///{tmp / 'e2e.sqlite3'}")

    def execute(self, sql: str) -> None:
        if self._name:
            import psycopg

            with psycopg.connect(_libpq(self.url), autocommit=True) as conn:
                conn.execute(sql)
        else:
            with sqlite3.connect(self.url.removeprefix("sqlite:///")) as conn:
                conn.executescript(sql)

    def fetch(self, sql: str) -> list[tuple]:
        """Rows of a read-only query."""
        if self._name:
            import psycopg

            with psycopg.connect(_libpq(self.url), autocommit=True) as conn:
                return conn.execute(sql).fetchall()
        with sqlite3.connect(self.url.removeprefix("sqlite:///")) as conn:
            return conn.execute(sql).fetchall()

    @property
    def is_postgres(self) -> bool:
        return self._name is not None

    def drop(self) -> None:
        if self._name and self._admin_url:
            import psycopg

            with psycopg.connect(_libpq(self._admin_url), autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{self._name}" WITH (FORCE)')


def _libpq(url: str) -> str:
    return url.replace("postgres://", "postgresql://", 1)


@dataclass
class AppServer:
    env: dict[str, str]
    workdir: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def start(self, timeout: float = 60, *, collectstatic: bool = False) -> AppServer:
        """Start gunicorn; ``collectstatic`` first runs the build step pages need."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        env = {
            **self.env,
            "MEDIA_ROOT": str(self.workdir / "media"),
            "PRIVATE_MEDIA_ROOT": str(self.workdir / "private_media"),
            "STATIC_ROOT": str(self.workdir / "staticfiles"),
        }
        if collectstatic:
            built = manage(env, "collectstatic", "--noinput", cwd=self.workdir)
            if built.returncode != 0:
                raise RuntimeError(f"collectstatic failed: {built.stderr}")
        log = (self.workdir / "gunicorn.log").open("ab")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "config.wsgi:application",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                env.get("WEB_CONCURRENCY", "2"),
                "--threads",
                "4",
                "--timeout",
                "60",
                "--graceful-timeout",
                "5",
            ],
            cwd=self.workdir,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: kill() takes the workers too
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited: {self.log_tail()}")
            try:
                with urllib.request.urlopen(self.url("/healthz"), timeout=2) as response:
                    if response.status == 200:
                        return self
            except (urllib.error.URLError, OSError):
                time.sleep(0.2)
        raise RuntimeError(f"gunicorn did not become healthy: {self.log_tail()}")

    def kill(self) -> None:
        """SIGKILL to gunicorn and its workers, like a platform tearing down an instance."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def wipe_disk(self) -> None:
        shutil.rmtree(self.workdir)

    def log_tail(self, lines: int = 40) -> str:
        path = self.workdir / "gunicorn.log"
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


@dataclass
class WorkerProcess:
    """``manage.py run_worker`` as a process of its own, like the Procfile's ``worker``."""

    env: dict[str, str]
    workdir: Path
    worker_id: str = field(default_factory=lambda: f"w-{uuid.uuid4().hex[:12]}")
    process: subprocess.Popen[bytes] | None = None

    def start(self, *args: str) -> WorkerProcess:
        self.workdir.mkdir(parents=True, exist_ok=True)
        log = (self.workdir / f"{self.worker_id}.log").open("ab")
        self.process = subprocess.Popen(
            [
                sys.executable,
                str(REPO / "manage.py"),
                "run_worker",
                "--no-reload",
                "--no-startup-delay",
                "--interval",
                "0.2",
                "--worker-id",
                self.worker_id,
                *args,
            ],
            cwd=self.workdir,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return self

    def kill(self) -> None:
        """SIGKILL, as when the platform kills an instance that ran out of memory."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        """SIGTERM: finish the current task, then exit."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=60)

    def log_tail(self, lines: int = 40) -> str:
        path = self.workdir / f"{self.worker_id}.log"
        text = path.read_text(errors="replace") if path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


def manage(
    env: dict[str, str], *args: str, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(REPO / "manage.py"), *args],
        cwd=cwd or REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def app_env(database_url: str, s3: Any, bucket: str, **extra: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "DJANGO_", "S3_TEST"))}
    return {
        **base,
        "PYTHONPATH": str(REPO),
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DEBUG": "False",
        "SECRET_KEY": "e2e-secret-key-" + "x" * 40,
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "False",
        "DATABASE_URL": database_url,
        "CONN_MAX_AGE": "0",
        "USE_S3": "True",
        "STATIC_ON_S3": "False",
        "AWS_STORAGE_BUCKET_NAME": bucket,
        "AWS_ACCESS_KEY_ID": s3.access_key,
        "AWS_SECRET_ACCESS_KEY": s3.secret_key,
        "AWS_S3_ENDPOINT_URL": s3.endpoint_url,
        "AWS_S3_PROVIDER": "ceph",  # our gateway; the compatibility harness sets others
        "AWS_S3_CONNECT_TIMEOUT": "2",
        "AWS_S3_READ_TIMEOUT": "3",
        "AWS_S3_MAX_ATTEMPTS": "2",
        "UPLOAD_THROTTLE_RATE": "100000/hour",
        "LOG_LEVEL": "WARNING",
        **extra,
    }
