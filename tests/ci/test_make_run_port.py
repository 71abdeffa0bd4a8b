"""``make run PORT=…`` serves on that port, and the README says so (issue 12 item 8)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent


@pytest.mark.skipif(shutil.which("make") is None, reason="GNU make is not installed")
def test_make_run_takes_the_port_from_the_command_line() -> None:
    # -n: print the commands without running them (nothing is installed or served)
    plan = subprocess.run(
        ["make", "-n", "run", "PORT=5123"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    assert "--port 5123" in plan and "http://127.0.0.1:5123" in plan
    assert "--port 5000" not in plan


def test_the_readme_says_how_to_change_the_port() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "make run PORT=8080" in readme
