"""requirements.txt (for PaaS buildpacks) must be exactly what the lockfile exports."""

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _pins(text: str) -> list[str]:
    return [line for line in text.splitlines() if line and not line.startswith("#")]


def test_requirements_txt_matches_the_lockfile():
    exported = subprocess.run(
        [
            sys.executable,
            "-m",
            "uv",
            "export",
            "--frozen",
            "--no-dev",
            "--no-emit-project",
            "--quiet",
        ],
        cwd=REPO,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    committed = (REPO / "requirements.txt").read_text()
    assert _pins(committed) == _pins(exported), (
        "run `make requirements` and commit requirements.txt"
    )
