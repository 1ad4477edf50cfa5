"""`crm-sla export`: the engine as Supabase CLI migration files and as one psql script, checked
with the real Supabase CLI (`supabase db push`, from npm) on plain PostgreSQL and on the
Supabase-built database (tests/supabase_project.py): the product schema equals `crm-sla
migrate`'s, the engine works, `crm-sla migrate` then applies nothing, and a database on the
previous release upgrades by pushing the current files."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import uuid
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest

from harness import export, sqltests
from harness.cluster import PG_BIN
from harness.paths import REPO_ROOT
from harness.testing import SYSTEM_ACTOR, World
from tests import schema_snapshot, supabase_project
from tests.cli import assert_one_line_error, crm_sla

SUPABASE_CLI_VERSION = "2.117.0"
# Installed on first use (`npm i -E supabase@2.117.0`), outside the package, kept between runs.
CLI_DIR = REPO_ROOT / "test-artifacts" / f"supabase-cli-{SUPABASE_CLI_VERSION}"
BOOKKEEPING = "crm_sla_migrations"


@pytest.fixture(scope="session")
def supabase_cli() -> Path:
    cli = CLI_DIR / "node_modules" / ".bin" / "supabase"
    if not cli.exists():
        npm = shutil.which("npm")
        assert npm, "the export tests run the real Supabase CLI, installed with npm: install npm"
        CLI_DIR.mkdir(parents=True, exist_ok=True)
        subprocess.run([npm, "i", "-E", "--no-audit", "--no-fund",
                        f"supabase@{SUPABASE_CLI_VERSION}"],
                       cwd=CLI_DIR, check=True, capture_output=True, timeout=600)
    return cli


def push(cli: Path, project: Path, url: str) -> list[str]:
    """`supabase db push` of project/supabase/migrations; returns the files it applied."""
    info = psycopg.conninfo.conninfo_to_dict(url)
    password = f":{quote(info['password'], safe='')}" if info.get("password") else ""
    db_url = (f"postgresql://{quote(info['user'], safe='')}{password}@{info['host']}:"
              f"{info['port']}/{quote(info['dbname'], safe='')}?sslmode=disable")
    proc = subprocess.run(
        [str(cli), "db", "push", "--db-url", db_url, "--yes"],
        cwd=project, capture_output=True, text=True, timeout=300,
        env=dict(os.environ, SUPABASE_TELEMETRY_DISABLED="1", DO_NOT_TRACK="1"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return re.findall(r"Applying migration (\S+)\.\.\.", proc.stdout + proc.stderr)


def export_to(project: Path) -> list[str]:
    folder = project / "supabase" / "migrations"
    proc = crm_sla("export", "supabase", "--dir", str(folder), url="")
    assert proc.returncode == 0, proc.stderr
    return sorted(p.name for p in folder.iterdir())


def product_schema(url: str) -> str:
    """What `make schema` compares (schemas public and auth), and the bookkeeping's tables."""
    bookkeeping = subprocess.run(
        [str(PG_BIN / "pg_dump"), "--schema-only", "--no-owner", f"--schema={BOOKKEEPING}", url],
        check=True, capture_output=True, text=True).stdout
    keep = [ln for ln in bookkeeping.splitlines() if not ln.startswith(("--", "\\"))]
    return schema_snapshot.dump(url) + "\n".join(keep)


def recorded(url: str) -> list[str]:
    with psycopg.connect(url) as conn:
        return [r[0] for r in conn.execute(
            f"select migration_id from {BOOKKEEPING}._yoyo_migration order by migration_id")]


def cron_jobs(url: str) -> set[tuple[str, str, str]]:
    with psycopg.connect(url) as conn:
        return set(conn.execute("select jobname, schedule, command from cron.job"))


def engine_reassigns_a_breached_lead(world: World, eve: uuid.UUID, fay: uuid.UUID) -> None:
    away = [r["id"] for r in world.db.execute(
        "update public.crm_agents set accepting_leads = false "
        "where id not in (%s, %s) and accepting_leads returning id", (eve, fay))]
    try:
        lead = world.db.execute("insert into public.crm_leads (assigned_agent_id) values (%s) "
                                "returning id", (eve,)).fetchone()["id"]
        world.travel("5 minutes")
        world.monitor()
        row = world.row(lead)
        assert row["assigned_agent_id"] == fay and row["sla_breached"]
        assert [(a["reason"], a["from_agent_id"], a["to_agent_id"], a["reassigned_by"])
                for a in world.audit(lead)] == [("unclaimed", eve, fay, SYSTEM_ACTOR)]
    finally:
        world.db.execute("update public.crm_agents set accepting_leads = true "
                         "where id = any(%s)", (away,))
        world.clock.reset()


def the_installed_engine_works(url: str, world: World, eve: uuid.UUID, fay: uuid.UUID) -> None:
    again = crm_sla("migrate", url=url)
    assert again.returncode == 0, again.stderr
    assert "nothing to apply" in again.stdout
    status = crm_sla("status", url=url)
    assert status.returncode == 0, status.stderr
    assert re.search(r"^migrations +\d+ applied, 0 pending$", status.stdout, re.MULTILINE)
    engine_reassigns_a_breached_lead(world, eve, fay)
    proc = crm_sla("test-sql", url=url, timeout=300)
    assert proc.returncode == 0, sqltests.failure_report(proc.stdout + proc.stderr)
    assert "All tests successful." in proc.stdout


# -- without a database ---------------------------------------------------------------------------

def test_every_release_in_the_changelog_has_its_export_timestamp_and_no_other():
    changelog = (REPO_ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    named = re.findall(r"^## \[(\d+\.\d+\.\d+)\]", changelog, flags=re.MULTILINE)
    releases = export.releases()
    assert [r.version for r in releases] == list(reversed(named))
    stamps = [r.timestamp for r in releases]
    assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)
    ids = [mid for mid, _ in export.migrations()]
    positions = [ids.index(r.newest_migration) for r in releases]
    assert positions == sorted(positions)


def test_each_release_ends_at_the_newest_migration_its_commit_shipped():
    """A release's file holds what the release itself installed: its newest migration is the
    newest in db/migrations at the commit CHANGELOG.md names (0.1.0 shipped 0010 and 0020 too)."""
    changelog = (REPO_ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    commits = dict(re.findall(r"^## \[(\d+\.\d+\.\d+)\].*?Cut from commit `([0-9a-f]{40})`",
                              changelog, flags=re.MULTILINE | re.DOTALL))
    for release in export.releases():
        names = subprocess.run(
            ["git", "ls-tree", "--name-only", commits[release.version], "db/migrations/"],
            cwd=REPO_ROOT, capture_output=True, text=True, check=True).stdout.split()
        ids = sorted(Path(n).name.split(".")[0] for n in names
                     if re.fullmatch(r"\d{4}_\w+\.(sql|py)", Path(n).name))
        assert release.newest_migration == ids[-1], release.version


def test_files_are_one_per_release_then_the_unreleased_named_after_the_newest(tmp_path):
    names = export_to(tmp_path)
    ids = [mid for mid, _ in export.migrations()]
    expected = [f"{r.timestamp}_crm_sla_{r.version}.sql" for r in export.releases()]
    if ids[-1] != export.releases()[-1].newest_migration:
        expected.append(names[-1])
        assert names[-1].endswith(f"_crm_sla_{ids[-1]}.sql")
        assert names[-1] > expected[-2]  # the unreleased file sorts after the releases
    assert names == expected
    # Together the files hold every migration once, in order.
    held = re.findall(r"^-- Migration (\S+)$", "".join(
        (tmp_path / "supabase" / "migrations" / n).read_text() for n in names), re.MULTILINE)
    assert held == ids
    assert re.findall(r"^-- Migration (\S+)$", export.sql_script(), re.MULTILINE) == ids


def test_exporting_twice_writes_the_same_files_and_a_changed_one_is_refused(tmp_path):
    folder = tmp_path / "supabase" / "migrations"
    export_to(tmp_path)
    first = {p.name: p.read_bytes() for p in folder.iterdir()}
    proc = crm_sla("export", "supabase", "--dir", str(folder), url="")
    assert proc.returncode == 0 and "unchanged" in proc.stderr
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == first
    edited = folder / sorted(first)[0]
    edited.write_text(edited.read_text() + "\n-- edited\n")
    assert_one_line_error(crm_sla("export", "supabase", "--dir", str(folder), url=""),
                          edited.name, "other content")


# -- plain PostgreSQL -----------------------------------------------------------------------------

def test_export_sql_with_psql_twice_installs_what_migrate_installs(fresh_db, template_db,
                                                                   crm_sla_server):
    url = fresh_db()
    proc = crm_sla("export", "sql", url="")
    assert proc.returncode == 0, proc.stderr
    for _ in range(2):
        run = subprocess.run([str(PG_BIN / "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1",
                              "-f", "-", url], input=proc.stdout, capture_output=True,
                             text=True, check=False)
        assert run.returncode == 0, run.stderr
    # No pg_cron in this database (it lives in the server's maintenance one): it says how.
    assert "the monitor is not scheduled" in run.stderr
    assert "cron.schedule_in_database('crm-sla-monitor:" in run.stderr
    assert product_schema(url) == product_schema(crm_sla_server.url_for(template_db))
    again = crm_sla("migrate", "--no-schedule", url=url)
    assert "nothing to apply" in again.stdout, again.stdout + again.stderr


def test_supabase_cli_pushes_onto_plain_postgresql_and_upgrades_from_the_last_release(
        supabase_cli, fresh_db, template_db, crm_sla_server, tmp_path):
    names = export_to(tmp_path / "all")
    # A database on the previous release: the files up to it, pushed (the last file is the newest
    # release's, or the unreleased migrations after it).
    url = fresh_db()
    previous = tmp_path / "previous" / "supabase" / "migrations"
    previous.mkdir(parents=True)
    for name in names[:-1]:
        shutil.copy(tmp_path / "all" / "supabase" / "migrations" / name, previous)
    assert push(supabase_cli, tmp_path / "previous", url) == names[:-1]
    assert recorded(url)[-1] == export.parts()[-2].migrations[-1][0]
    # Then the current export beside them: only what is new is applied.
    assert push(supabase_cli, tmp_path / "all", url) == names[-1:]
    assert product_schema(url) == product_schema(crm_sla_server.url_for(template_db))
    with contextlib.closing(World(url)) as world:
        eve, fay = world.agents("Eve", "Fay")
        the_installed_engine_works(url, world, eve, fay)


# -- the Supabase-built database ------------------------------------------------------------------

def test_supabase_cli_pushes_onto_a_supabase_project_what_migrate_installs(supabase_cli,
                                                                           tmp_path):
    if not (PG_BIN / "initdb").exists():
        pytest.fail(f"the Supabase fixture needs {PG_BIN}/initdb (postgresql-15)")
    export_to(tmp_path)
    try:
        url = supabase_project.build()
        assert crm_sla("migrate", url=url).returncode == 0
        expected_schema, expected_jobs = product_schema(url), cron_jobs(url)

        url = supabase_project.build()
        applied = push(supabase_cli, tmp_path, url)
        assert applied == sorted(p.name for p in (tmp_path / "supabase/migrations").iterdir())
        assert product_schema(url) == expected_schema
        assert cron_jobs(url) == expected_jobs  # the monitor and purges, as migrate makes them
        # Pushed again (a later export's folder holds the same files): nothing to do, no new job.
        assert push(supabase_cli, tmp_path, url) == []
        with psycopg.connect(url) as conn:  # the files again by hand, as `db reset` would
            for path in sorted((tmp_path / "supabase" / "migrations").iterdir()):
                conn.execute(path.read_text())
        assert cron_jobs(url) == expected_jobs
        assert product_schema(url) == expected_schema

        with contextlib.closing(World(url)) as world:
            eve, fay = uuid.uuid4(), uuid.uuid4()
            for agent, name in ((eve, "Eve"), (fay, "Fay")):
                supabase_project.add_agent(world.db, agent, name)
            the_installed_engine_works(url, world, eve, fay)
    finally:
        supabase_project.SUPABASE.destroy()
