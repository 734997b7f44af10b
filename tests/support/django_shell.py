"""Run code in a fresh Django process, to see what settings make of an environment."""

from __future__ import annotations

import subprocess
import sys

from tests.support.s3 import REPO


def django_shell(code: str, **env: str) -> str:
    """``manage.py shell -c code`` with only ``env`` (and ``DEBUG=True``) set; the last
    line it printed."""
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=REPO,
        env={"PATH": "/usr/bin:/bin", "DEBUG": "True", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]
