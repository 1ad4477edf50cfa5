"""What is due, stated once (issue 24): crm_sla_due_at() of a lead's timer columns is the next
instant the monitor acts on it (its running timer's breach, crm_sla_breach_at, or its warning not
yet written), and every reader agrees with it: crm_sla_next_due, the monitor's choice of leads,
and the index they read. Leads in every state: claim and contact timers running, warned, done,
reassigned, escalated, waiting for an eligible agent."""

from __future__ import annotations

from datetime import timedelta

COLUMNS = ("l.lead_claimed, l.first_action_completed, l.sla_escalated_at, "
           "l.claim_timer_expires_at, l.contact_timer_expires_at")
DUE = f"public.crm_sla_due_at({COLUMNS}, l.sla_warn_at, l.sla_warned_at)"
BREACH = f"public.crm_sla_breach_at({COLUMNS})"


def expected(row: dict) -> tuple:
    """The rule as the SPEC's lifecycle table states it: (breach, due) of one lead."""
    breach = None
    if row["sla_escalated_at"] is None:
        if row["lead_claimed"] is False:
            breach = row["claim_timer_expires_at"]
        elif row["lead_claimed"] and row["first_action_completed"] is False:
            breach = row["contact_timer_expires_at"]
    warn = row["sla_warn_at"] if row["sla_warned_at"] is None else None
    pending = [t for t in (breach, warn) if t is not None]
    return breach, min(pending, default=None)


def leads(world) -> list[dict]:
    return world.db.execute(
        f"select l.*, {BREACH} as breach, {DUE} as due from public.crm_leads as l order by l.id"
    ).fetchall()


def agree(world) -> list[dict]:
    """Every lead's due instant is the rule's, and crm_sla_next_due reads the same instants."""
    rows = leads(world)
    for r in rows:
        assert (r["breach"], r["due"]) == expected(r), r
    dues = sorted(r["due"] for r in rows if r["due"] is not None)
    for after in [world.now() - timedelta(days=1), world.now(), *dues]:
        want = min((d for d in dues if d > after), default=None)
        got = world.scalar("select public.crm_sla_next_due(%s)", (after,))
        assert got == want, (after, got, want)
    return rows


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


def test_the_monitor_and_next_due_read_the_one_due_rule_in_every_state(world):
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
    rows = {r["id"]: r for r in agree(world)}
    assert rows[done]["due"] is None
    assert rows[claiming]["due"] == rows[claiming]["sla_warn_at"]  # the warning comes first

    world.travel("4 minutes 30 seconds")  # past the warnings (0.8 of 5 minutes)
    assert breached(world) == set()
    assert moved_by_monitor(world) == set()
    rows = {r["id"]: r for r in agree(world)}
    assert rows[claiming]["sla_warned_at"] is not None
    assert rows[claiming]["due"] == rows[claiming]["claim_timer_expires_at"]  # warned: the breach

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
    rows = {r["id"]: r for r in agree(world)}
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
    rows = {r["id"]: r for r in agree(world)}
    assert rows[waiting]["sla_waiting_since"] is not None
    assert rows[waiting]["due"] == rows[waiting]["breach"] <= world.now()
    assert world.monitor()["no_eligible_agent"] == 1  # retried, not announced again
