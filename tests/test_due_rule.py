"""What is due, stated once (issue 24): crm_sla_breach_at(lead) is the instant a lead's running
timer breaches, and every reader agrees with it: the rule as the lifecycle states it, the lead
card view's deadline, crm_sla_next_due (the breaches with the warnings, ladder steps and snoozes
still to come), the monitor's choice of leads and its counts, and the one index they read. Leads
in every state: claim and contact timers running, warned, done, reassigned, escalated, waiting
for an eligible agent, paused (stop the clock)."""

from __future__ import annotations

from datetime import timedelta

from tests.test_pause import set_status, waiting_policy

BREACH = "public.crm_sla_breach_at(l)"


def expected(row: dict):
    """The rule as the lifecycle states it: when the lead's running timer breaches."""
    if row["sla_escalated_at"] is not None or row["first_action_completed"]:
        return None
    if row["lead_claimed"]:
        return row["contact_timer_expires_at"]
    return row["claim_timer_expires_at"]


def leads(world) -> list[dict]:
    return world.db.execute(
        f"select l.*, {BREACH} as breach, v.timer_expires_at from public.crm_leads as l "
        "inner join public.crm_lead_sla_timers as v on v.lead_id = l.id order by l.id"
    ).fetchall()


def agree(world) -> dict:
    """Each lead's breach instant is the rule's and the view's, and crm_sla_next_due reads the
    same instants along with the warnings, steps and snoozes still to come."""
    rows = leads(world)
    for r in rows:
        assert r["breach"] == expected(r) == r["timer_expires_at"], r
    instants = sorted(
        {r["breach"] for r in rows if r["breach"] is not None}
        | {r["sla_warn_at"] for r in rows if r["sla_warn_at"] and r["sla_warned_at"] is None}
        | {r["sla_step_at"] for r in rows if r["sla_step_at"]}
        | {r["sla_snoozed_until"] for r in rows if r["sla_snoozed_until"]})
    for after in [world.now() - timedelta(days=1), world.now(), *instants]:
        want = min((d for d in instants if d > after), default=None)
        got = world.scalar("select public.crm_sla_next_due(%s)", (after,))
        assert got == want, (after, got, want)
    return {r["id"]: r for r in rows}


def moved_by_monitor(world) -> set:
    """Runs one pass and returns the leads it reassigned, escalated or flagged as waiting."""
    before = {r["id"]: r for r in leads(world)}
    result = world.monitor()
    after = {r["id"]: r for r in leads(world)}
    changed = {
        i for i, r in after.items()
        if (r["assigned_agent_id"], r["sla_escalated_at"], r["sla_waiting_since"])
        != (before[i]["assigned_agent_id"], before[i]["sla_escalated_at"],
            before[i]["sla_waiting_since"])
    }
    assert len(changed) == (result["unclaimed"] + result["no_contact"] + result["escalated"]
                            + result["no_eligible_agent"])
    return changed


def breached(world) -> set:
    now = world.now()
    return {r["id"] for r in leads(world)
            if r["breach"] is not None and r["breach"] <= now and r["sla_waiting_since"] is None}


def test_the_monitor_next_due_and_the_view_read_the_one_due_rule_in_every_state(world):
    ann, bob = world.agents("Ann", "Bob")
    world.agent("Ada", role="admin")  # takes the escalated leads
    claiming = world.lead(ann)
    contacting = world.lead(ann)
    done = world.lead(ann)
    escalating = world.lead(bob)
    world.db.execute("update public.crm_leads set lead_claimed = true where id = %s",
                     (contacting,))
    world.db.execute("update public.crm_leads set first_action_completed = true where id = %s",
                     (done,))
    rows = agree(world)
    assert rows[done]["breach"] is None
    assert rows[contacting]["breach"] == rows[contacting]["contact_timer_expires_at"]
    assert rows[claiming]["breach"] == rows[claiming]["claim_timer_expires_at"]

    world.travel("4 minutes 30 seconds")  # past the warnings (0.8 of 5 minutes)
    assert breached(world) == set()
    assert moved_by_monitor(world) == set()
    rows = agree(world)
    assert rows[claiming]["sla_warned_at"] is not None

    world.travel("1 minute")  # the claim timers breach; the contact timer too
    due_now = breached(world)
    assert due_now == {claiming, contacting, escalating}
    assert moved_by_monitor(world) == due_now
    agree(world)

    # Breaches past max_reassignments escalate: nothing is due for those any more.
    world.settings(max_reassignments=1)
    world.travel("6 minutes")
    due_now = breached(world)
    assert due_now == {claiming, contacting, escalating}
    assert moved_by_monitor(world) == due_now
    rows = agree(world)
    for lead in due_now:
        assert rows[lead]["sla_escalated_at"] is not None and rows[lead]["breach"] is None

    # Nobody eligible: the breached lead waits with its owner; it stays due (retried each pass)
    # but is taken from the waiting list, never twice.
    world.settings(max_reassignments=3)
    waiting = world.lead(ann)
    world.db.execute("update public.crm_agents set accepting_leads = false where id = any(%s)",
                     ([ann, bob],))
    world.travel("6 minutes")
    assert breached(world) == {waiting}
    assert moved_by_monitor(world) == {waiting}
    rows = agree(world)
    assert rows[waiting]["sla_waiting_since"] is not None
    assert rows[waiting]["breach"] <= world.now()
    assert world.monitor()["no_eligible_agent"] == 1  # retried, not announced again


def test_a_stopped_clock_has_nothing_due_until_it_runs_again(world):
    ann, bob = world.agents("Ann", "Bob")
    waiting_policy(world)
    lead = world.lead(ann, status="new")
    set_status(world, lead, "waiting")
    rows = agree(world)
    assert rows[lead]["sla_paused_at"] is not None and rows[lead]["breach"] is None
    world.travel("1 hour")  # far past the 5-minute window: a stopped clock never breaches
    assert breached(world) == set() and moved_by_monitor(world) == set()
    set_status(world, lead, "replied")
    rows = agree(world)
    assert rows[lead]["breach"] > world.now()  # the open time it had left, from now


def test_the_monitor_finds_due_leads_through_the_one_breach_index(world):
    # As on a big table (an empty one is cheaper to sort): the index gives the order too.
    world.db.execute("set enable_seqscan = off")
    world.db.execute("set enable_bitmapscan = off")
    plan = "\n".join(r["QUERY PLAN"] for r in world.db.execute(
        f"explain select l.id from public.crm_leads as l where {BREACH} <= now() "
        f"order by {BREACH}, l.id limit 100").fetchall())
    assert "crm_leads_sla_breach_idx" in plan and "Sort" not in plan, plan
    for gone in ("idx_crm_leads_claim_timer_expires", "idx_crm_leads_contact_timer_expires"):
        assert world.scalar("select to_regclass(%s)", (f"public.{gone}",)) is None
