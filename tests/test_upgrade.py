"""Upgrades keep history: for every release in CHANGELOG.md, a database migrated by that release
(checked out from this repository's own history with `git worktree`) and filled with leads in
every stage is upgraded by the current tree to exactly a fresh install's schema, keeps its rows
and open timers, lets the monitor go on with them, and rolls back to exactly the release's own
fresh install."""

from __future__ import annotations

import difflib
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from harness import migrate
from harness.errors import HarnessError
from harness.paths import REPO_ROOT
from harness.testing import World, connect
from tests.schema_snapshot import dump

RELEASE_LINE = re.compile(r"^## \[(\d+\.\d+\.\d+)\]")
RELEASE_COMMIT = re.compile(r"^Cut from commit `([0-9a-f]{40})`")

# What a release's data looks like, table by table, compared before and after the upgrade.
TABLES = {
    "crm_agents": "id",
    "crm_leads": "id",
    "crm_lead_reassignments": "id",
    "crm_lead_sla_events": "id",
    "crm_sla_settings": "id",
    "crm_sla_clock": "id",
}


@dataclass(frozen=True)
class Release:
    version: str
    commit: str


def releases(changelog: Path = REPO_ROOT / "CHANGELOG.md") -> list[Release]:
    """Every `## [x.y.z]` section of the changelog with the commit it names."""
    found: list[Release] = []
    version = None
    for line in changelog.read_text(encoding="utf-8").splitlines():
        if m := RELEASE_LINE.match(line):
            version = m.group(1)
        elif version and (m := RELEASE_COMMIT.match(line)):
            found.append(Release(version, m.group(1)))
            version = None
    return found


def test_the_changelog_names_each_release_and_its_commit():
    listed = releases()
    assert Release("0.1.0", "9e811ea4cb2403aacea69648a528bcf6cbe7e8a9") in listed
    sections = re.findall(r"^## \[(\d+\.\d+\.\d+)\]", (REPO_ROOT / "CHANGELOG.md").read_text(),
                          re.MULTILINE)
    assert sorted(sections) == sorted(r.version for r in listed), "a release without its commit"


@pytest.fixture(scope="module", params=releases(), ids=lambda r: r.version)
def release_tree(request, tmp_path_factory) -> Iterator[tuple[Release, Path]]:
    """The release checked out beside this tree (removed again afterwards)."""
    release: Release = request.param
    where = tmp_path_factory.mktemp(f"release-{release.version}") / "tree"
    git = ["git", "-C", str(REPO_ROOT)]
    made = subprocess.run([*git, "worktree", "add", "--detach", str(where), release.commit],
                          capture_output=True, text=True)
    if made.returncode != 0:
        pytest.fail(f"cannot check out release {release.version} ({release.commit}) from this "
                    f"repository's history: {made.stderr.strip()} (a shallow clone? fetch the "
                    "full history)")
    try:
        yield release, where
    finally:
        subprocess.run([*git, "worktree", "remove", "--force", str(where)], capture_output=True)


def migrate_with(tree: Path, url: str) -> None:
    """`crm-sla migrate --no-schedule` as that tree's own harness runs it."""
    env = {**os.environ, "DATABASE_URL": url, "PYTHONPATH": str(tree)}
    done = subprocess.run([sys.executable, "-m", "harness.cli", "migrate", "--no-schedule"],
                          cwd=tree, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def release_ids(tree: Path) -> list[str]:
    names = sorted(p.name for p in (tree / "db" / "migrations").iterdir())
    return sorted({re.sub(r"(\.rollback)?\.(sql|py)$", "", n) for n in names
                   if n.endswith((".sql", ".py")) and not n.startswith("__")})


def fill(world: World) -> dict[str, object]:
    """Leads in every stage (claim and contact timers running, done, reassigned by breach and by
    hand, escalated), audit rows, SLA events, changed settings and a moved SLA clock."""
    ann, bob, cid = world.agents("Ann", "Bob", "Cid")
    world.agent("Ada", role="admin")
    world.settings(claim_window="7 minutes", contact_window="6 minutes", max_reassignments=1,
                   monitor_batch_size=500)
    world.lead(ann)  # reassigned, then escalated
    manual = world.lead(bob)
    done = world.lead(bob)
    world.db.execute("update public.crm_leads set lead_claimed = true where id = %s", (done,))
    world.db.execute("update public.crm_leads set first_action_completed = true where id = %s",
                     (done,))
    world.db.execute("select public.reassign_lead(%s, %s, 'before the upgrade')", (manual, cid))
    world.travel("8 minutes")
    world.monitor()  # escalating and manual: reassigned (unclaimed)
    world.travel("8 minutes")
    world.monitor()  # escalating (and manual): escalated to Ada
    claim_open = world.lead(cid)
    contact_open = world.lead(ann)
    world.db.execute("update public.crm_leads set lead_claimed = true where id = %s",
                     (contact_open,))
    stages = world.db.execute(
        "select stage, count(*) as n from public.crm_lead_sla_timers group by stage").fetchall()
    assert {r["stage"] for r in stages} >= {"claim", "contact", "done", "escalated"}
    assert world.scalar("select count(*) from public.crm_lead_reassignments") >= 3
    return {"claim_open": claim_open, "contact_open": contact_open}


def assert_same_schema(url: str, expected_url: str, what: str) -> None:
    got, expected = dump(url), dump(expected_url)
    if got != expected:
        diff = list(difflib.unified_diff(expected.splitlines(), got.splitlines(), "expected",
                                         what, lineterm="", n=1))
        pytest.fail(f"{what} differs from the expected schema:\n" + "\n".join(diff[:80]))


def snapshot(world: World) -> dict[str, list[dict]]:
    return {
        table: world.db.execute(f"select * from public.{table} order by {key}").fetchall()
        for table, key in TABLES.items()
    }


def test_upgrade_from_release_and_roll_back(release_tree, fresh_db):
    release, tree = release_tree
    url, fresh_current, fresh_release = fresh_db(), fresh_db(), fresh_db()

    migrate_with(tree, url)
    migrate_with(tree, fresh_release)
    world = World(url)
    try:
        leads = fill(world)
        before = snapshot(world)

        # Right after a release is cut it is the current tree: nothing to apply, and its schema
        # must still be a fresh install's.
        migrate.apply(url, report=lambda _m: None)
        migrate.apply(fresh_current, report=lambda _m: None)
        assert_same_schema(url, fresh_current, f"upgraded from {release.version}")

        after = snapshot(world)
        for table, rows in before.items():
            assert len(after[table]) == len(rows), table
            for old, new in zip(rows, after[table], strict=True):
                assert {k: new[k] for k in old} == old, f"{table} row changed by the upgrade"

        # The monitor goes on with the timers the release started.
        world.travel("8 minutes")
        world.monitor()
        for lead in (leads["claim_open"], leads["contact_open"]):
            row = world.row(lead)
            assert row["reassignment_count"] == 1
            assert row["reassignment_reason"] in ("unclaimed", "no_contact")
            assert len(world.audit(lead)) == 1
    finally:
        world.close()

    extra = len(migrate.pending_ids(set())) - len(release_ids(tree))
    with connect(fresh_release) as conn:
        release_has_outbox = conn.execute(
            "select to_regclass('public.crm_sla_outbox') is not null as t").fetchone()["t"]
    if extra and not release_has_outbox:
        # The upgraded world wrote events: rolling back to a release without the outbox drops
        # it, which the rollback refuses, naming it, until forced.
        with pytest.raises(HarnessError,
                           match=r"refused: .*public\.crm_sla_outbox \(\d+ rows?\)"):
            migrate.rollback(url, count=extra, report=lambda _m: None)
        assert migrate.status(url)[1] == []
    if extra:
        migrate.rollback(url, count=extra, report=lambda _m: None, force=True)
    assert_same_schema(url, fresh_release, f"rolled back to {release.version}")
