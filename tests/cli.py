"""Running the `crm-sla` command as a user would, and checking its errors."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

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


# Long-running commands (monitor, board) stop cleanly on Ctrl-C and on SIGTERM, however they were
# started: at a terminal, or as a shell's background job (`&` without job control), which starts
# with SIGINT ignored. `started` is the child's preexec_fn, so that the foreground case does not
# inherit how pytest itself was started.
def foreground() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def in_background() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


STOP_SIGNALS = pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM],
                                       ids=["ctrl-c", "sigterm"])
STARTED = pytest.mark.parametrize("started", [foreground, in_background],
                                  ids=["foreground", "background"])
