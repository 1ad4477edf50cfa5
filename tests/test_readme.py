"""The README's commands stay true: its tour runs as written (psql against a migrated database)
and tells the story it describes; every page it links to exists."""

from __future__ import annotations

import re
import subprocess

import psycopg

from harness.cluster import PG_BIN
from harness.paths import REPO_ROOT

README = (REPO_ROOT / "README.md").read_text(encoding="utf-8")


def test_the_tour_runs_as_written(db_url):
    sql = re.search(r"<<'SQL'\n(.*?)\nSQL\n", README, re.DOTALL).group(1)
    proc = subprocess.run([str(PG_BIN / "psql"), "-X", "-v", "ON_ERROR_STOP=1", db_url],
                          input=sql, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "Dana from the web form" in out and "claim" in out
    assert re.search(r"unclaimed\s*\|\s*claim_window\s*\|\s*(Ann|Bob)", out), out
    assert re.search(r"assigned\s*\|", out) and re.search(r"reassigned\s*\|\s*unclaimed", out), out


PAGES = [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").glob("*.md"))]


def prose(text: str) -> str:
    """The page without its fenced code blocks (a `# comment` there is no heading)."""
    return re.sub(r"^```.*?^```", "", text, flags=re.DOTALL | re.MULTILINE)


def anchors(text: str) -> set[str]:
    """The #anchors GitHub gives the page's headings: lowercase, punctuation dropped, spaces as
    hyphens, a repeated one numbered."""
    seen: dict[str, int] = {}
    for heading in re.findall(r"^#{1,6} +(.+?) *#*$", prose(text), flags=re.MULTILINE):
        slug = re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")
        seen[slug] = seen.get(slug, -1) + 1
        yield slug if seen[slug] == 0 else f"{slug}-{seen[slug]}"


def test_every_relative_link_and_anchor_resolves():
    broken = []
    for page in PAGES:
        for target in re.findall(r"\]\(([^)\s]+)\)", prose(page.read_text(encoding="utf-8"))):
            if re.match(r"\w+:", target):
                continue  # https:, mailto:
            path, _, anchor = target.partition("#")
            linked = (page.parent / path).resolve() if path else page
            if not linked.exists():
                broken.append(f"{page.name}: {target} (no such file)")
            elif anchor and anchor not in set(anchors(linked.read_text(encoding="utf-8"))):
                broken.append(f"{page.name}: {target} (no such heading)")
    assert not broken
    assert len(README.splitlines()) <= 250


def test_the_documented_triggers_are_the_real_ones_in_firing_order(db_url):
    """docs/architecture.md's table of crm_leads triggers names every trigger the engine makes
    there, no dropped one, in the order PostgreSQL fires them (by name, within a kind)."""
    page = (REPO_ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    documented = re.findall(r"^ *\| `(crm_leads_\w+)` \|", page, flags=re.MULTILINE)
    with psycopg.connect(db_url) as conn:
        real = [r[0] for r in conn.execute(
            "select tgname from pg_catalog.pg_trigger "
            "where tgrelid = 'public.crm_leads'::regclass and not tgisinternal "
            "order by tgname collate \"C\"")]
    assert documented == real
