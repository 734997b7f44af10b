"""Fixtures for end-to-end runs: real gunicorn processes, a database and a bucket of their own."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from media_store.storage.bucket import apply_public_read_policy
from tests.support.app_server import AppServer, Database, WorkerProcess, app_env, manage
from tests.support.multipart import request
from tests.support.s3 import S3Server

CREATE_USERS = """
from django.contrib.auth import get_user_model
from knox.models import AuthToken
User = get_user_model()
for name, staff in (("staff", True), ("alice", False), ("bob", False)):
    user = User.objects.create_user(name, password="e2e-pw-" + name, is_staff=staff)
    print("TOKEN", name, AuthToken.objects.create(user=user)[1])
"""


@dataclass
class Deployment:
    """One database + one bucket, shared by every app instance started from it."""

    s3: S3Server
    bucket: str
    database: Database
    env: dict[str, str]
    tokens: dict[str, str]
    root: Path
    servers: list[AppServer] = field(default_factory=list)
    workers: list[WorkerProcess] = field(default_factory=list)

    def server(self, **env: str) -> AppServer:
        """A not yet started instance (its port is already chosen)."""
        server = AppServer(
            env={**self.env, **env}, workdir=self.root / f"instance-{uuid.uuid4().hex[:8]}"
        )
        self.servers.append(server)
        return server

    def start(self, **env: str) -> AppServer:
        return self.server(**env).start()

    def worker(self, **env: str) -> WorkerProcess:
        """A not yet started background worker on this deployment's database and bucket."""
        worker = WorkerProcess(env={**self.env, **env}, workdir=self.root / "workers")
        self.workers.append(worker)
        return worker

    def keys(self, prefix: str = "") -> list[str]:
        return self.s3.keys(self.bucket, prefix)

    def product_id(self) -> int:
        server = self.servers[-1]
        created = request(
            "POST",
            server.url("/api/core/products/"),
            token=self.tokens["staff"],
            json_body={"name": f"Product {uuid.uuid4().hex[:6]}", "price": "5.00"},
        )
        assert created.status == 201, created.body
        return created.json()["id"]

    def order_count(self, server: AppServer) -> int:
        return request("GET", server.url("/api/core/orders/"), token=self.tokens["staff"]).json()[
            "count"
        ]


@pytest.fixture(scope="module")
def deployment(
    s3_server: S3Server, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    root = tmp_path_factory.mktemp("e2e")
    database = Database.create(os.environ.get("DATABASE_URL"), root)
    bucket = s3_server.new_bucket()
    apply_public_read_policy(s3_server.client(), bucket)
    env = app_env(database.url, s3_server, bucket)
    migrated = manage(env, "migrate", "--noinput")
    assert migrated.returncode == 0, migrated.stderr
    users = manage(env, "shell", "-c", CREATE_USERS)
    assert users.returncode == 0, users.stderr
    tokens = dict(
        line.split()[1:] for line in users.stdout.splitlines() if line.startswith("TOKEN ")
    )
    deployment = Deployment(s3_server, bucket, database, env, tokens, root)
    yield deployment
    for process in [*deployment.servers, *deployment.workers]:
        process.kill()
    s3_server.drop_bucket(bucket)
    database.drop()


CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Debian's Chromium, driven by Playwright (never a downloaded browser)."""
    if not shutil.which(CHROMIUM):
        pytest.fail("Debian's chromium is not installed (make test installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-background-networking", "--disable-gpu"],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser, request: pytest.FixtureRequest):
    """A fresh browser context's page; a screenshot in test-artifacts/ when the test fails."""
    context = browser.new_context()
    page = context.new_page()
    yield page
    failed = getattr(request.node, "rep_call", None)
    if failed is not None and failed.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    context.close()


@pytest.fixture
def figures(request: pytest.FixtureRequest) -> Callable[[str], None]:
    """Record a figure line; all are printed in the run's summary."""

    def record(line: str) -> None:
        request.config.stash.setdefault(FIGURES, []).append(f"{request.node.name}: {line}")

    return record


FIGURES = pytest.StashKey[list[str]]()


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    lines = config.stash.get(FIGURES, [])
    if lines:
        terminalreporter.section("durability figures")
        for line in lines:
            terminalreporter.write_line(line)
