"""The README's commands stay true: its tour runs as written (psql against a migrated database)
and tells the story it describes; every page it links to exists."""

from __future__ import annotations

import re
import subprocess

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


def test_every_linked_page_exists():
    for target in re.findall(r"\]\(((?:docs/)?[\w./-]+\.(?:md|png))\)", README):
        assert (REPO_ROOT / target).exists(), target
    for page in (REPO_ROOT / "docs").glob("*.md"):
        text = page.read_text(encoding="utf-8")
        for target in re.findall(r"\]\(([\w./-]+\.(?:md|png))(?:#[\w-]+)?\)", text):
            if "://" not in target:
                assert (page.parent / target).exists(), f"{page.name} links to {target}"
    assert len(README.splitlines()) <= 250
