"""Intake in bulk: one INSERT of many leads does what as many one-lead INSERTs do. The intake
trigger reads the SLA clock, the windows and the routing queue once a statement; these tests hold
it to the per-lead behaviour, across statements and transactions, and against planted settings."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import psycopg
import pytest

from harness.testing import near
from tests.test_ladder import step
from tests.test_policies import office, policy

FIVE = timedelta(minutes=5)
BULK = """
insert into public.crm_leads (assigned_agent_id, full_name, lead_claimed)
select %s::uuid, 'Lead ' || lpad(i::text, 3, '0'), %s from generate_series(1, %s) as i
order by i
"""


def owners_in_order(world) -> list:
    return [r["assigned_agent_id"] for r in world.db.execute(
        "select assigned_agent_id from public.crm_leads order by full_name").fetchall()]


def test_one_statement_routes_round_robin_and_the_next_statements_continue(world):
    team = world.agents("A", "B", "C")
    with world.as_service() as conn:
        conn.execute(BULK, (None, False, 7))
        conn.execute(BULK.replace("'Lead '", "'Lead 1'"), (None, False, 5))
    world.lead(full_name="Lead 2")  # a single-row INSERT, as before
    owners = owners_in_order(world)
    assert len(owners) == 13 and set(owners[:3]) == set(team)
    assert all(owners[i] == owners[i - 3] for i in range(3, 13))  # the rotation never skips
    routed = {r["agent_id"]: r["leads_routed"] for r in world.db.execute(
        "select agent_id, leads_routed from public.crm_sla_agent_state").fetchall()}
    assert routed == Counter(owners)
    # The queue's order is the order of the last picks: the next lead goes to owners[13 % 3].
    assert world.row(world.lead())["assigned_agent_id"] == owners[10]


def test_one_statement_gives_its_leads_one_clock_and_leaves_no_settings_behind(world):
    ann = world.agent("Ann")
    everyone = policy(world, "Everyone", {})  # the settings' windows: 5 minutes
    kept = "crm_sla.intake_plan_" + everyone.hex  # the setting of the policy's plan
    with world.as_service() as conn:
        conn.execute("begin")
        conn.execute(BULK, (ann, False, 3))
        conn.execute(BULK.replace("'Lead '", "'Lead 1'"), (ann, True, 1))
        left = conn.execute(
            "select current_setting('crm_sla.intake_clock', true) as at, "
            "current_setting('crm_sla.intake_policies', true) as policies, "
            "current_setting('crm_sla.intake_planned', true) as planned, "
            "current_setting(%s, true) as plan", (kept,)).fetchone()
        conn.execute("commit")
    assert not any(left.values()), left
    rows = world.db.execute("select * from public.crm_leads order by full_name").fetchall()
    assert len({r["claim_timer_started_at"] for r in rows}) == 1
    for row in rows:
        assert near(row["claim_timer_started_at"], world.now())
        assert row["claim_timer_expires_at"] == row["claim_timer_started_at"] + FIVE
        assert row["claim_window_expires_at"] == row["claim_timer_expires_at"]
    claimed = rows[-1]
    assert claimed["lead_claimed"]
    assert claimed["contact_timer_started_at"] == claimed["claim_timer_started_at"]
    assert claimed["contact_timer_expires_at"] == claimed["contact_timer_started_at"] + FIVE
    assert all(r["contact_timer_expires_at"] is None for r in rows[:-1])


def test_new_windows_and_a_moved_clock_apply_to_the_next_statement_of_a_transaction(world):
    ann = world.agent("Ann")
    with world.as_service() as conn:
        conn.execute("begin")
        first = conn.execute("insert into public.crm_leads (assigned_agent_id) values (%s) "
                             "returning *", (ann,)).fetchone()
        conn.execute("update public.crm_sla_settings set claim_window = '1 minute'")
        conn.execute("select public.sla_clock_travel('1 hour')")
        second = conn.execute("insert into public.crm_leads (assigned_agent_id) values (%s) "
                              "returning *", (ann,)).fetchone()
        conn.execute("commit")
    assert first["claim_timer_expires_at"] - first["claim_timer_started_at"] == FIVE
    assert second["claim_timer_expires_at"] - second["claim_timer_started_at"] \
        == timedelta(minutes=1)
    assert second["claim_timer_started_at"] - first["claim_timer_started_at"] \
        == timedelta(hours=1)


def test_a_policy_edited_between_two_statements_of_a_transaction_applies_to_the_second(world):
    """A policy's plan is kept for its statement only: the next statement of the transaction
    (same SLA clock reading) plans again and sees the edit."""
    ann = world.agent("Ann")
    web = policy(world, "Web", {"source": "web"})
    insert = ("insert into public.crm_leads (assigned_agent_id, source) values (%s, 'web'), "
              "(%s, 'web') returning *")
    with world.as_service() as conn:
        conn.execute("begin")
        first = conn.execute(insert, (ann, ann)).fetchall()
        conn.execute("update public.crm_sla_policies set claim_window = '2 minutes' "
                     "where id = %s", (web,))
        second = conn.execute(insert, (ann, ann)).fetchall()
        conn.execute("commit")
    assert {r["claim_timer_started_at"] for r in first + second} \
        == {first[0]["claim_timer_started_at"]}
    assert [r["claim_timer_expires_at"] - r["claim_timer_started_at"] for r in first + second] \
        == [FIVE, FIVE, timedelta(minutes=2), timedelta(minutes=2)]


def test_nobody_eligible_leaves_a_whole_statement_unowned_until_someone_is(world):
    with world.as_service() as conn:
        conn.execute(BULK, (None, False, 4))
    assert owners_in_order(world) == [None] * 4
    assert {r["claim_timer_expires_at"] for r in world.db.execute(
        "select claim_timer_expires_at from public.crm_leads").fetchall()} == {None}
    ann = world.agent("Ann")
    world.db.execute("insert into public.crm_sla_agent_routing (agent_id, max_open_leads) "
                     "values (%s, 3)", (ann,))
    with world.as_service() as conn:
        conn.execute(BULK.replace("'Lead '", "'Lead 1'"), (None, False, 2))
    # The next statement routes the waiting leads too, oldest first, up to Ann's cap.
    assert owners_in_order(world) == [ann] * 3 + [None] * 3


@pytest.mark.parametrize("when", ["before the statement", "inside the statement"])
def test_an_admin_cannot_plant_the_intake_clock(world, when):
    ann = world.agent("Ann")
    boss = world.agent("Boss", role="admin")
    # A well-formed plan (public.crm_sla_intake_plan): claim start in 2000, deadlines in 2099.
    planted = "(,946684800000000,4070908800000000,4070908800000000,1,1,,,,,)"
    plant = "set_config('crm_sla.intake_clock', '" + planted + "', {local})"
    with world.as_agent(boss) as conn:
        if when == "before the statement":
            conn.execute("select " + plant.format(local="false"))
            sql = "insert into public.crm_leads (assigned_agent_id) values (%s) returning id"
        else:  # the SELECT feeding the INSERT runs between the intake trigger's rows
            sql = ("insert into public.crm_leads (assigned_agent_id, full_name) "
                   "select %s, " + plant.format(local="true") + " from generate_series(1, 3) "
                   "returning id")
        ids = [r["id"] for r in conn.execute(sql, (ann,)).fetchall()]
    for lead in ids:
        row = world.row(lead)
        assert near(row["claim_timer_started_at"], world.now())
        assert row["claim_timer_expires_at"] - row["claim_timer_started_at"] == FIVE


def test_a_role_of_the_crm_s_own_inserts_and_routes_leads_like_the_service_role(world):
    """The intake triggers need no grant beyond INSERT: roles the CRM adds keep working."""
    ann = world.agent("Ann")
    world.db.execute("""
        do $$ begin
            if not exists (select from pg_roles where rolname = 'crm_sla_test_importer') then
                create role crm_sla_test_importer nologin;
            end if;
        end $$;
        grant usage on schema public to crm_sla_test_importer;
        grant select, insert on public.crm_leads to crm_sla_test_importer;
        create policy "Importer adds leads" on public.crm_leads for all
        to crm_sla_test_importer using (true) with check (true);
    """)
    try:
        with world.as_role("crm_sla_test_importer") as conn:
            conn.execute(BULK, (None, False, 2))
    finally:  # roles belong to the cluster, not to this test's database
        world.db.execute("drop owned by crm_sla_test_importer; drop role crm_sla_test_importer")
    rows = world.db.execute("select * from public.crm_leads").fetchall()
    assert [r["assigned_agent_id"] for r in rows] == [ann, ann]
    for row in rows:
        assert near(row["claim_timer_started_at"], world.now())
        assert row["claim_timer_expires_at"] - row["claim_timer_started_at"] == FIVE


def test_a_single_row_insert_returns_its_routed_owner_and_claim_timer(world):
    """A web form or a Supabase insert (`return=representation`) sees the lead as intake
    leaves it (docs/routing.md): routed, its claim timer running, announced once."""
    ann, bob = world.agents("Ann", "Bob")
    with world.as_service() as conn:
        first = conn.execute("insert into public.crm_leads (full_name) values ('Web form') "
                             "returning *").fetchone()
        second = conn.execute("insert into public.crm_leads (full_name) values ('Web form 2') "
                              "returning *").fetchone()
    assert {first["assigned_agent_id"], second["assigned_agent_id"]} == {ann, bob}
    for lead in (first, second):
        assert near(lead["claim_timer_started_at"], world.now())
        assert lead["claim_timer_expires_at"] == lead["claim_timer_started_at"] + FIVE
        assert lead["claim_window_expires_at"] == lead["claim_timer_expires_at"]
        assert lead["sla_warn_at"] is not None
        assert world.row(lead["id"])["assigned_agent_id"] == lead["assigned_agent_id"]
    announced = world.db.execute(
        "select lead_id, agent_id from public.crm_sla_outbox where event = 'assigned' "
        "order by id").fetchall()
    assert [(r["lead_id"], r["agent_id"]) for r in announced] == [
        (lead["id"], lead["assigned_agent_id"]) for lead in (first, second)]
    assert world.scalar("select sum(leads_routed) from public.crm_sla_agent_state") == 2


def test_a_new_lead_does_not_pass_leads_waiting_in_the_queue(world):
    ann = world.agent("Ann")
    world.db.execute("insert into public.crm_sla_agent_routing (agent_id, max_open_leads) "
                     "values (%s, 1)", (ann,))
    world.db.execute("update public.crm_agents set accepting_leads = false")
    waiting = world.lead(full_name="Waiting since before")
    world.db.execute("update public.crm_agents set accepting_leads = true")
    with world.as_service() as conn:
        new = conn.execute("insert into public.crm_leads (full_name) values ('New') "
                           "returning *").fetchone()
    # Ann has room for one: the lead that waited longer gets her; the new one waits.
    assert new["assigned_agent_id"] is None and new["claim_timer_expires_at"] is None
    assert world.row(waiting)["assigned_agent_id"] == ann
    assert world.row(new["id"])["assigned_agent_id"] is None


def test_a_lead_routed_as_written_follows_its_policys_team(world):
    _ann, bob = world.agents("Ann", "Bob")
    team = world.scalar("insert into public.crm_sla_teams (name) values ('Partners') "
                        "returning id")
    world.db.execute("insert into public.crm_sla_team_members values (%s, %s)", (team, bob))
    world.db.execute("insert into public.crm_sla_policies (name, match, team_id) "
                     "values ('Partners', '{\"source\": \"partner\"}', %s)", (team,))
    with world.as_service() as conn:
        owners = [conn.execute("insert into public.crm_leads (full_name, source) "
                               "values ('P', 'partner') returning assigned_agent_id"
                               ).fetchone()["assigned_agent_id"] for _ in range(3)]
    assert owners == [bob] * 3


def test_the_router_for_new_leads_runs_only_inside_the_intake_trigger(world):
    world.agent("Ann")
    with pytest.raises(psycopg.Error) as err:
        world.db.execute("select public.crm_sla_route_new_lead(gen_random_uuid(), null, now())")
    assert err.value.diag.sqlstate == "SL006"
    assert world.scalar("select count(*) from public.crm_sla_agent_state") == 0


STEER = """
create function pg_temp.steer() returns trigger language plpgsql as $$
begin
    perform public.crm_sla_route_new_lead(gen_random_uuid(), null, now());
    return new;
end $$;
create temp table steer (x int);
create trigger steer before insert on steer for each row execute function pg_temp.steer();
"""


@pytest.mark.parametrize("role", ["agent", "service"])
def test_no_api_role_can_route_from_a_trigger_of_its_own(world, role):
    """An agent's (or the service role's) trigger on its own temporary table gets past the
    trigger-depth guard, but may not run the router (it would hold the routing lock and steer
    new leads to itself), nor attach the engine's routing trigger function to its table."""
    ann = world.agent("Ann")
    session = world.as_agent(ann) if role == "agent" else world.as_service()
    with session as conn:
        conn.execute(STEER)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("insert into steer values (1)")
        conn.rollback()
        conn.execute("create temp table borrow (like public.crm_leads)")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("create trigger borrow before insert on borrow for each row "
                         "execute function public.crm_leads_route_first()")
    assert world.scalar("select count(*) from public.crm_sla_agent_state") == 0


@pytest.mark.parametrize("session", ["service", "admin"])
def test_a_plan_without_calendar_warning_or_step_keeps_them_empty_beside_one_with_all(
        world, session):
    """Intake's plan is a typed value (public.crm_sla_intake_plan) kept a statement as its own
    text form: what a plan does not have (a calendar, a warning, a ladder step) comes back NULL,
    never zero or the epoch, and what it has comes back to the microsecond, in one statement
    sharing the plans (service) and in an API session planning each lead (admin)."""
    ann = world.agent("Ann")
    ada = world.agent("Ada", role="admin")
    cal = office(world)
    world.db.execute("update public.crm_sla_settings set calendar_id = %s", (cal,))
    step(world, None, "nudge", 0.5)  # the ladder of leads without a policy
    step(world, None, "contact nudge", 0.25, stage="contact_window")
    bare = policy(world, "Bare", {"source": "bare"}, warn_at=None, contact_window="7 minutes")
    assert world.scalar(
        "select p is not distinct from p::text::public.crm_sla_intake_plan "
        "and p.policy_id = %s and num_nulls(p.calendar_id, p.claim_warn_at_us, "
        "p.contact_warn_at_us, p.claim_step_at_us, p.contact_step_at_us) = 5 "
        "from public.crm_sla_intake_plan_for(%s, public.sla_now()) as p", (bare, bare))
    sql = ("insert into public.crm_leads (assigned_agent_id, source, lead_claimed) values "
           "(%s, 'bare', false), (%s, 'bare', true), (%s, 'web', false), (%s, 'web', true) "
           "returning id")
    with world.as_service() if session == "service" else world.as_agent(ada) as conn:
        ids = [r["id"] for r in conn.execute(sql, (ann,) * 4).fetchall()]
    rows = [world.row(lead) for lead in ids]
    for row in rows[:2]:  # the bare policy: around the clock, no warning, no step
        assert row["sla_policy_id"] == bare
        assert row["sla_timer_calendar_id"] is None
        assert row["sla_warn_at"] is None and row["sla_step_at"] is None
        assert row["claim_timer_expires_at"] - row["claim_timer_started_at"] == FIVE
    assert rows[0]["sla_timer_window"] == FIVE
    assert rows[1]["sla_timer_window"] == timedelta(minutes=7)
    assert rows[1]["contact_timer_expires_at"] - rows[1]["contact_timer_started_at"] \
        == timedelta(minutes=7)
    expected = world.db.execute(
        """
        select public.crm_sla_deadline(%(cal)s, %(at)s, '5 minutes') as claim_expires,
               public.crm_sla_warn_instant(null, %(cal)s, %(at)s, '5 minutes') as warn,
               public.crm_sla_step_instant(null, 'claim_window', %(cal)s, %(at)s,
                                           '5 minutes', null) as step,
               public.crm_sla_step_instant(null, 'contact_window', %(cal)s, %(at)s,
                                           '5 minutes', null) as contact_step
        """, {"cal": cal, "at": rows[2]["claim_timer_started_at"]}).fetchone()
    assert None not in expected.values()
    for row in rows[2:]:  # no policy: the settings' calendar, warning and steps
        assert row["sla_policy_id"] is None and row["sla_timer_calendar_id"] == cal
        assert row["claim_timer_expires_at"] == expected["claim_expires"]
    assert rows[2]["sla_warn_at"] == expected["warn"] and rows[2]["sla_step_at"] == expected["step"]
    assert rows[3]["contact_timer_expires_at"] == expected["claim_expires"]  # 5 minutes too
    assert rows[3]["sla_warn_at"] == expected["warn"]
    assert rows[3]["sla_step_at"] == expected["contact_step"]
