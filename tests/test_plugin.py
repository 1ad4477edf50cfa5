"""The pytest plugin adopters use: examples/test_my_crm.py copied into a bare folder and run with
plain pytest, as a user's CI would, against this suite's server (as its DATABASE_URL)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

from harness.paths import REPO_ROOT
from harness.testing import connect


def plain_pytest(folder, env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in env.items() if not k.startswith("PYTEST_")}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", *args],
        cwd=folder, env=env, capture_output=True, text=True, timeout=600,
    )


def scratch_databases(url: str) -> set[str]:
    with connect(url) as conn:
        rows = conn.execute("select datname from pg_database where datname like 'crm_sla_%'")
        return {r["datname"] for r in rows.fetchall()}


def objects(url: str) -> list[tuple]:
    """Every schema of a database and the relations in it."""
    with connect(url) as conn:
        return [tuple(r.values()) for r in conn.execute(
            "select n.nspname, c.relname from pg_namespace n left join pg_class c "
            "on c.relnamespace = n.oid where n.nspname not like 'pg\\_%%' "
            "and n.nspname <> 'information_schema' order by 1, 2").fetchall()]


def test_the_example_runs_with_plain_pytest_and_cleans_up(crm_sla_server, fresh_db, tmp_path):
    shutil.copy(REPO_ROOT / "examples" / "test_my_crm.py", tmp_path)
    named = fresh_db()  # the database a user names: only the way in to the server
    env = dict(os.environ, DATABASE_URL=named)
    env.pop("CRM_SLA_TEST_DATABASE_URL", None)
    before, inside = scratch_databases(crm_sla_server.url), objects(named)
    proc = plain_pytest(tmp_path, env, "test_my_crm.py")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "4 passed" in proc.stdout, proc.stdout
    assert scratch_databases(crm_sla_server.url) == before  # its scratch databases are gone
    assert objects(named) == inside  # and nothing was written to the one named


def test_the_plugin_starts_nothing_unless_its_fixtures_are_used(tmp_path):
    """Loaded into every pytest run where crm-sla is installed: a run that uses none of its
    fixtures must not need a server. Here any attempt to start one would fail."""
    (tmp_path / "test_other.py").write_text("def test_other():\n    assert True\n")
    env = dict(os.environ, CRM_SLA_PG_BIN=str(tmp_path / "no-postgres-here"),
               CRM_SLA_TEST_PGPORT="1")
    env.pop("DATABASE_URL", None)
    env.pop("CRM_SLA_TEST_DATABASE_URL", None)
    proc = plain_pytest(tmp_path, env, "-p", "crm_sla", "test_other.py")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "1 passed" in proc.stdout


def test_the_plugin_is_registered_as_a_pytest11_entry_point():
    from importlib.metadata import entry_points

    plugins = {ep.name: ep.value for ep in entry_points(group="pytest11")}
    assert plugins.get("crm_sla") == "harness.pytest_plugin"
