"""The role-by-role security matrix: one table of (operation, SQL, expected outcome per role).

tests/test_security.py runs every cell as a real query against a real database; docs/security.md
is rendered from this same table (`python -m tests.security_matrix > docs/security.md`), and a
test fails when the committed page differs, so the page cannot drift from what is tested.

Outcomes: "allowed" (the statement did its work), "no rows" (row-level security hid the row: no
error, nothing seen or changed), "refused XXXXX" (an error with that SQLSTATE: 42501 is
PostgreSQL's insufficient_privilege, SLnnn are the engine's own codes, see README).
"""

from __future__ import annotations

from dataclasses import dataclass

ROLES = ("anon", "owner", "previous", "stranger", "admin", "service", "trusted")

ROLE_TITLES = {
    "anon": "anon",
    "owner": "agent who owns the lead",
    "previous": "agent it was taken from",
    "stranger": "another agent",
    "admin": "admin",
    "service": "service_role",
    "trusted": "table owner (no JWT)",
}

DENIED = "refused 42501"
ENGINE = "refused SL009"


@dataclass(frozen=True)
class Cell:
    area: str
    operation: str
    sql: str
    expect: dict[str, str]


def row(area: str, operation: str, sql: str, **expect: str) -> Cell:
    missing = set(ROLES) - set(expect)
    assert not missing, f"{operation}: no expectation for {missing}"
    return Cell(area, operation, sql, expect)


def _like(**expect: str) -> dict[str, str]:
    return expect


OWNER_WRITES = _like(anon=DENIED, owner="allowed", previous="no rows", stranger="no rows",
                     admin="allowed", service="allowed", trusted="allowed")
ENGINE_COLUMN = _like(anon=DENIED, owner=ENGINE, previous="no rows", stranger="no rows",
                      admin=ENGINE, service=ENGINE, trusted="allowed")
ENGINE_COLUMNS = {
    "claim_timer_started_at": "now()",
    "claim_timer_expires_at": "now() + interval '1 day'",
    "claim_window_expires_at": "now() + interval '1 day'",
    "contact_timer_started_at": "now()",
    "contact_timer_expires_at": "now() + interval '1 day'",
    "claim_sla_breached": "true",
    "contact_sla_breached": "true",
    "sla_breached": "true",
    "reassignment_count": "0 + 7",
    "previous_agent_id": "{stranger}",
    "reassignment_reason": "'no_contact'",
    "reassigned_at": "now()",
    "sla_escalated_at": "now()",
    "assigned_agent_id": "{stranger}",
    "sla_policy_id": "gen_random_uuid()",
    "sla_timer_window": "interval '1 hour'",
    "sla_timer_calendar_id": "gen_random_uuid()",
    "sla_waiting_since": "now()",
    "sla_warn_at": "now()",
    "sla_warned_at": "now()",
    "sla_step_at": "now()",
    "sla_step_done": "0.5",
    "sla_paused_at": "now()",
    "sla_paused_left": "interval '1 hour'",
    "sla_paused_warn_left": "interval '1 hour'",
    "sla_paused_step_left": "interval '1 hour'",
    "sla_paused_total": "interval '1 hour'",
    "sla_snoozed_until": "now() + interval '1 day'",
    "created_at": "now() - interval '1 year'",  # the statistics count received leads by it
}  # with "set id" below: every column of crm_sla_engine_columns(), a test holds it to the list
ONLY_SERVICE = _like(anon=DENIED, owner=DENIED, previous=DENIED, stranger=DENIED, admin=DENIED,
                     service="allowed", trusted="allowed")
# The engine's own: no API role executes them (routing runs in the engine's triggers and monitor).
ENGINE_ONLY = _like(anon=DENIED, owner=DENIED, previous=DENIED, stranger=DENIED, admin=DENIED,
                    service=DENIED, trusted="allowed")
SIGNED_IN = _like(anon=DENIED, owner="allowed", previous="allowed", stranger="allowed",
                  admin="allowed", service="allowed", trusted="allowed")
AUDIT_INSERT = (
    "insert into public.crm_lead_reassignments "
    "(lead_id, from_agent_id, to_agent_id, reassigned_by, reason, stage) "
    "values ({lead}, {owner}, {stranger}, {owner}, 'manual', 'manual')"
)

MATRIX: tuple[Cell, ...] = (
    row("crm_leads", "select the lead", "select id from public.crm_leads where id = {lead}",
        anon=DENIED, owner="allowed", previous="no rows", stranger="no rows", admin="allowed",
        service="allowed", trusted="allowed"),
    row("crm_leads", "insert a lead", "insert into public.crm_leads (full_name) values ('New')",
        anon=DENIED, owner=DENIED, previous=DENIED, stranger=DENIED, admin="allowed",
        service="allowed", trusted="allowed"),
    row("crm_leads", "update a non-SLA field (phone)",
        "update public.crm_leads set phone = '555' where id = {lead}", **OWNER_WRITES),
    row("crm_leads", "set lead_claimed",
        "update public.crm_leads set lead_claimed = true where id = {lead}", **OWNER_WRITES),
    row("crm_leads", "set first_action_completed",
        "update public.crm_leads set first_action_completed = true where id = {lead}",
        **OWNER_WRITES),
    *(
        row("crm_leads", f"set {column}",
            f"update public.crm_leads set {column} = {value} where id = {{lead}}",
            **ENGINE_COLUMN)
        for column, value in ENGINE_COLUMNS.items()
    ),
    row("crm_leads", "set id",
        "update public.crm_leads set id = gen_random_uuid() where id = {lead}",
        **{**ENGINE_COLUMN, "trusted": "refused 23503"}),  # its audit row still points at it
    row("crm_leads", "delete the lead", "delete from public.crm_leads where id = {lead}",
        anon=DENIED, owner="no rows", previous="no rows", stranger="no rows", admin="allowed",
        service="allowed", trusted="allowed"),
    row("crm_lead_reassignments", "select the lead's audit row",
        "select id from public.crm_lead_reassignments where lead_id = {lead}",
        anon=DENIED, owner="allowed", previous="allowed", stranger="no rows", admin="allowed",
        service="allowed", trusted="allowed"),
    row("crm_lead_reassignments", "insert an audit row", AUDIT_INSERT,
        anon=DENIED, owner=DENIED, previous=DENIED, stranger=DENIED, admin=DENIED,
        service="allowed", trusted="allowed"),
    row("crm_lead_reassignments", "update an audit row",
        "update public.crm_lead_reassignments set notes = 'x' where lead_id = {lead}",
        anon=DENIED, owner=DENIED, previous=DENIED, stranger=DENIED, admin=DENIED,
        service=DENIED, trusted="refused SL012"),
    row("crm_lead_reassignments", "delete an audit row",
        "delete from public.crm_lead_reassignments where lead_id = {lead}",
        anon=DENIED, owner=DENIED, previous=DENIED, stranger=DENIED, admin=DENIED,
        service=DENIED, trusted="refused SL012"),
    row("crm_sla_settings", "read the windows", "select claim_window from public.crm_sla_settings",
        **SIGNED_IN),
    row("crm_sla_settings", "change a window",
        "update public.crm_sla_settings set claim_window = interval '1 minute'", **ONLY_SERVICE),
    row("crm_sla_monitor_pause", "pause the monitor",
        "update public.crm_sla_monitor_pause set paused_by_pid = pg_backend_pid()",
        **ONLY_SERVICE),
    row("crm_sla_routing_lock", "lock the routing row (stalls routing)",
        "select from public.crm_sla_routing_lock for update",
        **{**ONLY_SERVICE, "service": DENIED}),
    row("crm_sla_agent_absences", "set the owner's out of office",
        "insert into public.crm_sla_agent_absences (agent_id, starts_at, ends_at) "
        "values ({owner}, now(), now() + interval '1 day')",
        anon=DENIED, owner="allowed", previous=DENIED, stranger=DENIED, admin="allowed",
        service="allowed", trusted="allowed"),
    row("crm_sla_agent_misses", "read the missed-claim counts",
        "select agent_id from public.crm_sla_agent_misses",
        **{**ENGINE_ONLY, "trusted": "no rows"}),
    row("crm_agents", "read an agent's row (the owner's)",
        "select id from public.crm_agents where id = {owner}",
        anon=DENIED, owner="allowed", previous="no rows", stranger="no rows", admin="allowed",
        service="allowed", trusted="allowed"),
    row("crm_agents", "stop an agent's leads",
        "update public.crm_agents set accepting_leads = false where id = {stranger}",
        anon=DENIED, owner="no rows", previous="no rows", stranger="no rows", admin="allowed",
        service="allowed", trusted="allowed"),
    row("functions", "claim_lead(lead)", "select public.claim_lead({lead})",
        anon=DENIED, owner="allowed", previous="refused SL004", stranger="refused SL002",
        admin="refused SL002", service="allowed", trusted="allowed"),
    row("functions", "complete_first_action(lead)", "select public.complete_first_action({lead})",
        anon=DENIED, owner="allowed", previous="refused SL004", stranger="refused SL002",
        admin="refused SL002", service="allowed", trusted="allowed"),
    # An agent cannot tell a lead it may not see from one that does not exist.
    row("functions", "claim_lead(a lead that does not exist)",
        "select public.claim_lead({missing})",
        anon=DENIED, owner="refused SL002", previous="refused SL002", stranger="refused SL002",
        admin="refused SL001", service="refused SL001", trusted="refused SL001"),
    row("functions", "reassign_lead(lead, another agent)",
        "select public.reassign_lead({lead}, {stranger}, 'moved')",
        anon=DENIED, owner="refused SL006", previous="refused SL006", stranger="refused SL006",
        admin="allowed", service="allowed", trusted="allowed"),
    # The owner hands back an unclaimed lead; the service role (and a trusted session) for it.
    row("functions", "decline_lead(lead, reason)", "select public.decline_lead({lead}, 'busy')",
        anon=DENIED, owner="allowed", previous="refused SL002", stranger="refused SL002",
        admin="refused SL002", service="allowed", trusted="allowed"),
    # Snoozing: admins and the service role; an owner only where its policy allows (this lead's
    # has no policy), and another agent's lead is not yours.
    row("functions", "crm_sla_snooze(lead, in an hour, note)",
        "select public.crm_sla_snooze({lead}, public.sla_now() + interval '1 hour', 'back at 3')",
        anon=DENIED, owner="refused SL006", previous="refused SL002", stranger="refused SL002",
        admin="allowed", service="allowed", trusted="allowed"),
    row("functions", "crm_sla_resume_snoozed(now, 10)",
        "select public.crm_sla_resume_snoozed(now(), 10)", **ENGINE_ONLY),
    row("functions", "process_sla_timers()", "select public.process_sla_timers()",
        **ONLY_SERVICE),
    row("functions", "sla_clock_travel('1 minute')", "select public.sla_clock_travel('1 minute')",
        **ONLY_SERVICE),
    row("functions", "sla_clock_reset()", "select public.sla_clock_reset()", **ONLY_SERVICE),
    row("functions", "sla_now()", "select public.sla_now()", **SIGNED_IN),
    row("functions", "is_admin(uid)", "select public.is_admin({admin})", **SIGNED_IN),
    row("functions", "call run_sla_monitor('0', '1 second')",
        "call public.run_sla_monitor(interval '0', interval '1 second')", **ONLY_SERVICE),
    # Only the engine routes: a caller could otherwise hold the routing lock or move routing
    # credit. The first-lead router runs inside the intake trigger only (SL006 elsewhere).
    row("routing", "crm_sla_route_new_lead(lead, policy, now)",
        "select public.crm_sla_route_new_lead(gen_random_uuid(), null, now())",
        **{**ENGINE_ONLY, "trusted": "refused SL006"}),
    row("routing", "crm_sla_route_leads(leads, now, false, policies)",
        "select public.crm_sla_route_leads(array[]::uuid[], now(), false, array[]::uuid[])",
        **{**ENGINE_ONLY, "trusted": "no rows"}),
    row("routing", "crm_sla_route_waiting(10, now)",
        "select public.crm_sla_route_waiting(10, now())", **ENGINE_ONLY),
    row("routing", "crm_sla_routing_pool(now)",
        "select public.crm_sla_routing_pool(now())", **ENGINE_ONLY),
    row("routing", "crm_sla_absences_at(now)",
        "select public.crm_sla_absences_at(now())", **{**ENGINE_ONLY, "trusted": "no rows"}),
    row("routing", "crm_sla_hand_over_absent(10, now)",
        "select public.crm_sla_hand_over_absent(10, now())", **ENGINE_ONLY),
    row("routing", "crm_sla_auto_pause(leads, now)",
        "select public.crm_sla_auto_pause(array[{lead}], now())", **ENGINE_ONLY),
    row("routing", "crm_sla_owner_keys(leads, null)",
        "select public.crm_sla_owner_keys(array[{lead}], null)",
        **{**ENGINE_ONLY, "trusted": "no rows"}),
)


def render() -> str:
    lines = [
        "# Who can do what",
        "",
        "Generated from `tests/security_matrix.py` by `python -m tests.security_matrix`; every",
        "cell is a real query that `make test` runs as that role against a real database",
        "(`tests/test_security.py`), and a test fails if this page differs from the table.",
        "",
        "The world: a lead owned by one agent, reassigned to it from another (so one audit row),",
        "plus an unrelated agent and an admin. Agents and admins are `authenticated` with their",
        "JWT claims (`request.jwt.claims`), as PostgREST sets them.",
        "",
        "Outcomes: **allowed**; **no rows** (row-level security hides the row: no error, nothing",
        "seen or changed); **refused CODE** (an error: 42501 insufficient privilege, SL002 not",
        "your lead, SL004 reassigned away from you, SL006 admins only, SL009 engine-owned column,",
        "SL012 append-only audit trail).",
        "",
        "| table or function | operation | " + " | ".join(ROLE_TITLES[r] for r in ROLES) + " |",
        "|---|---|" + "---|" * len(ROLES),
    ]
    for cell in MATRIX:
        lines.append(f"| {cell.area} | {cell.operation} | "
                     + " | ".join(cell.expect[r] for r in ROLES) + " |")
    lines += [
        "",
        "Stricter than the seed: the seed let every role insert audit rows (`WITH CHECK (true)`);",
        "here only the engine and the service role do. The service role, though it bypasses",
        "row-level security, cannot write timers, breach flags, owners or reassignment columns",
        "(SL009): those change only through the engine, so the audit trail always agrees with the",
        "leads. Audit rows cannot be changed or deleted by any role; they go only with their lead.",
        "",
        "## LISTEN and NOTIFY",
        "",
        "Row-level security does not reach `LISTEN`: any role that can connect, `anon` included,",
        "may `LISTEN crm_sla` and hears every event of the database, whoever it is for. So a",
        "notification carries event names and ids only (`{\"event\", \"outbox_id\",",
        "\"lead_id\", \"agent_id\"}`; for a large statement `{\"event\": \"batch\",",
        "\"count\", \"first_outbox_id\", \"last_outbox_id\"}`; `{\"event\": \"inserted\"}`):",
        "an idle listener learns when events happen, their kinds, and the ids of the leads and",
        "agents involved, never a name, a reason, a deadline or a payload",
        "(`tests/test_notifications.py`). What it reads by id goes through row-level security",
        "like any query: the board reads as its own identity, `crm-sla deliver` only wakes and",
        "reads the outbox as a trusted session.",
        "",
        "What a listener can do: never read. A session that listens and then sits in an open",
        "transaction keeps every later notification of the cluster in pg_notify's queue (8 GB);",
        "when it is full, every transaction that emits an event (intake, claims, the monitor)",
        "fails at commit. `crm-sla status` shows the queue's use and warns above 50 %; end that",
        "session (`idle in transaction` in `pg_stat_activity`). The API roles reach the database",
        "through PostgREST, where a LISTEN hears nothing its client gets; any database login can",
        "listen.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    print(render(), end="")
