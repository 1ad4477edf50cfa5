"""Applying and rolling back the yoyo migrations in db/migrations.

yoyo's bookkeeping tables live in their own schema (`crm_sla_migrations`), never in `public`, where
Supabase's default privileges would hand them to the API roles. Two migrators at once serialise on
a session advisory lock, so one applies and the other then finds nothing pending; a migrator waits
for that lock at most `lock_timeout` seconds, then names the session holding it.

A rollback reads, before it runs, which tables the rollback files of the migrations it would undo
drop (`drop table` statements): it refuses when one of them holds rows, unless forced.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from dataclasses import dataclass

import psycopg
import psycopg.sql
from yoyo import get_backend, read_migrations
from yoyo.migrations import MigrationList

from harness import locks
from harness.errors import HarnessError
from harness.paths import MIGRATIONS_DIR
from harness.target import connect, describe_db_error

META_SCHEMA = "crm_sla_migrations"
SUPPORT_SQL = MIGRATIONS_DIR.parent / "support" / "saved_privileges.sql"
DEFAULT_LOCK_TIMEOUT = 60.0
# Rows the migrations write themselves (and write again when applied again): a table holding
# only these holds nothing a rollback could lose. Singletons: the settings, the SLA clock, the
# routing lock and the monitor pause; and the system actor among the agents.
ENGINE_ROWS = {
    "public.crm_sla_settings": "true",
    "public.crm_sla_clock": "true",
    "public.crm_sla_routing_lock": "true",
    "public.crm_sla_monitor_pause": "true",
    "public.crm_agents": "id = '00000000-0000-0000-0000-000000000000'",
}
# 0001_baseline.rollback.sql drops these only where the baseline created them (a database that
# had its own CRM keeps them): the baseline marks what it creates in the object's comment.
BASELINE_MARKER = "(crm-sla baseline)"
BASELINE_CONDITIONAL = {("public", "crm_leads"), ("public", "crm_agents")}
_IDENT = r'(?:"(?:[^"]|"")+"|[a-z_][a-z0-9_$]*)'
_DROP_TABLE = re.compile(
    rf"\bdrop\s+table\s+(?:if\s+exists\s+)?((?:{_IDENT}(?:\s*\.\s*{_IDENT})?\s*,\s*)*"
    rf"{_IDENT}(?:\s*\.\s*{_IDENT})?)", re.IGNORECASE)
_NAME = re.compile(rf"({_IDENT})(?:\s*\.\s*({_IDENT}))?", re.IGNORECASE)


def _yoyo_url(url: str) -> str:
    info = psycopg.conninfo.conninfo_to_dict(url)
    host = info.pop("host", None) or "127.0.0.1"
    port = info.pop("port", None) or "5432"
    user = info.pop("user", None) or ""
    password = info.pop("password", None)
    dbname = info.pop("dbname", None) or user
    from urllib.parse import quote, urlencode

    cred = quote(user, safe="")
    if password:
        cred += ":" + quote(password, safe="")
    netloc = f"{cred}@" if cred else ""
    host_part = f"[{host}]" if ":" in host and not host.startswith("/") else host
    query = dict(info, schema=META_SCHEMA)
    if host.startswith("/"):
        # A socket folder: yoyo cannot put a path in the host part, so pass it as a parameter.
        query["host"] = host
        host_part = ""
    return f"postgresql+psycopg://{netloc}{host_part}:{port}/{quote(dbname)}?{urlencode(query)}"


def _unquote(ident: str) -> str:
    return ident[1:-1].replace('""', '"') if ident.startswith('"') else ident.lower()


def dropped_tables(rollback_sql: str) -> list[tuple[str, str]]:
    """The (schema, table) pairs a rollback script's `drop table` statements name, in order
    (an unqualified name is in public, where the migrations put their tables)."""
    text = re.sub(r"/\*.*?\*/", " ", rollback_sql, flags=re.DOTALL)
    text = re.sub(r"--[^\n]*", " ", text)
    found: list[tuple[str, str]] = []
    for statement in _DROP_TABLE.finditer(text):
        for name in _NAME.finditer(statement.group(1)):
            first, second = name.group(1), name.group(2)
            pair = (_unquote(first), _unquote(second)) if second else ("public", _unquote(first))
            if pair not in found:
                found.append(pair)
    return found


def _holder(conn: psycopg.Connection) -> str:
    """Who holds the migrate lock, from pg_locks and pg_stat_activity, in a few words."""
    row = conn.execute(
        f"""
        with k as (select {locks.key_sql('migrate')} as key)
        select a.pid, a.application_name, a.client_addr::text, a.usename,
            extract(epoch from now() - a.backend_start)::int as seconds
        from pg_catalog.pg_locks as l
        cross join k
        inner join pg_catalog.pg_stat_activity as a on l.pid = a.pid
        where l.locktype = 'advisory' and l.granted and l.objsubid = 1
            and l.database = (select oid from pg_catalog.pg_database
                              where datname = pg_catalog.current_database())
            and l.classid = ((k.key >> 32) & 4294967295)::oid
            and l.objid = (k.key & 4294967295)::oid
        """).fetchone()
    if row is None:
        return "a session that has since let go"
    pid, app, addr, user, seconds = row
    return (f"backend pid {pid} (application_name {app or '(none)'!r}, user {user}, "
            f"from {addr or 'the local socket'}, connected {seconds} s ago)")


@contextlib.contextmanager
def _exclusive(url: str, lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
               then: str = "or pass a longer --lock-timeout") -> Iterator[psycopg.Connection]:
    conn = connect(url, application_name="crm-sla migrate")
    try:
        try:
            conn.execute(f"create schema if not exists {META_SCHEMA}")
        except psycopg.errors.InsufficientPrivilege:
            raise HarnessError(
                f"the user in DATABASE_URL may not create schema {META_SCHEMA}: connect as the "
                "database owner (on Supabase, the postgres user), or grant it CREATE on the "
                "database"
            ) from None
        except psycopg.errors.UniqueViolation:
            pass  # another migrator created it at the same moment
        # lock_timeout bounds the wait for the advisory lock like any other lock wait.
        conn.execute("select pg_catalog.set_config('lock_timeout', %s, false)",
                     (f"{max(int(lock_timeout * 1000), 1)}ms",))
        try:
            conn.execute(f"select pg_advisory_lock({locks.key_sql('migrate')})")
        except psycopg.errors.LockNotAvailable:
            raise HarnessError(
                f"another migrator has held the migration lock for the last {lock_timeout:g} s: "
                f"{_holder(conn)}; wait for it to finish, or end that session "
                f"(select pg_terminate_backend(PID)), {then}"
            ) from None
        conn.execute("reset lock_timeout")
        # What migrations use to save and restore grants they change (db/support).
        conn.execute(SUPPORT_SQL.read_text(encoding="utf-8"))
        # Under our lock no other crm-sla migrator runs, so a yoyo lock row is a crashed one's.
        if conn.execute(f"select to_regclass('{META_SCHEMA}.yoyo_lock')").fetchone()[0]:
            conn.execute(f"delete from {META_SCHEMA}.yoyo_lock")
        yield conn
    finally:
        conn.close()


def _backend(url: str):
    try:
        return get_backend(_yoyo_url(url), migration_table="_yoyo_migration")
    except psycopg.Error as exc:
        raise HarnessError(f"cannot open the migration log: {describe_db_error(exc)}") from None


def _migrations():
    if not MIGRATIONS_DIR.is_dir():
        # The SQL lives in the repository's db/, beside the harness package, not inside it.
        raise HarnessError(
            f"crm-sla's migrations are not at {MIGRATIONS_DIR}: install crm-sla from a checkout "
            "of its repository with `pip install -e path/to/crm-sla`"
        )
    return read_migrations(str(MIGRATIONS_DIR))


def pending_ids(applied: set[str]) -> list[str]:
    """The ids of this checkout's migrations that are not in `applied`, in order."""
    return [m.id for m in _migrations() if m.id not in applied]


def _run(action: str, fn) -> None:
    try:
        fn()
    except psycopg.errors.InsufficientPrivilege as exc:
        raise HarnessError(
            f"{action} failed: {describe_db_error(exc)} Connect as the owner of the CRM tables "
            "(on Supabase, the postgres user). Nothing from the failed migration was kept."
        ) from None
    except psycopg.Error as exc:
        raise HarnessError(
            f"{action} failed: {describe_db_error(exc)} Nothing from the failed migration was "
            "kept; fix the cause and run it again."
        ) from None


def status(url: str, lock_timeout: float = DEFAULT_LOCK_TIMEOUT) -> tuple[list[str], list[str]]:
    """(applied, pending) migration ids, read under the migration lock (waiting at most
    `lock_timeout` seconds for a running migrator)."""
    with _exclusive(url, lock_timeout, then="or look again when it is done"):
        backend = _backend(url)
        migrations = _migrations()
        pending = {m.id for m in backend.to_apply(migrations)}
        applied = [m.id for m in migrations if m.id not in pending]
        return applied, [m.id for m in migrations if m.id in pending]


def apply(url: str, report=print, upto: str | None = None,
          lock_timeout: float = DEFAULT_LOCK_TIMEOUT) -> list[str]:
    """Apply what is pending (up to and including `upto`); returns the ids applied, in order."""
    with _exclusive(url, lock_timeout):
        backend = _backend(url)
        migrations = _migrations()
        if upto is not None:
            ids = [m.id for m in migrations]
            if upto not in ids:
                raise HarnessError(f"no migration {upto!r}; known: {', '.join(ids)}")
            migrations = migrations.filter(lambda m: ids.index(m.id) <= ids.index(upto))
        pending = backend.to_apply(migrations)
        done: list[str] = []
        with backend.lock(timeout=600):
            for migration in pending:
                report(f"applying {migration.id} ...")
                _run(f"migration {migration.id}",
                     lambda m=migration: backend.apply_migrations(MigrationList([m])))
                done.append(migration.id)
        return done


@dataclass(frozen=True)
class RollbackPlan:
    """What a rollback would undo: the migration ids, newest first, and the tables their
    rollback files drop that hold rows (other than ENGINE_ROWS), with their row counts."""

    ids: list[str]
    tables_with_rows: dict[str, int]

    def describe_ids(self) -> str:
        if len(self.ids) == 1:
            return self.ids[0]
        return f"{len(self.ids)} migrations ({self.ids[0]} back to {self.ids[-1]})"

    def describe_tables(self) -> str:
        return ", ".join(f"{name} ({rows} row{'s' if rows != 1 else ''})"
                         for name, rows in self.tables_with_rows.items())


def _drops(conn: psycopg.Connection, schema: str, table: str) -> bool:
    """Whether the table exists and its rollback would drop it: the baseline's rollback drops
    crm_leads and crm_agents only where it created them (its marker in their comment)."""
    name = psycopg.sql.Identifier(schema, table).as_string(conn)
    row = conn.execute("select to_regclass(%s) is not null, "
                       "coalesce(obj_description(to_regclass(%s), 'pg_class'), '')",
                       (name, name)).fetchone()
    if (schema, table) in BASELINE_CONDITIONAL:
        return row[0] and BASELINE_MARKER in row[1]
    return row[0]


def _tables_with_rows(conn: psycopg.Connection, ids: list[str]) -> dict[str, int]:
    dropped: list[tuple[str, str]] = []
    for migration_id in ids:
        script = MIGRATIONS_DIR / f"{migration_id}.rollback.sql"
        if script.exists():
            dropped += [t for t in dropped_tables(script.read_text(encoding="utf-8"))
                        if t not in dropped]
    out: dict[str, int] = {}
    for schema, table in dropped:
        if not _drops(conn, schema, table):
            continue
        keep = ENGINE_ROWS.get(f"{schema}.{table}", "false")
        rows = conn.execute(psycopg.sql.SQL("select count(*) from {} where not ({})").format(
            psycopg.sql.Identifier(schema, table), psycopg.sql.SQL(keep))).fetchone()[0]
        if rows:
            out[f"{schema}.{table}"] = rows
    return out


def _plan(conn: psycopg.Connection, backend, count: int) -> tuple[list, RollbackPlan]:
    if count < 1:
        raise HarnessError(f"--count must be at least 1, not {count}")
    targets = backend.to_rollback(_migrations())[:count]
    ids = [m.id for m in targets]
    return targets, RollbackPlan(ids, _tables_with_rows(conn, ids))


def plan_rollback(url: str, count: int = 1,
                  lock_timeout: float = DEFAULT_LOCK_TIMEOUT) -> RollbackPlan:
    """What `rollback` with the same count would undo and drop; changes nothing."""
    with _exclusive(url, lock_timeout) as conn:
        return _plan(conn, _backend(url), count)[1]


def rollback(url: str, count: int = 1, report=print, force: bool = False,
             lock_timeout: float = DEFAULT_LOCK_TIMEOUT) -> list[str]:
    """Roll back the latest `count` applied migrations; returns the ids rolled back. Refuses,
    before undoing anything, when that would drop a table holding rows, unless `force`."""
    with _exclusive(url, lock_timeout) as conn:
        backend = _backend(url)
        targets, plan = _plan(conn, backend, count)
        if plan.tables_with_rows and not force:
            raise HarnessError(
                f"rollback refused: undoing {plan.describe_ids()} would drop tables holding "
                f"rows: {plan.describe_tables()}; back them up, then pass --force to drop them "
                "(--dry-run lists what a rollback would undo)")
        done: list[str] = []
        with backend.lock(timeout=600):
            for migration in targets:
                report(f"rolling back {migration.id} ...")
                _run(f"rollback of {migration.id}",
                     lambda m=migration: backend.rollback_migrations(MigrationList([m])))
                done.append(migration.id)
        return done
