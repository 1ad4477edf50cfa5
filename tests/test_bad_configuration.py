"""Bad configuration never stops the engine (SPEC, "Release 0.2.0 and hardening"): policy windows,
max_reassignments and match are bounded (SL010, nothing written), a policy that matches no lead
costs no lead anything, the view and crm_sla_timer_left never overflow on long timers (even on an
old row written before the checks), and calendars are bounded too."""

from __future__ import annotations

import psycopg
import pytest

from tests.test_policies import calls_during, office, policy


def refused(world, sql: str, params: tuple = ()) -> psycopg.Error:
    with pytest.raises(psycopg.Error) as err:
        world.db.execute(sql, params)
    assert err.value.diag.sqlstate == "SL010"
    assert err.value.diag.message_hint
    return err.value


def unchecked(world, sql: str, params: tuple = ()) -> None:
    """Writes as an old row would have been written, before the checks existed."""
    with world.db.transaction():
        world.db.execute("set local session_replication_role = replica")
        world.db.execute(sql, params)


BAD_POLICIES = [
    ("contact_window", "300000 years"),
    ("claim_window", "50 years"),
    ("claim_window", "1 year 1 second"),
    ("contact_window", "-5 minutes"),
    ("claim_window", "0"),
    ("max_reassignments", -1),
    ("match", psycopg.types.json.Jsonb(["source", "web"])),
    ("match", psycopg.types.json.Jsonb({"source": "x" * 8200})),
]


@pytest.mark.parametrize("column, value", BAD_POLICIES, ids=[f"{c}={str(v)[:20]}"
                                                             for c, v in BAD_POLICIES])
def test_a_policy_out_of_bounds_is_refused_and_nothing_is_written(world, column, value):
    ann = world.agent("Ann")
    refused(world, f"insert into public.crm_sla_policies (name, match, {column}) "
            f"values ('Bad', '{{\"source\": \"nowhere\"}}', %s)"
            if column != "match" else
            "insert into public.crm_sla_policies (name, match) values ('Bad', %s)", (value,))
    good = policy(world, "Good", {"source": "web"})
    refused(world, f"update public.crm_sla_policies set {column} = %s where id = %s", (value, good))
    assert world.scalar("select count(*) from public.crm_sla_policies") == 1
    lead = world.lead(ann, source="web")
    assert world.row(lead)["sla_policy_id"] == good


def test_the_bounds_themselves_are_accepted(world):
    ann = world.agent("Ann")
    longest = policy(world, "Year", {"source": "web"}, claim_window="1 year",
                     contact_window="1 year", max_reassignments=0, priority=-2147483648)
    lead = world.lead(ann, source="web")
    assert world.row(lead)["sla_policy_id"] == longest
    card = world.db.execute("select seconds_left from public.crm_lead_sla_timers "
                            "where lead_id = %s", (lead,)).fetchone()
    assert 365 * 86400 - 60 < card["seconds_left"] <= 366 * 86400


def test_a_bad_policy_written_before_the_checks_cannot_break_intake(world):
    ann = world.agent("Ann")
    unchecked(world, "insert into public.crm_sla_policies (name, match, contact_window) values "
              "('Old, matches nothing', '{\"source\": \"nowhere\"}', '300000 years'), "
              "('Old, inactive', '{}', '300000 years')")
    # An old bad row can still be deactivated (an update checks only what it changes).
    world.db.execute("update public.crm_sla_policies set is_active = false "
                     "where name = 'Old, inactive'")
    lead = world.lead(ann, source="web")
    row = world.row(lead)
    assert row["sla_policy_id"] is None and row["claim_timer_expires_at"] is not None
    with world.as_agent(ann) as conn:  # API sessions read the policies for each lead
        conn.execute("update public.crm_leads set lead_claimed = true where id = %s", (lead,))
    with world.as_service() as conn:
        conn.execute("insert into public.crm_leads (assigned_agent_id, source) "
                     "select %s, 'web' from generate_series(1, 3)", (ann,))
    assert world.scalar("select count(*) from public.crm_leads") == 4


def test_policies_no_lead_matches_cost_intake_no_planning(world):
    ann = world.agent("Ann")
    cal = office(world)
    web = policy(world, "Web", {"source": "web"}, calendar_id=cal, priority=1000)
    insert = ("insert into public.crm_leads (assigned_agent_id, source) "
              "select %s, 'web' from generate_series(1, 200)")
    alone = calls_during(world, "crm_sla_deadline", insert, (ann,))
    world.db.execute(
        "insert into public.crm_sla_policies (name, match, calendar_id, is_active) "
        "select 'Other ' || i, jsonb_build_object('source', 'other-' || i), %s, i %% 2 = 0 "
        "from generate_series(1, 1000) as i", (cal,))
    among_a_thousand = calls_during(world, "crm_sla_deadline", insert, (ann,))
    assert world.scalar("select count(*) from public.crm_leads where sla_policy_id = %s",
                        (web,)) == 400
    # The defaults' and the one matched policy's deadlines and warnings, once a statement.
    assert among_a_thousand == alone <= 8


def test_the_view_and_timer_left_never_overflow_on_long_timers(world):
    ann, bob = world.agents("Ann", "Bob")
    cal = office(world)
    unchecked(world, "insert into public.crm_sla_policies (name, match, claim_window) values "
              "('Old fifty years', '{\"source\": \"web\"}', '50 years')")
    fifty = world.lead(ann, source="web")
    forever = world.lead(bob)
    unchecked(world, "update public.crm_leads set claim_timer_expires_at = 'infinity', "
              "sla_timer_calendar_id = %s where id = %s", (cal, forever))
    ago = world.lead(bob)
    unchecked(world, "update public.crm_leads set claim_timer_expires_at = '-infinity' "
              "where id = %s", (ago,))
    cards = {r["lead_id"]: float(r["seconds_left"]) for r in world.db.execute(
        "select lead_id, seconds_left from public.crm_lead_sla_timers").fetchall()}
    thirty_years = 30 * 365.25 * 86400
    assert cards[fifty] == pytest.approx(thirty_years, rel=0.01)
    assert cards[forever] == pytest.approx(thirty_years, rel=0.01)
    assert cards[ago] == pytest.approx(-thirty_years, rel=0.01)
    left = world.db.execute(
        "select * from public.crm_sla_timer_left(%s, now(), 'infinity')", (cal,)).fetchone()
    assert float(left["seconds_left"]) == pytest.approx(thirty_years, rel=0.01)


@pytest.mark.parametrize("zone", ["localtime", "posixrules"])
def test_a_time_zone_that_depends_on_the_server_is_refused(world, zone):
    refused(world, "insert into public.crm_sla_calendars (name, time_zone) values ('Here', %s)",
            (zone,))
    cal = office(world)
    refused(world, "update public.crm_sla_calendars set time_zone = %s where id = %s",
            (zone, cal))
    assert world.scalar("select time_zone from public.crm_sla_calendars") == "America/New_York"


def test_a_calendar_has_at_most_56_open_stretches_and_10000_holidays(world):
    cal = world.scalar("insert into public.crm_sla_calendars (name) values ('Busy') returning id")
    world.db.execute(
        "insert into public.crm_sla_calendar_hours (calendar_id, weekday, opens, closes) "
        "select %s, d, make_time(h * 2, 0, 0), make_time(h * 2 + 1, 0, 0) "
        "from generate_series(0, 6) as d, generate_series(0, 7) as h", (cal,))
    refused(world, "insert into public.crm_sla_calendar_hours (calendar_id, weekday, opens, "
            "closes) values (%s, 1, '20:00', '21:00')", (cal,))
    assert world.scalar("select count(*) from public.crm_sla_calendar_hours") == 56
    world.db.execute("insert into public.crm_sla_holidays (calendar_id, day) "
                     "select %s, date '2000-01-01' + i from generate_series(0, 9999) as i", (cal,))
    refused(world, "insert into public.crm_sla_holidays (calendar_id, day) "
            "values (%s, '2100-01-01')", (cal,))
    assert world.scalar("select count(*) from public.crm_sla_holidays") == 10000


def test_a_calendar_edit_that_replans_thousands_of_timers_says_how_long_it_took(world):
    ann = world.agent("Ann")
    cal = office(world)
    policy(world, "Office", {}, calendar_id=cal)
    world.db.execute("insert into public.crm_leads (assigned_agent_id) "
                     "select %s from generate_series(1, 1200)", (ann,))
    notices: list[str] = []  # a notice's text is readable only while the handler runs
    world.db.add_notice_handler(lambda notice: notices.append(notice.message_primary or ""))
    # A week of holidays from today moves every deadline.
    world.db.execute("insert into public.crm_sla_holidays (calendar_id, day) "
                     "select %s, (sla_now() at time zone 'America/New_York')::date + i "
                     "from generate_series(-1, 7) as i", (cal,))
    said = [text for text in notices if "re-planned" in text]
    assert len(said) == 1 and said[0].startswith("calendar edit re-planned 1200 running timers in ")
