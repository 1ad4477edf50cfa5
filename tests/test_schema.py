"""The seed's schema, exactly: columns with types and defaults, partial indexes with their
predicates, the audit table's constraints, cascade, and comments."""

from __future__ import annotations

import uuid

import psycopg
import pytest

SEED_LEAD_COLUMNS = {
    # column: (type, default)
    "claim_timer_started_at": ("timestamp with time zone", None),
    "claim_timer_expires_at": ("timestamp with time zone", None),
    "claim_sla_breached": ("boolean", "false"),
    "contact_timer_started_at": ("timestamp with time zone", None),
    "contact_timer_expires_at": ("timestamp with time zone", None),
    "contact_sla_breached": ("boolean", "false"),
    "reassignment_count": ("integer", "0"),
    "previous_agent_id": ("uuid", None),
    "reassignment_reason": ("text", None),
    "reassigned_at": ("timestamp with time zone", None),
}

AUDIT_COLUMNS = {
    "id": ("uuid", "gen_random_uuid()", "NO"),
    "lead_id": ("uuid", None, "NO"),
    "from_agent_id": ("uuid", None, "YES"),
    "to_agent_id": ("uuid", None, "NO"),
    "reassigned_by": ("uuid", None, "NO"),
    "reason": ("text", None, "NO"),
    "stage": ("text", None, "NO"),
    "notes": ("text", None, "YES"),
    "created_at": ("timestamp with time zone", "now()", "YES"),
}

INDEXES = {
    "crm_leads_sla_breach_idx": (
        "CREATE INDEX crm_leads_sla_breach_idx ON public.crm_leads USING btree "
        "(crm_sla_breach_at_columns(lead_claimed, first_action_completed, sla_escalated_at, "
        "claim_timer_expires_at, contact_timer_expires_at), id) "
        "WHERE (crm_sla_breach_at_columns(lead_claimed, first_action_completed, "
        "sla_escalated_at, claim_timer_expires_at, contact_timer_expires_at) IS NOT NULL)"
    ),
    "idx_reassignments_lead": (
        "CREATE INDEX idx_reassignments_lead ON public.crm_lead_reassignments USING btree "
        "(lead_id, created_at DESC)"
    ),
    "idx_reassignments_from_agent": (
        "CREATE INDEX idx_reassignments_from_agent ON public.crm_lead_reassignments "
        "USING btree (from_agent_id, created_at DESC)"
    ),
    "idx_reassignments_to_agent": (
        "CREATE INDEX idx_reassignments_to_agent ON public.crm_lead_reassignments "
        "USING btree (to_agent_id, created_at DESC)"
    ),
}


def columns(world, table: str) -> dict:
    rows = world.db.execute(
        "select column_name, data_type, column_default, is_nullable "
        "from information_schema.columns where table_schema = 'public' and table_name = %s",
        (table,),
    ).fetchall()
    return {r["column_name"]: r for r in rows}


@pytest.mark.parametrize("column", sorted(SEED_LEAD_COLUMNS))
def test_seed_lead_column_has_its_type_and_default(world, column):
    want_type, want_default = SEED_LEAD_COLUMNS[column]
    got = columns(world, "crm_leads")[column]
    assert got["data_type"] == want_type
    assert got["column_default"] == want_default


def test_legacy_lead_columns_remain(world):
    cols = columns(world, "crm_leads")
    for legacy in ("claim_window_expires_at", "first_action_completed", "sla_breached"):
        assert legacy in cols


@pytest.mark.parametrize("column", sorted(AUDIT_COLUMNS))
def test_audit_column_matches_the_seed(world, column):
    want_type, want_default, want_nullable = AUDIT_COLUMNS[column]
    got = columns(world, "crm_lead_reassignments")[column]
    assert (got["data_type"], got["column_default"], got["is_nullable"]) == (
        want_type, want_default, want_nullable)


def test_audit_foreign_keys(world):
    rows = world.db.execute(
        """
        select a.attname as col, c.confrelid::regclass::text as ref, c.confdeltype as on_delete
        from pg_constraint c
        join pg_attribute a on a.attrelid = c.conrelid and a.attnum = c.conkey[1]
        where c.conrelid = 'public.crm_lead_reassignments'::regclass and c.contype = 'f'
        """
    ).fetchall()
    fks = {r["col"]: (r["ref"], r["on_delete"]) for r in rows}
    assert fks == {
        "lead_id": ("crm_leads", "c"),
        "from_agent_id": ("crm_agents", "a"),
        "to_agent_id": ("crm_agents", "a"),
        "reassigned_by": ("crm_agents", "a"),
    }


@pytest.mark.parametrize("name", sorted(INDEXES))
def test_index_has_its_exact_definition(world, name):
    got = world.scalar("select indexdef from pg_indexes where indexname = %s", (name,))
    assert got == INDEXES[name]


@pytest.mark.parametrize("column, bad", [("reason", "timeout"), ("stage", "lunch")])
def test_check_constraints_reject_bad_reason_and_stage(world, column, bad):
    agent = world.agent("Ann")
    lead = world.lead(agent)
    values = {"reason": "manual", "stage": "manual", column: bad}
    with pytest.raises(psycopg.errors.CheckViolation) as err:
        world.db.execute(
            "insert into public.crm_lead_reassignments "
            "(lead_id, from_agent_id, to_agent_id, reassigned_by, reason, stage) "
            "values (%s, %s, %s, %s, %s, %s)",
            (lead, agent, agent, agent, values["reason"], values["stage"]))
    assert f"crm_lead_reassignments_{column}_check" in str(err.value)


def test_deleting_a_lead_removes_its_audit_rows(world):
    ann, bob = world.agents("Ann", "Bob")
    lead = world.lead(ann)
    keep = world.lead(bob)
    world.travel("5 minutes")
    world.monitor()
    assert len(world.audit(lead)) == 1
    world.db.execute("delete from public.crm_leads where id = %s", (lead,))
    assert world.audit(lead) == []
    assert len(world.audit(keep)) == 1


@pytest.mark.parametrize("target", [
    "column crm_leads.claim_timer_started_at",
    "column crm_leads.claim_timer_expires_at",
    "column crm_leads.contact_timer_started_at",
    "column crm_leads.contact_timer_expires_at",
    "table crm_lead_reassignments",
    "table crm_sla_settings",
    "function process_sla_timers()",
    "function claim_lead(uuid)",
    "function complete_first_action(uuid)",
    "function reassign_lead(uuid, uuid, text)",
    "function sla_now()",
    "function sla_clock_travel(interval)",
    "function sla_clock_reset()",
    "function is_admin(uuid)",
])
def test_comment_is_present(world, target):
    kind, name = target.split(" ", 1)
    if kind == "column":
        table, column = name.split(".")
        sql = ("select col_description(('public.' || %s)::regclass, attnum) from pg_attribute "
               "where attrelid = ('public.' || %s)::regclass and attname = %s")
        comment = world.scalar(sql, (table, table, column))
    elif kind == "table":
        comment = world.scalar("select obj_description(('public.' || %s)::regclass, 'pg_class')",
                               (name,))
    else:
        comment = world.scalar(
            "select obj_description(('public.' || %s)::regprocedure, 'pg_proc')", (name,))
    assert comment and len(comment) > 10


def test_settings_defaults(world):
    row = world.db.execute("select * from public.crm_sla_settings").fetchone()
    assert str(row["claim_window"]) == "0:05:00" and str(row["contact_window"]) == "0:05:00"
    assert row["max_reassignments"] == 3


def test_system_actor_exists_and_is_never_routed(world):
    actor = world.db.execute("select * from public.crm_agents where id = %s",
                             (uuid.UUID(int=0),)).fetchone()
    assert actor["role"] == "system"
    assert world.row(world.lead())["assigned_agent_id"] is None


def test_schema_matches_the_committed_snapshot(world):
    from harness.paths import REPO_ROOT
    from tests.schema_snapshot import dump

    committed = (REPO_ROOT / "db" / "schema.sql").read_text()
    assert dump(world.url) == committed, (
        "the schema changed: review it, then run `make schema` to update db/schema.sql")
