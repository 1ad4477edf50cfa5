"""`crm-sla export`: the engine as SQL for other deployment tools, built from db/migrations at run
time (one source of truth with `crm-sla migrate`).

Every exported script is self-contained and safe to run again: it creates yoyo's bookkeeping
(schema crm_sla_migrations, exactly the tables yoyo makes) and the migration support procedures
when missing, then applies, in order, only the migrations the database has not recorded, each in
a DO block that runs the migration's text with EXECUTE (as yoyo would, with search_path set to the
bookkeeping schema) and records it as yoyo does (`_yoyo_migration`, `_yoyo_log`). So whichever
tool installed a database, `crm-sla migrate` later applies nothing, and a file pushed again does
nothing. Last, where pg_cron is in the same database (Supabase) the script schedules the monitor
and the purges under the names `crm-sla migrate` uses (scheduling a name again updates it); where
it is not, a NOTICE says how.

`export supabase` writes one file per release (db/releases.toml: its newest migration and the
fixed timestamp of its file), `<timestamp>_crm_sla_<version>.sql`, then the unreleased migrations,
if any, in `<timestamp>_crm_sla_<newest migration id>.sql`, whose timestamp is the last release's
plus one second per number of its newest migration (so it sorts after every release file, and a
later unreleased export after an earlier one). `export sql` prints one script holding them all.
"""

from __future__ import annotations

import hashlib
import sys
import tomllib
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from yoyo import read_migrations

from harness import locks, schedule
from harness.errors import HarnessError
from harness.paths import DB_DIR, MIGRATIONS_DIR

RELEASES_FILE = DB_DIR / "releases.toml"
SUPPORT_SQL = DB_DIR / "support" / "saved_privileges.sql"
META_SCHEMA = "crm_sla_migrations"  # harness/migrate.py's
TIMESTAMP_FORMAT = "%Y%m%d%H%M%S"
OUTER_TAG = "$crm_sla_export$"
INNER_TAG = "$crm_sla_migration$"
DB_SENTINEL = "\x01crm_sla_database\x01"

# yoyo 9's internal schema, version 2 (yoyo/internalmigrations/v2.py and backends/base.py), in
# the schema `crm-sla migrate` gives it.
BOOKKEEPING_SQL = f"""\
create schema if not exists {META_SCHEMA};

create table if not exists {META_SCHEMA}._yoyo_migration (
    migration_hash varchar(64),
    migration_id varchar(255),
    applied_at_utc timestamp,
    primary key (migration_hash)
);

create table if not exists {META_SCHEMA}._yoyo_log (
    id varchar(36),
    migration_hash varchar(64),
    migration_id varchar(255),
    operation varchar(10),
    username varchar(255),
    hostname varchar(255),
    comment varchar(255),
    created_at_utc timestamp,
    primary key (id)
);

create table if not exists {META_SCHEMA}._yoyo_version (
    version int not null primary key,
    installed_at_utc timestamp
);

create table if not exists {META_SCHEMA}.yoyo_lock (
    locked int default 1,
    ctime timestamp,
    pid int not null,
    primary key (locked)
);

insert into {META_SCHEMA}._yoyo_version (version, installed_at_utc)
select 2, now() at time zone 'utc'
where not exists (select from {META_SCHEMA}._yoyo_version);
"""


@dataclass(frozen=True)
class Release:
    version: str
    newest_migration: str
    timestamp: str


@dataclass(frozen=True)
class Part:
    """One exported file: a release's migrations, or the unreleased ones."""
    filename: str
    title: str
    migrations: tuple[tuple[str, str], ...]  # (id, SQL)


def releases(path: Path = RELEASES_FILE) -> list[Release]:
    try:
        rows = tomllib.loads(path.read_text(encoding="utf-8"))["releases"]
        found = [Release(str(r["version"]), str(r["newest_migration"]), str(r["timestamp"]))
                 for r in rows]
    except (OSError, KeyError, TypeError, tomllib.TOMLDecodeError) as exc:
        raise HarnessError(f"cannot read the releases from {path}: {exc}") from None
    for r in found:
        try:
            datetime.strptime(r.timestamp, TIMESTAMP_FORMAT)
        except ValueError:
            raise HarnessError(f"{path}: release {r.version}'s timestamp {r.timestamp!r} is not "
                               "YYYYMMDDHHMMSS") from None
    return found


def migrations() -> list[tuple[str, str]]:
    """(id, SQL) of every migration, in the order `crm-sla migrate` applies them."""
    if not MIGRATIONS_DIR.is_dir():
        raise HarnessError(f"crm-sla's migrations are not at {MIGRATIONS_DIR}")
    found = []
    for m in read_migrations(str(MIGRATIONS_DIR)):
        path = Path(m.path)
        if path.suffix != ".sql":
            raise HarnessError(f"{path.name}: only SQL migrations can be exported")
        found.append((m.id, path.read_text(encoding="utf-8")))
    return found


def parts() -> list[Part]:
    """The files of `export supabase`, oldest first."""
    every = migrations()
    ids = [mid for mid, _ in every]
    out: list[Part] = []
    start = 0
    for release in releases():
        if release.newest_migration not in ids:
            raise HarnessError(f"release {release.version}'s newest migration "
                               f"{release.newest_migration} is not in {MIGRATIONS_DIR}")
        end = ids.index(release.newest_migration) + 1
        if end <= start:
            raise HarnessError(f"release {release.version} holds no migration after the "
                               "release before it (db/releases.toml is out of order)")
        out.append(Part(f"{release.timestamp}_crm_sla_{release.version}.sql",
                        f"crm-sla {release.version}", tuple(every[start:end])))
        start = end
    if start < len(every):
        newest = ids[-1]
        base = (datetime.strptime(out[-1].filename[:14], TIMESTAMP_FORMAT) if out
                else datetime(2000, 1, 1))
        stamp = (base + timedelta(seconds=int(newest.split("_")[0]))).strftime(TIMESTAMP_FORMAT)
        out.append(Part(f"{stamp}_crm_sla_{newest}.sql", f"crm-sla, unreleased up to {newest}",
                        tuple(every[start:])))
    return out


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _migration_block(mid: str, sql: str) -> str:
    for tag in (OUTER_TAG, INNER_TAG):
        if tag in sql:
            raise HarnessError(f"migration {mid} contains {tag}, the export's own quote")
    digest = hashlib.sha256(mid.encode("utf-8")).hexdigest()  # yoyo's migration_hash
    return f"""\
-- Migration {mid}
do {OUTER_TAG}
declare
    v_search_path text := pg_catalog.current_setting('search_path');
    v_check_bodies text := pg_catalog.current_setting('check_function_bodies');
begin
    if exists (
        select from {META_SCHEMA}._yoyo_migration where migration_hash = '{digest}'
    ) then
        return;
    end if;
    raise notice 'crm-sla: applying %', {_literal(mid)};
    -- yoyo runs migrations with search_path set to its schema: so does this.
    perform pg_catalog.set_config('search_path', '{META_SCHEMA}', true);
    -- Inside this block a migration cannot commit (a batched backfill runs in one go instead).
    perform pg_catalog.set_config('crm_sla.one_transaction', 'on', true);
    execute {INNER_TAG}
{sql.rstrip()}
{INNER_TAG};
    -- yoyo gives each migration a transaction of its own: what it set locally ends with it.
    perform pg_catalog.set_config('search_path', v_search_path, true);
    perform pg_catalog.set_config('check_function_bodies', v_check_bodies, true);
    insert into {META_SCHEMA}._yoyo_migration (migration_hash, migration_id, applied_at_utc)
    values ('{digest}', {_literal(mid)}, pg_catalog.clock_timestamp() at time zone 'utc');
    insert into {META_SCHEMA}._yoyo_log (
        id, migration_hash, migration_id, operation, username, hostname, comment, created_at_utc
    ) values (
        pg_catalog.gen_random_uuid()::text, '{digest}', {_literal(mid)}, 'apply', current_user,
        coalesce(pg_catalog.inet_server_addr()::text, 'localhost'), 'crm-sla export',
        pg_catalog.clock_timestamp() at time zone 'utc'
    );
end
{OUTER_TAG};
"""


def _schedule_block() -> str:
    loop_every, loop_command = schedule.MINUTE_LOOP_PLAN
    pass_every, pass_command = schedule.MINUTE_PASS_PLAN
    monitor = _literal(schedule.job_name(DB_SENTINEL))
    purge = _literal(schedule.purge_job_name(DB_SENTINEL))
    outbox = _literal(schedule.outbox_purge_job_name(DB_SENTINEL))
    purge_command = _literal(schedule.purge_command(DB_SENTINEL, schedule.DEFAULT_KEEP_DAYS))
    sentinel = _literal(DB_SENTINEL)
    return f"""\
-- The monitor and the purges, as `crm-sla migrate` schedules them (harness/schedule.py).
do {OUTER_TAG}
declare
    v_db text := pg_catalog.current_database();
    v_version text;
    v_plan_every text := {_literal(loop_every)};
    v_plan_command text := {_literal(loop_command)};
begin
    select e.extversion into v_version from pg_catalog.pg_extension as e
    where e.extname = 'pg_cron';
    if v_version is null then
        raise notice 'crm-sla: pg_cron is not in database %, so the monitor is not scheduled. '
            'Where pg_cron lives (cron.database_name), run: select cron.schedule_in_database(%, '
            '%, %, %); or run `crm-sla migrate` (it schedules it), or `crm-sla monitor`, or call '
            'public.process_sla_timers() every few seconds from any scheduler.',
            v_db, pg_catalog.quote_literal(replace({monitor}, {sentinel}, v_db)),
            pg_catalog.quote_literal(v_plan_every), pg_catalog.quote_literal(v_plan_command),
            pg_catalog.quote_literal(v_db);
        return;
    end if;
    -- pg_cron 1.4 in background-worker mode cannot run a long job beside others: one pass a
    -- minute there.
    if pg_catalog.string_to_array(pg_catalog.split_part(v_version, '-', 1), '.')::int [] < '{{1,5}}'
        and pg_catalog.current_setting('cron.use_background_workers', true) = 'on' then
        v_plan_every := {_literal(pass_every)};
        v_plan_command := {_literal(pass_command)};
    end if;
    perform cron.schedule(replace({monitor}, {sentinel}, v_db), v_plan_every, v_plan_command);
    perform cron.schedule(
        replace({purge}, {sentinel}, v_db), {_literal(schedule.PURGE_SCHEDULE)},
        replace({purge_command}, {sentinel}, replace(v_db, '''', ''''''))
    );
    if exists (
        select from pg_catalog.pg_proc as p
        where p.pronamespace = 'public'::regnamespace and p.proname = 'crm_sla_purge_outbox'
    ) then
        perform cron.schedule(
            replace({outbox}, {sentinel}, v_db), {_literal(schedule.PURGE_SCHEDULE)},
            {_literal(schedule.OUTBOX_PURGE_COMMAND)}
        );
    end if;
    raise notice 'crm-sla: pg_cron job % runs `%` on ''%''', replace({monitor}, {sentinel}, v_db),
        v_plan_command, v_plan_every;
end
{OUTER_TAG};
"""


def script(part: Part) -> str:
    """A whole file: bookkeeping, support procedures, the part's migrations, the schedule."""
    ids = [mid for mid, _ in part.migrations]
    head = f"""\
-- {part.title}: migrations {ids[0]} .. {ids[-1]}.
-- Generated by `crm-sla export` from crm-sla's db/migrations; do not edit (export again).
-- Applies, in order, only the migrations this database has not recorded in
-- {META_SCHEMA}._yoyo_migration, and records them there as `crm-sla migrate` does: safe to run
-- again, and `crm-sla migrate` afterwards applies nothing.

-- One migrator at a time (the lock `crm-sla migrate` takes).
select pg_catalog.pg_advisory_lock({locks.key_sql('migrate')});

"""
    support = SUPPORT_SQL.read_text(encoding="utf-8").rstrip() + "\n"
    body = "\n".join(_migration_block(mid, sql) for mid, sql in part.migrations)
    tail = f"\nselect pg_catalog.pg_advisory_unlock({locks.key_sql('migrate')});\n"
    return "\n".join([head + BOOKKEEPING_SQL, support, body, _schedule_block()]) + tail


def sql_script() -> str:
    """`export sql`: every migration in one script."""
    every = tuple(migrations())
    newest = every[-1][0]
    names = [r.version for r in releases() if r.newest_migration == newest]
    title = f"crm-sla {names[0]}" if names else f"crm-sla, unreleased up to {newest}"
    return script(Part("", title, every))


def write_supabase(folder: Path, report=lambda line: print(line, file=sys.stderr)) -> list[Path]:
    """Write the Supabase migration files into `folder`; refuses to replace a file of the same
    name with different content (a released file never changes). Returns the paths written."""
    files = [(folder / p.filename, script(p)) for p in parts()]
    for path, text in files:
        if path.exists() and path.read_text(encoding="utf-8") != text:
            raise HarnessError(
                f"{path} exists with other content: a release's file never changes, so this "
                "folder holds another crm-sla's export (or an edited one); move it away first")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for path, text in files:
            if path.exists():
                report(f"unchanged {path}")
                continue
            path.write_text(text, encoding="utf-8")
            report(f"wrote {path}")
    except OSError as exc:
        raise HarnessError(f"cannot write to {folder}: {exc.strerror}") from None
    return [path for path, _ in files]
