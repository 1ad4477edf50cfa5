"""Function bodies are migration history: every file in db/functions is what the migrations
install, `crm-sla migration` freezes an edit into a new migration, and its rollback restores the
previous body on a real database."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from harness import function_history, migrate
from harness.errors import HarnessError
from harness.paths import FUNCTIONS_DIR, MIGRATIONS_DIR
from harness.testing import connect


def test_every_function_file_is_what_the_migrations_install():
    found = function_history.drift()
    assert not found, function_history.describe_drift(found)


def test_every_frozen_object_can_be_dropped():
    for name, file in function_history.current_files().items():
        assert file.drop_statement().startswith(("drop function", "drop procedure",
                                                 "drop trigger")), name


@pytest.fixture
def tree(tmp_path: Path) -> tuple[Path, Path]:
    """A copy of db/functions and db/migrations to edit."""
    functions, migrations = tmp_path / "functions", tmp_path / "migrations"
    shutil.copytree(FUNCTIONS_DIR, functions)
    shutil.copytree(MIGRATIONS_DIR, migrations)
    return functions, migrations


def _edit_sla_now(functions: Path) -> str:
    path = functions / "sla_now.sql"
    text = path.read_text().replace(
        "'The SLA clock", "'The SLA clock (edited)", 1)
    assert "(edited)" in text
    path.write_text(text)
    return text


def test_an_edit_without_a_migration_is_named_with_the_command(tree):
    functions, migrations = tree
    _edit_sla_now(functions)
    found = function_history.drift(functions, migrations)
    assert [(d.file, d.change, d.since) for d in found] == [
        ("sla_now.sql", "changed", "0004_sla_engine_functions")]
    message = function_history.describe_drift(found)
    assert "db/functions/sla_now.sql: changed since 0004_sla_engine_functions" in message
    assert "make migration NAME=" in message


def test_generated_migration_freezes_new_changed_and_removed_files(tree):
    functions, migrations = tree
    edited = _edit_sla_now(functions)
    (functions / "crm_sla_example.sql").write_text(
        "create or replace function public.crm_sla_example()\nreturns int\nlanguage sql\n"
        "as $$ select 1 $$;\n")
    removed = (functions / "trg_crm_leads_410_announce_progress.sql")
    removed_text = removed.read_text()
    removed.unlink()

    up, down = function_history.write_migration("example_change", functions=functions,
                                                migrations=migrations)
    assert up.name.endswith("_example_change.sql") and down.name.endswith(".rollback.sql")
    assert function_history.drift(functions, migrations) == []

    up_blocks = {name: (mark, text) for mark, name, text in
                 function_history.parse_blocks(up.read_text())}
    assert up_blocks["sla_now.sql"] == ("object", edited)
    assert up_blocks["crm_sla_example.sql"][0] == "object"
    assert up_blocks["trg_crm_leads_410_announce_progress.sql"] == (
        "drop", "drop trigger if exists crm_leads_410_announce_progress on public.crm_leads;\n"
        "drop function if exists public.crm_leads_announce_progress;\n")
    down_blocks = {name: (mark, text) for mark, name, text in
                   function_history.parse_blocks(down.read_text())}
    assert down_blocks["sla_now.sql"][1] != edited
    assert "(edited)" not in down_blocks["sla_now.sql"][1]
    assert down_blocks["crm_sla_example.sql"] == (
        "drop", "drop function if exists public.crm_sla_example;\n")
    assert down_blocks["trg_crm_leads_410_announce_progress.sql"] == ("object", removed_text)
    latest = [p.name for p in migrations.glob("*.sql")
              if not p.name.endswith(".rollback.sql") and p != up]
    assert f"-- depends: {max(latest).removesuffix('.sql')}\n" in up.read_text()

    with pytest.raises(HarnessError, match="nothing to freeze"):
        function_history.write_migration("again", functions=functions, migrations=migrations)


def test_files_merged_into_one_drop_before_the_new_one_creates_their_triggers(tree):
    """Two trigger files whose functions become one shared function: the migration drops the old
    files' triggers and functions first, then creates the shared function and the triggers again
    under their names (otherwise the drops would remove the triggers just created)."""
    functions, migrations = tree
    old = ["trg_crm_leads_300_sla_events.sql", "trg_crm_leads_410_announce_progress.sql"]
    texts = [(functions / name).read_text() for name in old]
    for name in old:
        (functions / name).unlink()
    merged = functions / "trg_crm_leads_merged.sql"
    merged.write_text("\n".join(texts))
    up, down = function_history.write_migration("merged", functions=functions,
                                                migrations=migrations)
    assert [(mark, name) for mark, name, _ in function_history.parse_blocks(up.read_text())] == [
        ("drop", old[0]), ("drop", old[1]), ("object", merged.name)]
    [(mark, name, text), *restored] = function_history.parse_blocks(down.read_text())
    assert (mark, name) == ("drop", merged.name)
    assert text.count("drop trigger if exists") == 2  # both tables' triggers, then the functions
    assert sorted(name for _, name, _ in restored) == old


def test_bad_migration_names_and_numbers_are_refused(tree):
    functions, migrations = tree
    _edit_sla_now(functions)
    with pytest.raises(HarnessError, match="lowercase letters"):
        function_history.write_migration("Bad Name", functions=functions, migrations=migrations)
    latest = function_history.migration_ids(migrations)[-1]
    for number in ("0009", latest[:4]):  # below the latest, and the latest's own number
        with pytest.raises(HarnessError, match=f"not above the latest migration, {latest}"):
            function_history.write_migration("too_early", number=number, functions=functions,
                                             migrations=migrations)
    up, _down = function_history.write_migration("later", number="9100", functions=functions,
                                                 migrations=migrations)
    assert up.name == "9100_later.sql"
    assert f"-- depends: {latest}\n" in up.read_text()


def _body(url: str, signature: str) -> str:
    with connect(url) as conn:
        return conn.execute("select pg_get_functiondef(%s::regprocedure) as d",
                            (signature,)).fetchone()["d"]


def test_generated_migration_upgrades_and_rolls_back_a_real_database(tree, fresh_db,
                                                                     monkeypatch):
    functions, migrations = tree
    url = fresh_db()
    monkeypatch.setattr(migrate, "MIGRATIONS_DIR", migrations)
    migrate.apply(url, report=lambda _m: None)
    before = _body(url, "public.sla_now()")

    _edit_sla_now(functions)
    (functions / "crm_sla_example.sql").write_text(
        "create or replace function public.crm_sla_example()\nreturns int\nlanguage sql\n"
        "as $$ select 1 $$;\n")
    up, _down = function_history.write_migration("example_change", functions=functions,
                                                 migrations=migrations)
    assert migrate.apply(url, report=lambda _m: None) == [up.name.removesuffix(".sql")]
    with connect(url) as conn:
        assert "(edited)" in conn.execute(
            "select obj_description('public.sla_now()'::regprocedure) as d").fetchone()["d"]
        assert conn.execute("select public.crm_sla_example() as v").fetchone()["v"] == 1

    migrate.rollback(url, report=lambda _m: None)
    assert _body(url, "public.sla_now()") == before
    with connect(url) as conn:
        assert conn.execute("select to_regproc('public.crm_sla_example') as p"
                            ).fetchone()["p"] is None


def test_each_rollback_restores_exactly_what_its_migration_replaced():
    """Two branches that froze the same file would leave a rollback restoring the wrong body:
    each rollback must restore the copies frozen before its migration (and drop what it added)."""
    for up in sorted(MIGRATIONS_DIR.glob("*.sql")):
        if up.name.endswith(".rollback.sql"):
            continue
        blocks = function_history.parse_blocks(up.read_text())
        if not blocks:
            continue
        migration_id = up.name.removesuffix(".sql")
        depends = re.search(r"^-- depends: (\S+)", up.read_text(), re.MULTILINE)
        assert depends and depends.group(1) < migration_id, f"{up.name} depends on a later one"
        before = function_history.frozen_state(before=migration_id)
        down = up.with_name(f"{migration_id}.rollback.sql")
        restored = {name: (mark, text) for mark, name, text in
                    function_history.parse_blocks(down.read_text())}
        for _mark, name, _text in blocks:
            previous = before.get(name, (None, None))[1]
            mark, text = restored[name]
            if previous is None:
                assert mark == "drop", f"{up.name}: its rollback should drop {name}"
            else:
                assert (mark, text) == ("object", previous.text), (
                    f"{up.name}: its rollback does not restore {name} as frozen before it; "
                    "regenerate the migration (delete it, then make migration)")
