"""A Supabase project's database, built from Supabase's own public scripts (tests/supabase/*.sql,
each with a header naming its source commit and what it skips), on a cluster of its own:

- initdb makes `supabase_admin`; `postgres` is created a superuser, as supabase/postgres's
  migrate.sh does, runs the init scripts, and is then demoted by Supabase's migrations (no
  superuser, as on a hosted project);
- GoTrue's auth migrations run as `supabase_auth_admin`, as the auth service runs them;
- pg_cron (and pgTAP) are enabled as the dashboard does, pg_cron living in database `postgres`;
- the CRM is made by `postgres` in database `postgres`, under Supabase's default privileges, with
  `crm_agents.id references auth.users (id)`.

The engine is then installed by `postgres` over `postgresql://postgres@.../postgres`, exactly as an
adopter's DATABASE_URL would. The whole build takes a few seconds.
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import psycopg

from harness.cluster import Cluster

SCRIPTS = Path(__file__).parent / "supabase"

# Port: CRM_SLA_SUPABASE_PGPORT, else 54359 (beside the test cluster's 54339).
SUPABASE = Cluster(".pgdata-supabase", "CRM_SLA_SUPABASE_PGPORT", 54359,
                   superuser="supabase_admin", bootstrap=False)
DATABASE = "postgres"

# migrate.sh's first step: `postgres` exists, as a superuser for now, and owns the database.
MAKE_POSTGRES = """
create role postgres superuser login;
alter database postgres owner to postgres;
"""

STEPS: tuple[tuple[str, str], ...] = (
    ("supabase_admin", MAKE_POSTGRES),
    ("postgres", "10_init_scripts.sql"),
    ("supabase_admin", "20_migrations.sql"),
    ("supabase_auth_admin", "30_gotrue_auth.sql"),
    ("supabase_admin", "40_dashboard.sql"),
    ("postgres", "50_crm.sql"),
)


def url(user: str = "postgres") -> str:
    return SUPABASE.url(DATABASE, user=user)


def run_as(user: str, sql: str) -> None:
    """Run a script as `user`, each of its "-- file:" parts on its own, as their tools do (psql
    -f for Supabase's scripts, one transaction a file for GoTrue's, which may end without a
    semicolon)."""
    parts = re.split(r"^(?=-- file: )", sql, flags=re.MULTILINE)
    with psycopg.connect(url(user), autocommit=True) as conn:
        for part in parts:
            if part.strip():
                conn.execute(part)


def add_agent(conn: psycopg.Connection, agent: uuid.UUID, name: str) -> None:
    """An agent as a Supabase project makes one: its auth user first (crm_agents references it)."""
    email = f"{name.lower()}@example.com"
    conn.execute("insert into auth.users (id, aud, role, email) values "
                 "(%s, 'authenticated', 'authenticated', %s)", (agent, email))
    conn.execute("insert into public.crm_agents (id, full_name, email) values (%s, %s, %s)",
                 (agent, name, email))


def build() -> str:
    """A new Supabase-built database (any previous one is destroyed); returns the URL that
    connects as `postgres`."""
    SUPABASE.destroy()
    SUPABASE.start(quiet=True)
    for user, step in STEPS:
        sql = (SCRIPTS / step).read_text() if step.endswith(".sql") else step
        try:
            run_as(user, sql)
        except psycopg.Error as exc:
            raise RuntimeError(f"building the Supabase fixture: {step} as {user}: {exc}") from exc
    return url()


if __name__ == "__main__":
    print(build())  # a Supabase-built database to try things on, in .pgdata-supabase/
