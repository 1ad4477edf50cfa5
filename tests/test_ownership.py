"""Ownership routing (SPEC "Ownership routing", docs/routing.md#ownership-routing): a policy's
owner_key names a crm_leads column; an unowned lead with a value there goes first to the current
owner of the most recent other lead with the same value when that agent is eligible, at intake
(single-row and bulk) and out of the overflow queue; never on a breach."""

from __future__ import annotations

import json
import uuid
from collections import Counter

import psycopg
import pytest

from harness import status
from tests.cli import crm_sla
from tests.test_concurrency import assert_leads_agree_with_audit, run_together
from tests.test_routing_v2 import explain, open_leads, routing, team

BULK = """
insert into public.crm_leads (full_name, email)
select 'Lead ' || lpad(i::text, 4, '0'), (%s::text[])[1 + (i - 1) %% cardinality(%s::text[])]
from generate_series(1, %s) as i order by i
"""


def key_policy(world, column="email", team_id=None, name="Accounts") -> uuid.UUID:
    """A policy every lead follows, keyed on `column`."""
    return world.scalar(
        "insert into public.crm_sla_policies (name, priority, match, owner_key, team_id) "
        "values (%s, 1, '{}', %s, %s) returning id", (name, column, team_id))


def bulk(world, n: int, emails: list) -> None:
    with world.as_service() as conn:
        conn.execute(BULK, (emails, emails, n))


def owners_by_email(world) -> dict:
    """email -> Counter of owners of its leads (None: waiting)."""
    found: dict = {}
    for r in world.db.execute("select email, assigned_agent_id from public.crm_leads").fetchall():
        found.setdefault(r["email"], Counter())[r["assigned_agent_id"]] += 1
    return found


def waiting(world) -> int:
    return world.scalar("select count(*) from public.crm_leads where assigned_agent_id is null")


def closed_calendar(world) -> uuid.UUID:
    """A shift calendar that is closed now (open one hour, three weekdays from today)."""
    cal = world.scalar("insert into public.crm_sla_calendars (name) values ('Shift') returning id")
    world.db.execute(
        "insert into public.crm_sla_calendar_hours (calendar_id, weekday, opens, closes) "
        "values (%s, ((extract(dow from public.sla_now() at time zone 'UTC') + 3)::int %% 7), "
        "'09:00', '10:00')", (cal,))
    return cal


# -- the policy column -----------------------------------------------------------------------

def test_owner_key_must_name_a_crm_leads_column(world):
    with pytest.raises(psycopg.Error) as err:
        key_policy(world, "compny")
    assert err.value.sqlstate == "SL010"
    assert "compny" in err.value.diag.message_hint
    assert "add column compny" in err.value.diag.message_hint
    # Engine-owned columns and types = cannot compare are refused too.
    world.db.execute("alter table public.crm_leads add column profile json")
    for column in ("assigned_agent_id", "sla_policy_id", "profile"):
        with pytest.raises(psycopg.Error) as err:
            key_policy(world, column)
        assert err.value.sqlstate == "SL010", column
        assert column in err.value.diag.message_detail
    assert world.scalar("select count(*) from public.crm_sla_policies") == 0
    # A good column is accepted; changing it to a bad one writes nothing.
    pol = key_policy(world, "email")
    with pytest.raises(psycopg.Error) as err:
        world.db.execute("update public.crm_sla_policies set owner_key = 'emial' where id = %s",
                         (pol,))
    assert err.value.sqlstate == "SL010"
    assert world.scalar("select owner_key from public.crm_sla_policies") == "email"
    # A CRM column of its own works once it exists.
    world.db.execute("alter table public.crm_leads add column account_id bigint")
    world.db.execute("update public.crm_sla_policies set owner_key = 'account_id'")


# -- intake ----------------------------------------------------------------------------------

def test_single_row_intake_goes_to_the_current_owner_of_the_most_recent_lead(world):
    ann, bob, cat = world.agents("Ann", "Bob", "Cat")
    key_policy(world)
    world.lead(ann, email="acme@example.com")
    world.lead(bob, email="acme@example.com")  # the most recent: Bob's
    with world.as_service() as conn:  # a web form's INSERT ... RETURNING shows the owner
        row = conn.execute(
            "insert into public.crm_leads (full_name, email) values ('Web', 'acme@example.com') "
            "returning id, assigned_agent_id, claim_timer_started_at").fetchone()
    assert row["assigned_agent_id"] == bob and row["claim_timer_started_at"] is not None
    assert world.audit(row["id"]) == []  # a first assignment, not a reassignment
    # Current owner: after a manual reassignment to Cat, the account's next lead goes to Cat.
    with world.as_service() as conn:
        conn.execute("select public.reassign_lead(%s, %s)", (row["id"], cat))
    nxt = world.lead(email="acme@example.com")
    assert world.row(nxt)["assigned_agent_id"] == cat
    # Other values go in weighted fair order, and credits did not move for the key picks.
    others = [world.row(world.lead(email=f"new{i}@example.com"))["assigned_agent_id"]
              for i in range(6)]
    assert Counter(others) == {ann: 2, bob: 2, cat: 2}


def test_bulk_intake_with_repeated_keys(world):
    ann, bob, cat = world.agents("Ann", "Bob", "Cat")
    key_policy(world)
    world.lead(bob, email="known@example.com")
    emails = ["a@example.com", "b@example.com", "known@example.com", "c@example.com"]
    bulk(world, 24, emails)
    found = owners_by_email(world)
    # The known account's six new leads go to Bob; each new value's leads go to one agent, and
    # the three new values went in fair order (three different agents).
    assert found["known@example.com"] == {bob: 7}
    firsts = []
    for email in ("a@example.com", "b@example.com", "c@example.com"):
        assert len(found[email]) == 1 and None not in found[email], found
        firsts.append(next(iter(found[email])))
    assert set(firsts) == {ann, bob, cat}
    # The next statement keeps each account with its owner.
    bulk(world, 8, emails)
    again = owners_by_email(world)
    for email in emails:
        assert len(again[email]) == 1, again


def test_null_key_value_goes_in_fair_order(world):
    ann, bob, cat = world.agents("Ann", "Bob", "Cat")
    key_policy(world)
    world.lead(bob, email=None)
    picks = [world.row(world.lead(email=None))["assigned_agent_id"] for _ in range(6)]
    assert Counter(picks) == {ann: 2, bob: 2, cat: 2}
    bulk(world, 6, [None])
    assert Counter(r["assigned_agent_id"] for r in world.db.execute(
        "select assigned_agent_id from public.crm_leads where full_name like 'Lead %'"
    ).fetchall()) == {ann: 2, bob: 2, cat: 2}


def test_capped_owner_takes_up_to_its_cap_then_the_account_moves_on(world):
    ann, bob, cat = world.agents("Ann", "Bob", "Cat")
    routing(world, bob, cap=3)
    key_policy(world)
    world.lead(bob, email="acme@example.com")
    bulk(world, 6, ["acme@example.com"])
    found = owners_by_email(world)["acme@example.com"]
    # Bob fills his cap (3 open); the rest of the batch goes together to one other agent.
    assert found[bob] == 3 and len(found) == 2 and None not in found, found
    assert open_leads(world)[bob] == 3
    # Bob at his cap: a single new lead of the account goes to someone else.
    assert world.row(world.lead(email="acme@example.com"))["assigned_agent_id"] in {ann, cat}
    assert open_leads(world)[bob] == 3


def test_cap_holds_under_concurrent_intake(world):
    world.agents("Ann", "Cat")
    bob = world.agent("Bob")
    routing(world, bob, cap=4)
    key_policy(world)
    world.lead(bob, email="acme@example.com")

    def singles():
        with world.as_service() as conn:
            for i in range(10):
                conn.execute("insert into public.crm_leads (full_name, email) "
                             "values (%s, 'acme@example.com')", (f"single {i}",))

    def batches():
        with world.as_service() as conn:
            for _ in range(3):
                conn.execute(BULK, (["acme@example.com"], ["acme@example.com"], 4))

    results = run_together(singles, batches, singles)
    assert not any(isinstance(r, Exception) for r in results), results
    assert world.scalar("select count(*) from public.crm_leads") == 1 + 10 + 12 + 10
    assert waiting(world) == 0
    assert open_leads(world)[bob] == 4


def test_owner_off_shift_or_not_accepting_or_outside_the_team(world):
    ann, bob = world.agents("Ann", "Bob")
    key_policy(world)
    world.lead(bob, email="acme@example.com")
    world.db.execute("update public.crm_agents set accepting_leads = false where id = %s", (bob,))
    assert world.row(world.lead(email="acme@example.com"))["assigned_agent_id"] == ann
    # Bob is back, but the account's most recent lead is Ann's now.
    world.db.execute("update public.crm_agents set accepting_leads = true where id = %s", (bob,))
    assert world.row(world.lead(email="acme@example.com"))["assigned_agent_id"] == ann
    # Off shift: Ann's shift calendar is closed now.
    routing(world, ann, calendar=closed_calendar(world))
    assert world.row(world.lead(email="acme@example.com"))["assigned_agent_id"] == bob
    routing(world, ann)
    # The policy's team rules too: an owner outside the team (Bob, the newest owner) is passed
    # over.
    world.db.execute("update public.crm_sla_policies set team_id = %s",
                     (team(world, "Enterprise", ann),))
    assert world.row(world.lead(email="acme@example.com"))["assigned_agent_id"] == ann


def test_an_absent_owner_is_passed_over_and_explain_says_so(world):
    """Absences are a routing rule like the others: while the account's owner is out of office,
    its account's new leads (single-row and bulk) go in fair order, explain ranks it absent, and
    when it is back the account comes back to it."""
    ann, bob = world.agents("Ann", "Bob")
    key_policy(world)
    world.lead(bob, email="acme@example.com")
    world.db.execute(
        "insert into public.crm_sla_agent_absences (agent_id, starts_at, ends_at) "
        "values (%s, public.sla_now() - interval '1 minute', public.sla_now() + interval '1 day')",
        (bob,))
    lead = world.lead(email="acme@example.com")
    assert world.row(lead)["assigned_agent_id"] == ann
    bulk(world, 4, ["beta@example.com"])
    world.lead(bob, email="gamma@example.com")  # given by hand: the owner of gamma now
    bulk(world, 3, ["gamma@example.com"])
    owners = owners_by_email(world)
    assert bob not in owners["beta@example.com"] and owners["gamma@example.com"][bob] == 1
    explain = world.db.execute(
        "select agent_id, rank, reason from public.crm_sla_explain_routing(%s)",
        (world.lead(ann, email="gamma@example.com"),)).fetchall()
    assert any(r["agent_id"] == bob and r["reason"].startswith("absent until")
               for r in explain), explain
    world.travel("1 day 1 minute")
    assert world.row(world.lead(email="gamma@example.com"))["assigned_agent_id"] == ann
    world.lead(bob, email="delta@example.com")
    assert world.row(world.lead(email="delta@example.com"))["assigned_agent_id"] == bob


# -- the overflow queue and explain ----------------------------------------------------------

def test_overflow_queue_routes_to_the_owner_and_explain_says_why(world):
    ann, bob, cat = world.agents("Ann", "Bob", "Cat")
    key_policy(world)
    world.lead(bob, email="acme@example.com")
    world.db.execute("update public.crm_agents set accepting_leads = false where role = 'agent'")
    bulk(world, 3, ["acme@example.com"])
    queued = [r["id"] for r in world.db.execute(
        "select id from public.crm_leads where assigned_agent_id is null order by full_name")]
    assert len(queued) == 3
    assert explain(world, queued[0])[bob]["reason"] == "not accepting leads"
    world.db.execute("update public.crm_agents set accepting_leads = true where role = 'agent'")
    rows = explain(world, queued[0])
    assert rows[bob]["eligible"] and rows[bob]["rank"] == 1
    assert rows[bob]["reason"] == "owner of email acme@example.com"
    assert sorted(rows[a]["rank"] for a in (ann, cat)) == [2, 3]
    assert {rows[a]["reason"] for a in (ann, cat)} == {"eligible"}
    report = world.monitor()
    assert report["routed"] == 3
    assert {world.row(w)["assigned_agent_id"] for w in queued} == {bob}
    # Explaining an owned lead shows who would take it on a breach: not the account's owner.
    rows = explain(world, queued[0])
    assert rows[bob]["reason"] == "current owner" and rows[bob]["rank"] is None
    assert all(not r["reason"].startswith("owner of") for r in rows.values())


def test_overflow_queue_skips_an_owner_at_its_cap(world):
    ann, bob = world.agents("Ann", "Bob")
    routing(world, bob, cap=1)
    key_policy(world)
    world.db.execute("update public.crm_agents set accepting_leads = false where id = %s", (ann,))
    world.lead(bob, email="acme@example.com")  # Bob is at his cap
    lead = world.lead(email="acme@example.com")
    assert world.row(lead)["assigned_agent_id"] is None  # nobody eligible: it waits
    assert explain(world, lead)[bob]["reason"] == "at capacity 1/1"
    world.db.execute("update public.crm_agents set accepting_leads = true where id = %s", (ann,))
    assert world.monitor()["routed"] == 1
    assert world.row(lead)["assigned_agent_id"] == ann


# -- breaches and manual reassignment --------------------------------------------------------

def test_breach_does_not_send_the_lead_to_the_account_owner(world):
    ann, bob, cat = world.agents("Ann", "Bob", "Cat")
    routing(world, cat, weight=100)  # weighted fair order picks Cat; the key would pick Ann
    key_policy(world)
    done = world.lead(ann, email="acme@example.com")
    world.db.execute("update public.crm_leads set lead_claimed = true, first_action_completed = "
                     "true where id = %s", (done,))
    lead = world.lead(bob, email="acme@example.com")
    world.travel("6 minutes")
    assert world.monitor()["unclaimed"] == 1
    row = world.row(lead)
    assert row["assigned_agent_id"] == cat and row["reassignment_reason"] == "unclaimed"
    assert [(a["from_agent_id"], a["to_agent_id"]) for a in world.audit(lead)] == [(bob, cat)]
    assert_leads_agree_with_audit(world)


def test_manual_reassignment_ignores_the_key(world):
    ann, bob, cat = world.agents("Ann", "Bob", "Cat")
    key_policy(world)
    world.lead(ann, email="acme@example.com")
    lead = world.lead(email="acme@example.com")
    assert world.row(lead)["assigned_agent_id"] == ann
    with world.as_service() as conn:
        conn.execute("select public.reassign_lead(%s, %s)", (lead, cat))
    row = world.row(lead)
    assert row["assigned_agent_id"] == cat and row["reassignment_reason"] == "manual"
    # The account is Cat's from now on: its next lead follows the current owner.
    assert world.row(world.lead(email="acme@example.com"))["assigned_agent_id"] == cat
    assert bob not in open_leads(world)


# -- a key column that went away, and index advice ------------------------------------------

def test_a_dropped_key_column_never_stops_intake(world):
    ann, bob = world.agents("Ann", "Bob")
    world.db.execute("alter table public.crm_leads add column company text")
    key_policy(world, "company")
    world.lead(bob, company="Acme")
    assert world.row(world.lead(company="Acme"))["assigned_agent_id"] == bob
    world.db.execute("alter table public.crm_leads drop column company")
    picks = [world.row(world.lead())["assigned_agent_id"] for _ in range(2)]
    assert set(picks) == {ann, bob}
    bulk(world, 4, ["x@example.com"])
    assert waiting(world) == 0
    text = status.render(status.collect(world.url))
    assert "owner_key company: public.crm_leads has no column company" in text
    assert "set owner_key = null where name = 'Accounts'" in text


def test_status_and_migrate_advise_an_index_on_the_key_column(world):
    world.agent("Ann")
    key_policy(world, "email")
    line = next(x for x in status.render(status.collect(world.url)).splitlines()
                if x.startswith("owner keys"))
    assert "WARNING" in line and "owner_key email: public.crm_leads.email has no index" in line
    statement = line.split("Run: ", 1)[1]
    assert statement == ("create index concurrently if not exists crm_leads_email_idx on "
                         "public.crm_leads using hash (email);")
    migrated = crm_sla("migrate", "--no-schedule", url=world.url)
    assert migrated.returncode == 0, migrated.stderr
    assert f"Run: {statement}" in migrated.stdout
    world.db.execute(statement)  # the advice runs as given (autocommit)
    # A key value of any size still goes in (a btree would refuse one over about 2.7 kB).
    huge = "".join(uuid.uuid4().hex for _ in range(400))  # 12.8 kB, incompressible
    owner = world.row(world.lead(email=huge))["assigned_agent_id"]
    assert owner is not None
    assert world.row(world.lead(email=huge))["assigned_agent_id"] == owner
    assert "owner keys" not in status.render(status.collect(world.url))
    assert "owner_key" not in crm_sla("migrate", "--no-schedule", url=world.url).stdout
    assert json.loads(json.dumps(status.collect(world.url)["owner_keys"])) == []
