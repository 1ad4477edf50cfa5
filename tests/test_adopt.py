"""`crm-sla adopt`: leads that existed before the install come under the SLA, from now on."""

from __future__ import annotations

from datetime import timedelta

from harness import migrate
from harness.testing import World, near
from tests.cli import crm_sla


def old_crm(url: str) -> dict:
    """A CRM in use before the engine: leads new, claimed, contacted and without an owner."""
    migrate.apply(url, report=lambda _msg: None, upto="0001_baseline")
    world = World(url)
    try:
        ann, bob = world.agents("Ann", "Bob")
        leads = {
            "new": world.lead(ann),
            "claimed": world.lead(bob, lead_claimed=True),
            "done": world.lead(ann, lead_claimed=True, first_action_completed=True),
            "unowned": world.lead(None),
        }
    finally:
        world.close()
    migrate.apply(url, report=lambda _msg: None)
    return {"ann": ann, "bob": bob, **leads}


def test_adopt_starts_claim_and_contact_timers_now_with_no_retroactive_breach(fresh_db):
    url = fresh_db()
    crm = old_crm(url)
    world = World(url)
    try:
        before = {k: world.row(crm[k]) for k in ("new", "claimed", "done")}
        assert before["new"]["claim_timer_expires_at"] is None  # never under the SLA
        world.travel("1 hour")  # the leads are old: nothing may count that time against them

        dry = crm_sla("adopt", "--dry-run", url=url)
        assert dry.returncode == 0, dry.stderr
        assert dry.stdout.splitlines()[0].startswith("claim         1 lead(s): would start")
        assert "dry run: nothing was changed" in dry.stdout
        assert {k: world.row(crm[k]) for k in before} == before

        done = crm_sla("adopt", url=url)
        assert done.returncode == 0, done.stderr
        lines = done.stdout.splitlines()
        assert [ln.split()[:2] for ln in lines] == [
            ["claim", "1"], ["contact", "1"], ["done", "1"], ["unowned", "1"]]
        assert "started their claim timers now" in lines[0]
        assert "started their contact timers now" in lines[1]

        now = world.now()
        new, claimed = world.row(crm["new"]), world.row(crm["claimed"])
        assert near(new["claim_timer_started_at"], now)
        assert (new["claim_timer_expires_at"] - new["claim_timer_started_at"]).total_seconds() \
            == 300
        assert new["claim_window_expires_at"] == new["claim_timer_expires_at"]
        assert near(claimed["contact_timer_started_at"], now)
        # Their warnings, at the settings' 0.8 of the window.
        assert new["sla_warn_at"] - new["claim_timer_started_at"] == timedelta(minutes=4)
        assert claimed["sla_warn_at"] - claimed["contact_timer_started_at"] == timedelta(minutes=4)
        assert claimed["claim_timer_started_at"] is None
        assert world.row(crm["done"]) == before["done"]
        for row in (new, claimed):
            assert not (row["sla_breached"] or row["claim_sla_breached"]
                        or row["contact_sla_breached"])

        first = world.monitor()  # nothing is due yet: only the unowned lead is routed
        assert (first["unclaimed"], first["no_contact"], first["routed"]) == (0, 0, 1)
        world.travel("5 minutes")
        world.monitor()
        assert [a["reason"] for a in world.audit(crm["new"])] == ["unclaimed"]
        assert [a["reason"] for a in world.audit(crm["claimed"])] == ["no_contact"]

        again = crm_sla("adopt", url=url)
        assert [ln.split()[:2] for ln in again.stdout.splitlines()][:2] == [
            ["claim", "0"], ["contact", "0"]]
    finally:
        world.close()


def test_adopt_needs_the_engine(fresh_db):
    proc = crm_sla("adopt", url=fresh_db())
    assert proc.returncode == 2 and "run make migrate first" in proc.stderr
    assert "Traceback" not in proc.stderr
