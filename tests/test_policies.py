"""SLA policies, line by line of docs/policies.md: chosen at intake (priority, then name,
`to_jsonb(lead) @> match`), kept in the engine-owned crm_leads.sla_policy_id, and followed by every
timer of the lead (claim, contact, the fresh claim window after a reassignment) in its calendar's
open time, with its max_reassignments; the settings' defaults for leads no policy matches;
re-planning when a calendar changes; a calendar with no open time; the lead card."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import psycopg
import pytest

from harness import status
from tests.calendar_reference import Calendar

ZONE = "America/New_York"
WEEKDAYS = [(d, "09:00", "17:00") for d in range(1, 6)]
OFFICE = Calendar(ZONE, WEEKDAYS)


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(ZONE))


def office(world, name: str = "Office") -> str:
    cal = world.scalar("insert into public.crm_sla_calendars (name, time_zone) values (%s, %s) "
                       "returning id", (name, ZONE))
    world.db.execute("insert into public.crm_sla_calendar_hours (calendar_id, weekday, opens, "
                     "closes) select %s, d, '09:00', '17:00' from generate_series(1, 5) as d",
                     (cal,))
    return cal


def policy(world, name: str, match: dict | None = None, **values) -> str:
    values = {"name": name, "match": psycopg.types.json.Jsonb(match or {}), **values}
    cols = ", ".join(values)
    marks = ", ".join(["%s"] * len(values))
    return world.scalar(f"insert into public.crm_sla_policies ({cols}) values ({marks}) "
                        "returning id", tuple(values.values()))


def travel_to(world, at: datetime) -> datetime:
    """Moves the SLA clock to about `at` (it only moves forward); returns sla_now()."""
    return world.travel(at - world.now())


def friday_evening(world) -> datetime:
    """The SLA clock at the next Friday 16:58 in New York (a few milliseconds later)."""
    now = world.now().astimezone(ZoneInfo(ZONE))
    friday = now.date() + timedelta(days=(4 - now.weekday()) % 7 + 7)
    return travel_to(world, local(f"{friday.isoformat()} 16:58"))


def test_one_insert_of_mixed_sources_gives_each_lead_its_own_policy_and_timers(world):
    ann = world.agent("Ann")
    cal = office(world)
    hot = policy(world, "Hot web", {"source": "web"}, priority=10, claim_window="2 minutes")
    partner = policy(world, "Partner", {"source": "partner"}, priority=20,
                     claim_window="30 minutes", calendar_id=cal)
    start = friday_evening(world)
    with world.as_service() as conn:
        conn.execute(
            "insert into public.crm_leads (assigned_agent_id, full_name, source) "
            "select %s, 'Lead ' || i, (array['web', 'partner', 'phone'])[i %% 3 + 1] "
            "from generate_series(1, 300) as i", (ann,))
    rows = world.db.execute("select * from public.crm_leads order by full_name").fetchall()
    assert len(rows) == 300
    by_source = {}
    for row in rows:
        by_source.setdefault(row["source"], set()).add(
            (row["sla_policy_id"], row["claim_timer_expires_at"] - row["claim_timer_started_at"]))
    started = rows[0]["claim_timer_started_at"]
    partner_due = OFFICE.add(started, timedelta(minutes=30))
    assert by_source == {
        "web": {(hot, timedelta(minutes=2))},
        "partner": {(partner, partner_due - started)},
        "phone": {(None, timedelta(minutes=5))},
    }
    assert partner_due.astimezone(ZoneInfo(ZONE)).weekday() == 0  # Monday
    assert abs(start - started) < timedelta(seconds=5)


def calls_during(world, function: str, statement: str, params: tuple | None = None) -> int:
    """How many times `function` ran for `statement` (its own transaction; the counts of the
    session's earlier transactions may still be pending in the view, hence the difference)."""
    count = ("select coalesce(sum(calls), 0) from pg_stat_xact_user_functions "
             "where funcname = %s")
    world.db.execute("set track_functions = 'all'")
    with world.db.transaction():
        before = world.scalar(count, (function,))
        world.db.execute(statement, params)
        return world.scalar(count, (function,)) - before


def test_one_insert_computes_a_policys_calendar_once_not_once_a_lead(world):
    ann = world.agent("Ann")
    cal = office(world)
    policy(world, "Partner", {"source": "partner"}, calendar_id=cal)
    calls = calls_during(
        world, "sla_business_add", "insert into public.crm_leads (assigned_agent_id, source) "
        "select %s, 'partner' from generate_series(1, 500)", (ann,))
    assert world.scalar("select count(*) from public.crm_leads where sla_policy_id is not null") \
        == 500
    assert calls == 4  # its claim and contact deadlines and warnings, for the whole statement


def test_routing_and_reassigning_compute_a_policys_timer_once_not_once_a_lead(world):
    world.agents("Ann", "Bob")
    policy(world, "Partner", {"source": "partner"}, calendar_id=office(world))
    routed = calls_during(
        world, "crm_sla_timer_plan",
        "insert into public.crm_leads (full_name, source) select 'Lead ' || i, "
        "(array['partner', 'web'])[i % 2 + 1] from generate_series(1, 300) as i")
    world.travel("8 days")  # every claim window, plain or in office hours, has run out
    moved = calls_during(world, "crm_sla_timer_plan", "select public.process_sla_timers()")
    leads = world.db.execute(
        "select sla_policy_id, assigned_agent_id, reassignment_count, "
        "claim_timer_expires_at > public.sla_now() as running from public.crm_leads").fetchall()
    assert len(leads) == 300 and sum(r["sla_policy_id"] is not None for r in leads) == 150
    assert all(r["reassignment_count"] == 1 and r["running"] for r in leads)
    # One plan for each policy among the leads (the partner policy and the defaults), computed
    # once for the routing statement and once for the monitor's batch; the statement's intake
    # planned each once too (crm_sla_intake_plan_for: its claim and contact timers).
    assert (routed, moved) == (2 + 2 * 2, 2)


@pytest.mark.parametrize("fillers", [0, 12], ids=["a few policies", "many policies"])
def test_one_statement_plans_each_matched_policy_once_and_each_lead_gets_its_own(world, fillers):
    """Intake plans the defaults once a statement and a policy when its first lead matches it
    (crm_sla_intake_plan_for), then gives the statement's later leads of that policy the plan it
    kept: interleaved leads of three policies each get their own windows, with up to 8 active
    policies (matches tried in turn) and with more (the key-set index)."""
    ann = world.agent("Ann")
    for i in range(fillers):
        policy(world, f"Filler {i:02}", {"source": f"other-{i}"}, priority=i)
    minutes = {"web": 2, "fax": 3, "phone": 7}
    ids = {source: policy(world, source, {"source": source}, claim_window=f"{m} minutes",
                          contact_window=f"{m + 10} minutes")
           for source, m in minutes.items()}
    sources = ["web", "fax", "mail", "phone"] * 5  # mail: no policy, the settings' 5 minutes
    values = ", ".join(f"(%s, '{source}', {i % 3 == 0})" for i, source in enumerate(sources))
    calls = calls_during(
        world, "crm_sla_intake_plan_for", "insert into public.crm_leads (assigned_agent_id, "
        f"source, lead_claimed) values {values}", (ann,) * len(sources))
    assert calls == 1 + 3  # the defaults and each matched policy, once: not once a lead
    rows = world.db.execute("select * from public.crm_leads").fetchall()
    assert len(rows) == len(sources)
    for row in rows:
        claim = timedelta(minutes=minutes.get(row["source"], 5))
        assert row["sla_policy_id"] == ids.get(row["source"])
        assert row["claim_timer_expires_at"] - row["claim_timer_started_at"] == claim
        if row["lead_claimed"]:
            contact = timedelta(minutes=minutes[row["source"]] + 10) if row["sla_policy_id"] \
                else timedelta(minutes=5)
            assert row["contact_timer_expires_at"] - row["contact_timer_started_at"] == contact
            assert row["sla_timer_window"] == contact
        else:
            assert row["contact_timer_expires_at"] is None and row["sla_timer_window"] == claim


def test_the_first_active_policy_by_priority_then_name_wins(world):
    ann = world.agent("Ann")
    policy(world, "Zeta", {"source": "web"}, priority=5)
    alpha = policy(world, "Alpha", {"source": "web"}, priority=5)
    policy(world, "Inactive first", {"source": "web"}, priority=1, is_active=False)
    policy(world, "Hot web", {"source": "web", "full_name": "VIP"}, priority=50)
    catch_all = policy(world, "Everything else", {}, priority=1000)
    web = world.lead(ann, source="web")
    other = world.lead(ann, source="fax")
    assert world.row(web)["sla_policy_id"] == alpha
    assert world.row(other)["sla_policy_id"] == catch_all


def test_priority_decides_before_the_name(world):
    # The names sort the other way round from the priorities: only priority can pick "Zulu".
    ann = world.agent("Ann")
    policy(world, "Alpha", {"source": "web"}, priority=20)
    policy(world, "Bravo", {"source": "web"}, priority=10)
    zulu = policy(world, "Zulu", {"source": "web"}, priority=-5)
    leads = [world.lead(ann, source="web") for _ in range(2)]
    with world.as_service() as conn:
        bulk = [r["id"] for r in conn.execute(
            "insert into public.crm_leads (assigned_agent_id, source) "
            "select %s, 'web' from generate_series(1, 3) returning id", (ann,)).fetchall()]
    assert {world.row(lead)["sla_policy_id"] for lead in leads + bulk} == {zulu}


def test_among_many_policies_priority_still_decides_before_the_name(world):
    # More than 8 active policies take intake's one-query path: the same order holds there.
    ann = world.agent("Ann")
    for i in range(20):
        policy(world, f"Filler {i:02}", {"source": f"other-{i}"}, priority=i)
    policy(world, "Alpha", {"source": "web"}, priority=30)
    zulu = policy(world, "Zulu", {"source": "web"}, priority=25)
    catch_all = policy(world, "Aardvark", {}, priority=40)
    with world.as_service() as conn:
        leads = [r["id"] for r in conn.execute(
            "insert into public.crm_leads (assigned_agent_id, source) "
            "values (%s, 'web'), (%s, 'fax'), (%s, 'other-3') returning id", (ann,) * 3)]
    chosen = [world.row(lead)["sla_policy_id"] for lead in leads]
    assert chosen[:2] == [zulu, catch_all]
    assert world.scalar("select name from public.crm_sla_policies where id = %s",
                        (chosen[2],)) == "Filler 03"


def test_among_many_policies_a_lead_gets_the_same_policy_as_containment_says(world):
    """Many active policies go through an index of their match keys: each kind of match
    (several keys, a null, a boolean, a number, an array, a key that is no column, the catch-all)
    still picks what `row @> match` in priority order picks, for bulk and API inserts alike, and
    a policy's timers are still planned once a statement."""
    world.db.execute("alter table public.crm_leads add column tags text[], "
                     "add column score numeric, add column vip boolean")
    ann = world.agent("Ann")
    for i in range(30):
        policy(world, f"Filler {i:02}", {"source": f"other-{i}", "email": None}, priority=50)
    cases = {  # name: (match, priority)
        "Web Berlin": ({"source": "web", "full_name": "Berlin"}, 1),
        "Web": ({"source": "web"}, 2),
        "No email": ({"email": None}, 3),
        "VIP": ({"vip": True}, 0),
        "Score 10": ({"score": 10}, 4),  # a number: 10.0 in the row still matches
        "Tagged hot": ({"tags": ["hot"]}, 5),  # an array: any row whose tags include hot
        "Not a column": ({"no_such_column": None}, -1),  # never matches
        "Catch-all": ({}, 60),
    }
    ids = {name: policy(world, name, match, priority=priority)
           for name, (match, priority) in cases.items()}
    rows = [  # (values, the policy that containment in priority order picks)
        ({"source": "web", "full_name": "Berlin", "email": "a@b.c"}, "Web Berlin"),
        ({"source": "web", "full_name": "Paris", "email": "a@b.c"}, "Web"),
        ({"source": "fax", "email": None}, "No email"),
        ({"source": "web", "vip": True, "email": None}, "VIP"),
        ({"source": "fax", "email": "a@b.c", "score": "10.0"}, "Score 10"),
        ({"source": "fax", "email": "a@b.c", "tags": "{cold,hot}"}, "Tagged hot"),
        ({"source": "other-7", "email": "a@b.c"}, "Catch-all"),
        ({"source": "other-7", "email": None}, "No email"),
    ]
    columns = ("source", "full_name", "email", "vip", "score", "tags")

    def insert(conn, values) -> list:
        rows_sql = ", ".join(["(%s, %s, %s, %s, %s, %s, %s::text[])"] * len(values))
        return [r["id"] for r in conn.execute(
            "insert into public.crm_leads (assigned_agent_id, source, full_name, email, vip, "
            f"score, tags) values {rows_sql} returning id",
            tuple(x for v in values for x in (ann, *(v.get(c) for c in columns)))).fetchall()]

    expected = [ids[name] for _values, name in rows]
    with world.as_service() as conn:
        bulk = insert(conn, [v for v, _ in rows])
    assert [world.row(lead)["sla_policy_id"] for lead in bulk] == expected
    admin = world.agent("Ada", role="admin")
    with world.as_agent(admin) as conn:  # an API session picks per lead, through the same index
        single = [insert(conn, [v])[0] for v, _ in rows]
    assert [world.row(lead)["sla_policy_id"] for lead in single] == expected
    # What containment itself says, in priority order, agrees for every row.
    for lead, want in zip(bulk, expected, strict=True):
        assert world.scalar(
            "select p.id from public.crm_sla_policies p, public.crm_leads l where l.id = %s "
            "and p.is_active and to_jsonb(l) @> p.match order by p.priority, p.name limit 1",
            (lead,)) == want
    again = ("insert into public.crm_leads (assigned_agent_id, source, email) "
             "select %s, 'web', 'x@y.z' from generate_series(1, 50)")
    # The defaults' and the one matched policy's deadlines, once a statement, not 50 times.
    assert calls_during(world, "crm_sla_deadline", again, (ann,)) <= 8


def test_a_match_on_a_crm_column_of_the_adopters_own(world):
    world.db.execute("alter table public.crm_leads add column lead_source text")
    ann = world.agent("Ann")
    web = policy(world, "Web", {"lead_source": "web"}, claim_window="2 minutes")
    lead = world.lead(ann, lead_source="web")
    assert world.row(lead)["sla_policy_id"] == web


def test_the_policy_column_is_the_engines(world):
    ann = world.agent("Ann")
    web = policy(world, "Web", {"source": "web"})
    other = policy(world, "Other", {"source": "other"})
    with world.as_service() as conn:
        lead = conn.execute(
            "insert into public.crm_leads (assigned_agent_id, source, sla_policy_id) "
            "values (%s, 'web', %s) returning id", (ann, other)).fetchone()["id"]
    assert world.row(lead)["sla_policy_id"] == web  # ignored on insert, like the timers
    for conn_cm in (world.as_service(), world.as_agent(ann)):
        with conn_cm as conn, pytest.raises(psycopg.errors.Error) as caught:
            conn.execute("update public.crm_leads set sla_policy_id = %s where id = %s",
                         (other, lead))
        assert caught.value.sqlstate == "SL009"
    assert world.row(lead)["sla_policy_id"] == web


def test_claim_and_contact_windows_count_in_the_policys_open_time(world):
    ann = world.agent("Ann")
    cal = office(world)
    policy(world, "Partner", {"source": "partner"}, claim_window="30 minutes",
           contact_window="1 hour", calendar_id=cal)
    friday_evening(world)
    lead = world.lead(ann, source="partner")
    world.travel("1 minute")
    with world.as_agent(ann) as conn:
        conn.execute("select public.claim_lead(%s)", (lead,))
    row = world.row(lead)
    assert row["contact_timer_expires_at"] \
        == OFFICE.add(row["contact_timer_started_at"], timedelta(hours=1))
    assert row["sla_timer_window"] == timedelta(hours=1)
    assert not row["claim_sla_breached"]


def test_a_reassigned_lead_gets_its_policys_claim_window_and_escalates_after_its_max(world):
    ann, bob = world.agents("Ann", "Bob")
    dee = world.agent("Dee", role="admin")
    policy(world, "Hot web", {"source": "web"}, claim_window="2 minutes", max_reassignments=1)
    lead = world.lead(ann, source="web")
    world.travel("2 minutes")
    assert world.monitor()["unclaimed"] == 1
    row = world.row(lead)
    assert row["assigned_agent_id"] == bob
    assert row["claim_timer_expires_at"] - row["claim_timer_started_at"] == timedelta(minutes=2)
    world.travel("2 minutes")
    assert world.monitor()["escalated"] == 1  # the policy allows one move, the settings three
    assert world.row(lead)["assigned_agent_id"] == dee
    plain = world.lead(ann, source="phone")
    world.travel("2 minutes")
    assert world.monitor()["unclaimed"] == 0
    world.travel("3 minutes")
    assert world.monitor()["unclaimed"] == 1
    assert world.row(plain)["sla_escalated_at"] is None


def test_a_manual_reassignment_restarts_the_claim_window_in_open_time(world):
    ann, bob = world.agents("Ann", "Bob")
    cal = office(world)
    policy(world, "Partner", {"source": "partner"}, claim_window="30 minutes", calendar_id=cal)
    friday_evening(world)
    lead = world.lead(ann, source="partner")
    world.travel("10 minutes")  # Friday 17:08: closed
    world.db.execute("select public.reassign_lead(%s, %s)", (lead, bob))
    row = world.row(lead)
    assert row["claim_timer_expires_at"] \
        == OFFICE.add(row["claim_timer_started_at"], timedelta(minutes=30))
    assert row["claim_timer_expires_at"].astimezone(ZoneInfo(ZONE)).strftime("%a %H:%M") \
        == "Mon 09:30"


def test_the_settings_are_the_defaults_for_leads_no_policy_matches(world):
    ann = world.agent("Ann")
    cal = office(world)
    policy(world, "Web", {"source": "web"})
    world.settings(calendar_id=cal, claim_window="15 minutes", warn_at=0.5)
    friday_evening(world)
    lead = world.lead(ann, source="phone")
    row = world.row(lead)
    assert row["sla_policy_id"] is None
    assert row["sla_timer_calendar_id"] == cal
    assert row["claim_timer_expires_at"] \
        == OFFICE.add(row["claim_timer_started_at"], timedelta(minutes=15))
    web = world.row(world.lead(ann, source="web"))  # a policy without a calendar: plain time
    assert web["claim_timer_expires_at"] - web["claim_timer_started_at"] == timedelta(minutes=5)


def test_a_changed_window_applies_to_timers_started_afterwards(world):
    ann = world.agent("Ann")
    cal = office(world)
    pid = policy(world, "Partner", {"source": "partner"}, claim_window="30 minutes",
                 calendar_id=cal)
    friday_evening(world)
    first = world.lead(ann, source="partner")
    world.db.execute("update public.crm_sla_policies set claim_window = '1 hour' where id = %s",
                     (pid,))
    second = world.lead(ann, source="partner")
    # A later calendar edit re-plans both, each with the window it started with.
    world.db.execute("update public.crm_sla_calendar_hours set opens = '08:00' "
                     "where calendar_id = %s", (cal,))
    # Friday 16:58 to 17:00 counts; the rest from Monday's new opening, 08:00.
    for lead, expected in ((first, "Mon 08:28"), (second, "Mon 08:58")):
        due = world.row(lead)["claim_timer_expires_at"]
        assert due.astimezone(ZoneInfo(ZONE)).strftime("%a %H:%M") == expected


def test_editing_hours_or_holidays_replans_running_timers_in_the_same_transaction(world):
    ann = world.agent("Ann")
    cal = office(world)
    policy(world, "Partner", {"source": "partner"}, claim_window="30 minutes",
           contact_window="1 hour", calendar_id=cal)
    start = friday_evening(world)
    waiting = world.lead(ann, source="partner")
    claimed = world.lead(ann, source="partner", lead_claimed=True)
    done = world.lead(ann, source="partner", lead_claimed=True, first_action_completed=True)
    monday = (start.astimezone(ZoneInfo(ZONE)).date() + timedelta(days=3))
    before = {lead: world.row(lead) for lead in (waiting, claimed, done)}
    with world.db.transaction():
        world.db.execute("insert into public.crm_sla_holidays (calendar_id, day, name) values "
                         "(%s, %s, 'Long weekend')", (cal, monday))
        inside = world.row(waiting)["claim_timer_expires_at"]
        # Friday 16:58 to 17:00 counted; Monday is off now, so the rest comes on Tuesday.
        assert inside.astimezone(ZoneInfo(ZONE)).strftime("%a %H:%M") == "Tue 09:28"
        assert world.row(claimed)["contact_timer_expires_at"].astimezone(
            ZoneInfo(ZONE)).strftime("%a %H:%M") == "Tue 09:58"
        assert world.row(done)["contact_timer_expires_at"] \
            == before[done]["contact_timer_expires_at"]  # not running: left alone
        world.db.execute("update public.crm_sla_calendar_hours set opens = '10:00' "
                         "where calendar_id = %s and weekday = 2", (cal,))
        assert world.row(waiting)["claim_timer_expires_at"].astimezone(
            ZoneInfo(ZONE)).strftime("%a %H:%M") == "Tue 10:28"
        raise psycopg.Rollback()
    for lead in (waiting, claimed, done):  # rolled back: so are the new deadlines
        assert world.row(lead) == before[lead]


def test_a_calendar_with_no_open_time_never_fails_intake_and_status_says_so(world):
    ann = world.agent("Ann")
    empty = world.scalar("insert into public.crm_sla_calendars (name) values ('Closed') "
                         "returning id")
    policy(world, "Closed desk", {"source": "web"}, claim_window="3 minutes", calendar_id=empty)
    lead = world.lead(ann, source="web")
    row = world.row(lead)
    assert row["claim_timer_expires_at"] - row["claim_timer_started_at"] == timedelta(minutes=3)
    report = status.collect(world.url)
    assert report["leads"]["plain_time_calendars"] == [
        {"calendar": "Closed", "running_timers": 1}]
    assert "Closed" in status.render(report)
    # Holidays all year long do the same; hours added later re-plan the timer in open time.
    world.db.execute("insert into public.crm_sla_calendar_hours select %s, d, '00:00', '24:00' "
                     "from generate_series(0, 6) as d", (empty,))
    assert world.row(lead)["claim_timer_expires_at"] == row["claim_timer_expires_at"]
    today = world.now().date()
    world.db.execute("insert into public.crm_sla_holidays (calendar_id, day) select %s, d::date "
                     "from generate_series(%s::date - 1, %s::date + 400, interval '1 day') as d",
                     (empty, today, today))
    later = world.row(world.lead(ann, source="web"))
    assert later["claim_timer_expires_at"] - later["claim_timer_started_at"] \
        == timedelta(minutes=3)


def test_the_lead_card_shows_the_policy_the_open_time_left_and_a_pause(world):
    ann = world.agent("Ann")
    cal = office(world)
    policy(world, "Partner", {"source": "partner"}, claim_window="30 minutes", calendar_id=cal)
    friday_evening(world)
    lead = world.lead(ann, source="partner")
    card = world.db.execute("select * from public.crm_lead_sla_timers where lead_id = %s",
                            (lead,)).fetchone()
    assert card["policy_name"] == "Partner"
    assert not card["timer_paused"] and card["timer_resumes_at"] is None
    assert 30 * 60 - 5 <= card["seconds_left"] <= 30 * 60  # open time: all 30 minutes
    world.travel("5 minutes")  # 17:03: two of them used, closed until Monday 09:00
    card = world.db.execute("select * from public.crm_lead_sla_timers where lead_id = %s",
                            (lead,)).fetchone()
    assert card["timer_paused"]
    assert card["timer_resumes_at"].astimezone(ZoneInfo(ZONE)).strftime("%a %H:%M") == "Mon 09:00"
    assert abs(card["seconds_left"] - 28 * 60) < 5
    with world.as_agent(ann) as conn:
        mine = conn.execute("select policy_name, timer_paused from public.crm_lead_sla_timers"
                            ).fetchall()
    assert mine == [{"policy_name": "Partner", "timer_paused": True}]


def test_status_counts_open_timers_per_policy(world):
    ann = world.agent("Ann")
    policy(world, "Hot web", {"source": "web"}, claim_window="2 minutes")
    for source in ("web", "web", "phone"):
        world.lead(ann, source=source)
    world.travel("3 minutes")
    report = status.collect(world.url)
    assert report["leads"]["open_timers_by_policy"] == {
        "Hot web": {"leads": 2, "overdue": 2}, "(no policy)": {"leads": 1, "overdue": 0}}
    assert "Hot web" in status.render(report)


def test_admins_write_policies_agents_read_them_anon_sees_nothing(world):
    ann, dee = world.agent("Ann"), world.agent("Dee", role="admin")
    with world.as_agent(dee) as conn:
        conn.execute("insert into public.crm_sla_policies (name) values ('By an admin')")
    with world.as_agent(ann) as conn:
        assert [r["name"] for r in conn.execute("select name from public.crm_sla_policies")] \
            == ["By an admin"]
        assert conn.execute("update public.crm_sla_policies set priority = 1").rowcount == 0
    with world.as_anon() as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("select * from public.crm_sla_policies")


def test_a_policy_that_leads_follow_cannot_be_deleted_only_deactivated(world):
    ann = world.agent("Ann")
    web = policy(world, "Web", {"source": "web"})
    unused = policy(world, "Unused", {"source": "fax"})
    lead = world.lead(ann, source="web")
    with pytest.raises(psycopg.errors.Error) as caught:
        world.db.execute("delete from public.crm_sla_policies where id = %s", (web,))
    assert caught.value.sqlstate == "SL010" and caught.value.diag.message_hint
    world.db.execute("update public.crm_sla_policies set is_active = false where id = %s", (web,))
    assert world.row(world.lead(ann, source="web"))["sla_policy_id"] is None
    assert world.row(lead)["sla_policy_id"] == web  # kept for life
    world.db.execute("delete from public.crm_sla_policies where id = %s", (unused,))
    assert world.scalar("select count(*) from public.crm_sla_policies") == 1


def test_deleting_a_calendar_puts_its_running_timers_on_plain_time(world):
    ann = world.agent("Ann")
    cal = office(world)
    pid = policy(world, "Partner", {"source": "partner"}, claim_window="30 minutes",
                 calendar_id=cal)
    friday_evening(world)
    lead = world.lead(ann, source="partner")
    world.db.execute("update public.crm_sla_policies set calendar_id = null where id = %s", (pid,))
    world.db.execute("delete from public.crm_sla_calendars where id = %s", (cal,))
    row = world.row(lead)
    assert row["claim_timer_expires_at"] - row["claim_timer_started_at"] \
        == timedelta(minutes=30)
    card = world.db.execute("select seconds_left, timer_paused from public.crm_lead_sla_timers "
                            "where lead_id = %s", (lead,)).fetchone()
    assert not card["timer_paused"] and card["seconds_left"] > 29 * 60
