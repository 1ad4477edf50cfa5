"""crm-sla as a user installs it: a wheel built from the repository's tracked files (what a clean
clone has), installed (not editable) into a fresh virtual environment, and used from a folder that
is not the checkout: `crm-sla migrate`, the pytest plugin's example, `crm-sla board`'s page.
Offline: pip's index is the machine's package mirror, as for `make`'s own virtual environment."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from harness.paths import REPO_ROOT
from tests.test_migrations import ALL

PIP = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]


def run(cmd: list[str], **kwargs) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, **kwargs)
    assert proc.returncode == 0, f"{cmd}:\n{proc.stdout}\n{proc.stderr}"
    return proc


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The bin folder of a fresh virtual environment with the wheel (and pytest) installed."""
    base = tmp_path_factory.mktemp("package")
    clone = base / "clone"
    tracked = run(["git", "ls-files", "-z"], cwd=REPO_ROOT).stdout.split("\0")
    for name in filter(None, tracked):
        source = REPO_ROOT / name
        if source.is_file():
            (clone / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, clone / name)
    run([*PIP, "wheel", "--no-deps", "-w", str(base / "dist"), str(clone)])
    [wheel] = (base / "dist").glob("crm_sla-*.whl")
    venv = base / "venv"
    run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    run([*PIP, "--python", str(venv / "bin" / "python"), "install", str(wheel), "pytest"])
    return venv / "bin"


def user_env(**extra: str) -> dict[str, str]:
    """The environment of a user's shell: nothing of this checkout or this pytest run."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PYTEST_", "CRM_SLA_TEST_DATABASE_URL", "DATABASE_URL",
                                "VIRTUAL_ENV", "PYTHONPATH"))}
    return dict(env, **extra)


def test_the_installed_package_carries_its_files(installed, tmp_path):
    where = run([str(installed / "python"), "-c", "import harness.paths as p; "
                 "print(p.IN_CHECKOUT, p.PACKAGE_DIR, len(list(p.MIGRATIONS_DIR.glob('*.sql'))), "
                 "len(list(p.SQL_TESTS_DIR.glob('*.test.sql'))), "
                 "(p.PACKAGE_DIR / 'board' / 'static' / 'index.html').is_file())"],
                cwd=tmp_path, env=user_env()).stdout.split()
    assert where[0] == "False" and where[1].startswith(str(installed.parent))
    assert int(where[2]) == len(list((REPO_ROOT / "db" / "migrations").glob("*.sql")))
    assert int(where[3]) == len(list((REPO_ROOT / "tests" / "sql").glob("*.test.sql"))) > 0
    assert where[4] == "True"


def test_the_installed_package_exports_what_the_checkout_exports(installed, tmp_path):
    from harness import export

    proc = run([str(installed / "crm-sla"), "export", "sql"], cwd=tmp_path, env=user_env())
    assert proc.stdout == export.sql_script()


def test_crm_sla_migrates_serves_and_its_plugin_runs_from_another_folder(installed, fresh_db,
                                                                         tmp_path):
    url = fresh_db()
    proc = run([str(installed / "crm-sla"), "migrate", "--no-schedule"], cwd=tmp_path,
               env=user_env(DATABASE_URL=url))
    assert f"applied {len(ALL)} migration(s)" in proc.stdout

    board = subprocess.Popen([str(installed / "crm-sla"), "board", "--port", "0"], cwd=tmp_path,
                             env=user_env(DATABASE_URL=url), text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        address = re.search(r"http://\S+/", board.stdout.readline()).group(0)
        with urllib.request.urlopen(address + "static/board.js", timeout=15) as script:
            assert script.status == 200
        board.send_signal(signal.SIGTERM)
        assert board.wait(20) == 0
    finally:
        if board.poll() is None:
            board.kill()

    shutil.copy(REPO_ROOT / "examples" / "test_my_crm.py", tmp_path)
    proc = run([str(installed / "pytest"), "-q", "-p", "no:cacheprovider", "test_my_crm.py"],
               cwd=tmp_path, env=user_env(DATABASE_URL=fresh_db()))
    assert "4 passed" in proc.stdout


def test_the_installed_plugin_starts_its_own_server(installed, crm_sla_server, tmp_path):
    """Without DATABASE_URL: pytest-postgresql's postgresql_proc, through the installed
    crm-sla-pg-ctl (as root, the server runs as the postgres user)."""
    if not crm_sla_server.embedded:
        pytest.skip("the suite runs against the server in DATABASE_URL: PostgreSQL 15 need not "
                    "be installed here")
    shutil.copy(REPO_ROOT / "examples" / "test_my_crm.py", tmp_path)
    proc = run([str(installed / "pytest"), "-q", "-p", "no:cacheprovider", "test_my_crm.py"],
               cwd=tmp_path, env=user_env())
    assert "4 passed" in proc.stdout
