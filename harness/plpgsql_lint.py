"""plpgsql_check over every PL/pgSQL function of a freshly migrated scratch database (`make lint`).

sqlfluff does not look inside function bodies; plpgsql_check does: unknown columns, wrong types,
dead code, unused variables, a `security definer` without a pinned search_path. Trigger
functions are checked against the table their trigger is on. Deliberate exceptions are silenced
in the function itself, with a `-- @plpgsql_check_options:` comment or a pragma, and a reason.
"""

from __future__ import annotations

import sys

import psycopg

from harness.scratch import open_server
from harness.testing import connect

CHECK = """
select p.oid::regprocedure::text as function, c.lineno, c.level, c.message, c.detail, c.hint
from pg_catalog.pg_proc p
left join lateral (
    select t.tgrelid from pg_catalog.pg_trigger t where t.tgfoid = p.oid limit 1
) trg on true
cross join lateral public.plpgsql_check_function_tb(
    p.oid, coalesce(trg.tgrelid, 0),
    fatal_errors => false, other_warnings => true, performance_warnings => false,
    extra_warnings => true, security_warnings => true
) c
where p.pronamespace = 'public'::regnamespace
    and p.prolang = (select oid from pg_catalog.pg_language where lanname = 'plpgsql')
order by 1, 2
"""


def findings(url: str) -> list[dict]:
    with connect(url) as conn:
        conn.execute("create extension if not exists plpgsql_check")
        return conn.execute(CHECK).fetchall()


def main() -> int:
    with open_server() as server:
        name = server.create(template=server.migrated_template(), kind="lint")
        try:
            found = findings(server.url_for(name))
        except psycopg.errors.FeatureNotSupported as exc:
            print(f"plpgsql_check: skipped ({exc.diag.message_primary}); install "
                  "postgresql-15-plpgsql-check on the server", file=sys.stderr)
            return 0
        except psycopg.errors.UndefinedFile:
            print("plpgsql_check: skipped (not installed on the server); install "
                  "postgresql-15-plpgsql-check", file=sys.stderr)
            return 0
    for row in found:
        where = f" line {row['lineno']}" if row["lineno"] else ""
        extra = "".join(f" ({row[k]})" for k in ("detail", "hint") if row[k])
        print(f"{row['function']}{where}: {row['level']}: {row['message']}{extra}")
    if found:
        print(f"plpgsql_check: {len(found)} finding(s)", file=sys.stderr)
        return 1
    print("plpgsql_check: clean")
    return 0


if __name__ == "__main__":
    sys.exit(main())
