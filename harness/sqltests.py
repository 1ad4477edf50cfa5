"""`crm-sla test-sql`: the pgTAP suite in tests/sql, run with pg_prove against a migrated database.

Each file is one transaction that it rolls back, so the database is left as it was found. The same
files run unchanged as supabase/tests/database/*.test.sql under `supabase test db`. Before pg_prove
starts, the database is checked (read-only) for what the suite needs, so that a missing package or
a missing `make migrate` is one line saying what to do rather than a page of psql errors.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import psycopg
from psycopg.rows import tuple_row

from harness.errors import HarnessError
from harness.migrate import META_SCHEMA, pending_ids
from harness.paths import SQL_TESTS_DIR
from harness.target import connect, redact

PG_PROVE_PACKAGE = "libtap-parser-sourcehandler-pgtap-perl"
PSQL_PACKAGE = "postgresql-client"
PGTAP_PACKAGE = "postgresql-15-pgtap"


def files() -> list[Path]:
    return sorted(SQL_TESTS_DIR.glob("*.test.sql"))


def client_problems() -> list[str]:
    """What this machine lacks to run pg_prove."""
    problems = []
    if not shutil.which("pg_prove"):
        problems.append(
            f"pg_prove is not installed here (Debian/Ubuntu package {PG_PROVE_PACKAGE})")
    if not shutil.which("psql"):
        problems.append(f"psql is not installed here (Debian/Ubuntu package {PSQL_PACKAGE})")
    return problems


def server_problems(conn: psycopg.Connection) -> list[str]:
    """What the database lacks for the suite: pgTAP on its server, the engine's migrations."""
    problems = []
    conn = conn.cursor(row_factory=tuple_row)
    pgtap = conn.execute(
        "select exists (select from pg_catalog.pg_available_extensions where name = 'pgtap')"
    ).fetchone()[0]
    if not pgtap:
        problems.append(f"the pgTAP extension is not available on the database server (install "
                        f"the {PGTAP_PACKAGE} package there; Supabase has it built in)")
    log = conn.execute(f"select to_regclass('{META_SCHEMA}._yoyo_migration')").fetchone()[0]
    applied = set()
    if log is not None:
        applied = {r[0] for r in conn.execute(f"select migration_id from {log}").fetchall()}
    pending = pending_ids(applied)
    if pending:
        problems.append(f"the database lacks migration(s) {', '.join(pending)}: run `make migrate` "
                        "against it first")
    return problems


def check(url: str) -> None:
    problems = client_problems()
    with connect(url) as conn:
        problems += server_problems(conn)
    if problems:
        raise HarnessError("cannot run the SQL suite on " + redact(url) + ": "
                           + "; ".join(problems) + ".")


# libpq's environment variables: pg_prove hands --dbname to psql through an option parser that
# splits on "=", so a key=value connection string would not survive; the environment always does.
LIBPQ_ENV = {
    "host": "PGHOST", "hostaddr": "PGHOSTADDR", "port": "PGPORT", "dbname": "PGDATABASE",
    "user": "PGUSER", "password": "PGPASSWORD", "passfile": "PGPASSFILE",
    "service": "PGSERVICE", "options": "PGOPTIONS", "application_name": "PGAPPNAME",
    "connect_timeout": "PGCONNECT_TIMEOUT", "sslmode": "PGSSLMODE", "sslcert": "PGSSLCERT",
    "sslkey": "PGSSLKEY", "sslrootcert": "PGSSLROOTCERT", "sslcrl": "PGSSLCRL",
    "sslcompression": "PGSSLCOMPRESSION", "requiressl": "PGREQUIRESSL",
    "gssencmode": "PGGSSENCMODE", "channel_binding": "PGCHANNELBINDING",
    "target_session_attrs": "PGTARGETSESSIONATTRS", "krbsrvname": "PGKRBSRVNAME",
    "sslsni": "PGSSLSNI", "ssl_min_protocol_version": "PGSSLMINPROTOCOLVERSION",
    "ssl_max_protocol_version": "PGSSLMAXPROTOCOLVERSION",
}


def pg_prove_command(url: str, paths: list[Path], verbose: bool = False,
                     extra: list[str] | None = None) -> tuple[list[str], dict[str, str]]:
    """The pg_prove command line and its environment, which carries the connection (so the
    password is never on a command line)."""
    try:
        info = psycopg.conninfo.conninfo_to_dict(url)
    except psycopg.ProgrammingError as exc:
        raise HarnessError(f"DATABASE_URL is not a valid connection string: {exc}") from None
    env = {k: v for k, v in os.environ.items() if k not in LIBPQ_ENV.values()}
    for key, value in info.items():
        if key not in LIBPQ_ENV:
            raise HarnessError(f"the connection parameter {key!r} cannot be passed on to pg_prove")
        env[LIBPQ_ENV[key]] = str(value)
    cmd = ["pg_prove"]
    if verbose:
        cmd.append("--verbose")
    return [*cmd, *(extra or []), *(str(p) for p in paths)], env


def run(url: str, verbose: bool = False, extra: list[str] | None = None) -> int:
    check(url)
    cmd, env = pg_prove_command(url, [p.name for p in files()], verbose, extra)
    print(f"pg_prove: {len(files())} file(s) from {SQL_TESTS_DIR} against {redact(url)}",
          flush=True)
    return subprocess.call(cmd, env=env, cwd=SQL_TESTS_DIR)


_REPORT_LINE = re.compile(
    r"^(not ok |#|psql:|ERROR:|DETAIL:|HINT:|CONTEXT:|Result:|Failed|\S+\.sql \.+ )")


def failure_report(output: str) -> str:
    """pg_prove's verbose output cut down to what failed and why."""
    lines = [ln for ln in output.splitlines() if _REPORT_LINE.match(ln)]
    return "\n".join(lines) or output
