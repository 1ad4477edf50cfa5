"""Applying and rolling back the yoyo migrations in db/migrations.

yoyo's bookkeeping tables live in their own schema (`crm_sla_migrations`), never in `public`, where
Supabase's default privileges would hand them to the API roles. Two migrators at once serialise on
a session advisory lock, so one applies and the other then finds nothing pending.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import psycopg
from yoyo import get_backend, read_migrations
from yoyo.migrations import MigrationList

from harness import locks
from harness.errors import HarnessError
from harness.paths import MIGRATIONS_DIR
from harness.target import connect, describe_db_error

META_SCHEMA = "crm_sla_migrations"
SUPPORT_SQL = MIGRATIONS_DIR.parent / "support" / "saved_privileges.sql"


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


@contextlib.contextmanager
def _exclusive(url: str) -> Iterator[psycopg.Connection]:
    conn = connect(url)
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
        conn.execute(f"select pg_advisory_lock({locks.key_sql('migrate')})")
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


def status(url: str) -> tuple[list[str], list[str]]:
    """(applied, pending) migration ids."""
    with _exclusive(url):
        backend = _backend(url)
        migrations = _migrations()
        pending = {m.id for m in backend.to_apply(migrations)}
        applied = [m.id for m in migrations if m.id not in pending]
        return applied, [m.id for m in migrations if m.id in pending]


def apply(url: str, report=print, upto: str | None = None) -> list[str]:
    """Apply what is pending (up to and including `upto`); returns the ids applied, in order."""
    with _exclusive(url):
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


def rollback(url: str, count: int = 1, report=print) -> list[str]:
    """Roll back the latest `count` applied migrations; returns the ids rolled back."""
    with _exclusive(url):
        backend = _backend(url)
        targets = backend.to_rollback(_migrations())[:count]
        done: list[str] = []
        with backend.lock(timeout=600):
            for migration in targets:
                report(f"rolling back {migration.id} ...")
                _run(f"rollback of {migration.id}",
                     lambda m=migration: backend.rollback_migrations(MigrationList([m])))
                done.append(migration.id)
        return done
