"""Running the `crm-sla` command as a user would, and checking its errors."""

from __future__ import annotations

import os
import subprocess
import sys

from harness.paths import REPO_ROOT


def crm_sla(*args: str, url: str, timeout: float = 120) -> subprocess.CompletedProcess:
    env = dict(os.environ, DATABASE_URL=url)
    return subprocess.run([sys.executable, "-m", "harness.cli", *args], capture_output=True,
                          text=True, env=env, cwd=REPO_ROOT, timeout=timeout)


def assert_one_line_error(proc: subprocess.CompletedProcess, *words: str) -> None:
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    for word in words:
        assert word in lines[0], lines[0]
