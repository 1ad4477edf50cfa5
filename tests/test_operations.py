"""Operating it: the lead-card view, per-agent statistics, `crm-sla status`, the run-history
purge, and the deterministic demo. Scenarios are built with the SLA clock."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import time
from contextlib import redirect_stdout
from datetime import timedelta

import psycopg
import pytest

from harness import schedule, status
from harness.paths import REPO_ROOT
from harness.simulate import simulate
from harness.target import with_database
from harness.testing import connect
from tests.cli import STARTED, STOP_SIGNALS, assert_one_line_error, crm_sla
from tests.test_migrations import ALL


def card(world, lead) -> dict:
    return world.db.execute("select * from public.crm_lead_sla_timers where lead_id = %s",
                            (lead,)).fetchone()


def test_lead_card_follows_the_stages_and_counts_down(world):
    ann, bob = world.agents("Ann", "Bob")
    boss = world.agent("Boss", role="admin")
    lead = world.lead(ann)
    row = card(world, lead)
    assert (row["stage"], row["agent_name"]) == ("claim", "Ann")
    assert 295 <= row["seconds_left"] <= 300
    world.travel("2 minutes")
    assert 175 <= card(world, lead)["seconds_left"] <= 180
    with world.as_agent(ann) as conn:
        conn.execute("select public.claim_lead(%s)", (lead,))
    row = card(world, lead)
    assert row["stage"] == "contact" and 295 <= row["seconds_left"] <= 300
    world.travel("6 minutes")
    assert -61 <= card(world, lead)["seconds_left"] <= -59  # overdue: negative
    world.monitor()
    row = card(world, lead)
    assert (row["stage"], row["assigned_agent_id"], row["reassignment_count"]) == ("claim", bob, 1)
    assert row["contact_sla_breached"] and row["reassignment_reason"] == "no_contact"
    with world.as_agent(bob) as conn:
        conn.execute("select public.complete_first_action(%s)", (lead,))
    row = card(world, lead)
    assert row["stage"] == "done" and row["seconds_left"] is None
    world.settings(max_reassignments=0)
    other = world.lead(ann)
    world.travel("5 minutes")
    world.monitor()
    row = card(world, other)
    assert (row["stage"], row["assigned_agent_id"], row["seconds_left"]) == (
        "escalated", boss, None)


def test_lead_card_view_shows_an_agent_only_its_own_leads(world):
    ann, bob = world.agents("Ann", "Bob")
    mine = {world.lead(ann), world.lead(ann)}
    world.lead(bob)
    with world.as_agent(ann) as conn:
        seen = {r["lead_id"] for r in conn.execute(
            "select lead_id from public.crm_lead_sla_timers").fetchall()}
    assert seen == mine
    with world.as_anon() as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("select * from public.crm_lead_sla_timers")


def stats(world, as_admin=None) -> dict:
    rows = world.db.execute(
        "select * from public.crm_agent_sla_stats(public.sla_now() - interval '1 hour', "
        "public.sla_now() + interval '1 second')").fetchall()
    return {r["full_name"]: r for r in rows}


def test_agent_statistics_match_the_scenario(world):
    ann, bob, cid = world.agents("Ann", "Bob", "Cid")
    prompt = world.lead(ann)            # Ann: claims at 1 min, contacts at 3 min
    missed = world.lead(bob)            # Bob: never claims; goes to Ann or Cid at 5 min
    world.travel("1 minute")
    with world.as_agent(ann) as conn:
        conn.execute("select public.claim_lead(%s)", (prompt,))
    world.travel("2 minutes")
    with world.as_agent(ann) as conn:
        conn.execute("select public.complete_first_action(%s)", (prompt,))
    world.travel("2 minutes")
    assert world.monitor()["unclaimed"] == 1
    new_owner = world.row(missed)["assigned_agent_id"]
    world.travel("6 minutes")           # the new owner claims late (6 min > 5)...
    with world.as_agent(new_owner) as conn:
        conn.execute("select public.claim_lead(%s)", (missed,))
    world.travel("5 minutes")           # ...and never contacts: reassigned again
    assert world.monitor()["no_contact"] == 1
    figures = stats(world)
    # Whoever got Bob's lead first (Ann or Cid), the other one got it second: Ann received it once
    # by reassignment either way.
    a = figures["Ann"]
    assert (a["leads_received"], a["received_by_reassignment"]) == (2, 1)
    assert (a["claimed_in_window"], a["contacted_in_window"]) == (1, 1)
    assert a["median_seconds_to_claim"] == (210 if new_owner == ann else 60)
    b = figures["Bob"]
    assert (b["leads_received"], b["missed_claim"], b["reassigned_away"]) == (1, 1, 1)
    assert b["breach_rate"] == 1
    late = figures["Ann" if new_owner == ann else "Cid"]
    assert (late["claimed_late"], late["missed_contact"]) == (1, 1)
    assert new_owner in (ann, cid)


def test_an_agent_reads_only_its_own_statistics(world):
    ann, _bob = world.agents("Ann", "Bob")
    boss = world.agent("Boss", role="admin")
    with world.as_agent(ann) as conn:
        names = {r["full_name"] for r in conn.execute(
            "select full_name from public.crm_agent_sla_stats").fetchall()}
    assert names == {"Ann"}
    with world.as_agent(boss) as conn:
        names = {r["full_name"] for r in conn.execute(
            "select full_name from public.crm_agent_sla_stats").fetchall()}
    assert names == {"Ann", "Bob", "Boss"}
    team = world.scalar("insert into public.crm_sla_teams (name) values ('Inbound') returning id")
    world.db.execute("insert into public.crm_sla_team_members values (%s, %s)", (team, ann))
    with world.as_agent(ann) as conn:
        assert conn.execute("select * from public.crm_sla_team_stats()").fetchall() == []
    with world.as_agent(boss) as conn:
        assert [r["team_name"] for r in conn.execute(
            "select team_name from public.crm_sla_team_stats()").fetchall()] == ["Inbound"]
    # One rule for the four statistics functions: anon is refused, an empty period is SL010.
    for function in ("crm_agent_sla_stats", "crm_sla_stats_by_hour", "crm_sla_stats_timeline",
                     "crm_sla_team_stats"):
        with world.as_anon() as conn, pytest.raises(psycopg.Error) as err:
            conn.execute(f"select * from public.{function}()")
        assert err.value.diag.sqlstate in ("SL006", "42501"), function
        with world.as_agent(ann) as conn, pytest.raises(psycopg.Error) as err:
            conn.execute(f"select * from public.{function}(public.sla_now(), "
                         "public.sla_now() - interval '1 hour')")
        assert err.value.diag.sqlstate == "SL010", function
        assert "period is empty" in err.value.diag.message_primary


def test_chart_figures_by_hour_and_over_time(world):
    """Claim windows by local hour (claimed in time, late, missed) and breaches/reassignments per
    bucket, for the /stats page; an agent sees only its own."""
    ann, bob = world.agents("Ann", "Bob")
    start = world.now()
    on_time, late, _missed = world.lead(ann), world.lead(ann), world.lead(bob)
    world.travel("1 minute")
    with world.as_agent(ann) as conn:
        conn.execute("select public.claim_lead(%s)", (on_time,))
        conn.execute("select public.complete_first_action(%s)", (on_time,))
    world.travel("5 minutes")
    with world.as_agent(ann) as conn:
        conn.execute("select public.claim_lead(%s)", (late,))
    assert world.monitor()["unclaimed"] == 1  # Bob's lead goes to Ann
    end = world.now() + timedelta(seconds=1)
    zone = "America/New_York"
    hours = world.db.execute(
        "select * from public.crm_sla_stats_by_hour(%s, %s, %s)", (start, end, zone)).fetchall()
    assert sum(r["claim_windows"] for r in hours) == 3
    assert sum(r["claimed_in_window"] for r in hours) == 1
    local = world.scalar("select extract(hour from %s::timestamptz at time zone %s)::int",
                         (start, zone))
    assert {r["hour"] for r in hours} <= {local, (local + 1) % 24}
    with world.as_agent(bob) as conn:
        mine = conn.execute("select * from public.crm_sla_stats_by_hour(%s, %s)",
                            (start, end)).fetchall()
    assert [(r["claim_windows"], r["claimed_in_window"]) for r in mine] == [(1, 0)]

    timeline = world.db.execute(
        "select * from public.crm_sla_stats_timeline(%s, %s, 4)", (start, end)).fetchall()
    assert len(timeline) == 4 and timeline[0]["bucket_start"] == start
    assert [r["breaches"] for r in timeline] == [0, 0, 0, 1]
    assert sum(r["reassignments"] for r in timeline) == 1
    with pytest.raises(psycopg.Error) as err:
        world.db.execute("select * from public.crm_sla_stats_timeline(%s, %s, 0)", (start, end))
    assert err.value.diag.sqlstate == "SL010"
    with pytest.raises(psycopg.Error) as err:
        world.db.execute("select * from public.crm_sla_stats_by_hour(null, null, 'Mars/Base')")
    assert err.value.diag.sqlstate == "SL010"


@pytest.mark.pg_cron
def test_status_reports_timers_breaches_and_the_monitor_job(world):
    ann, _bob = world.agents("Ann", "Bob")
    world.agent("Boss", role="admin")
    world.settings(max_reassignments=1)
    first, second = world.lead(ann), world.lead(ann)
    world.travel("5 minutes")
    world.monitor()                      # both reassigned (unclaimed)
    world.lead(ann)                      # a fresh one
    world.travel("5 minutes")
    world.monitor()                      # first two escalate, the fresh one is reassigned
    try:
        schedule.schedule_monitor(world.url)
        report = status.collect(world.url)
    finally:
        schedule.unschedule_monitor(world.url)
    leads = report["leads"]
    assert leads["escalated"] == 2
    assert leads["open_timers"]["claim"] == {"leads": 1, "overdue": 0}
    assert leads["breaches_last_hour"] == 5 and leads["reassignments_last_day"] == 5
    assert report["migrations"]["pending"] == []
    assert report["pg_cron"]["monitor"]["command"] == schedule.probe(world.url).plan[1]
    assert report["pg_cron"]["monitor"]["name"].startswith("crm-sla-monitor:")
    text = status.render(report)
    for words in ("migrations", "monitor", "open timers", "escalated    2 with an admin"):
        assert words in text
    assert json.loads(json.dumps(report, default=str))["leads"]["escalated"] == 2
    assert world.row(first)["sla_escalated_at"] and world.row(second)["sla_escalated_at"]


@pytest.mark.pg_cron
def test_purge_keeps_recent_runs_and_other_jobs(world):
    info = schedule.probe(world.url)
    cron = connect(with_database(world.url, info.cron_database))
    try:
        _, monitor = schedule.schedule_monitor(world.url)
        purge = schedule.schedule_purge(world.url, keep_days=7)
        other = cron.execute("select cron.schedule('someone-else', '0 0 1 1 *', 'select 1') as j"
                             ).fetchone()["j"]
        for jobid in (monitor, other):
            for age in ("8 days", "1 day"):
                cron.execute(
                    "insert into cron.job_run_details (jobid, runid, database, username, "
                    "command, status, start_time, end_time) values (%s, nextval('cron.runid_seq'),"
                    " 'x', 'x', 'x', 'succeeded', now() - %s::interval, now() - %s::interval)",
                    (jobid, age, age))
        job = cron.execute("select * from cron.job where jobid = %s", (purge,)).fetchone()
        assert job["schedule"] == schedule.PURGE_SCHEDULE
        assert schedule.schedule_purge(world.url, keep_days=7) == purge  # no second job
        cron.execute(job["command"])
        left = cron.execute(
            "select jobid, count(*) as n from cron.job_run_details where jobid in (%s, %s) "
            "group by jobid", (monitor, other)).fetchall()
        assert {r["jobid"]: r["n"] for r in left} == {monitor: 1, other: 2}
    finally:
        schedule.unschedule_monitor(world.url)
        cron.execute("select cron.unschedule('someone-else')")
        cron.close()


def run_demo(url: str, seed: int) -> str:
    out = io.StringIO()
    with redirect_stdout(out):
        simulate(url, seed=seed, agents=4, minutes=14, leads_per_minute=1.5)
    text = out.getvalue()
    return text[:text.index("\nmigrations")]  # the status part carries wall-clock times


def test_demo_is_deterministic_with_a_seed_and_shows_the_story(world):
    first = run_demo(world.url, seed=3)
    second = run_demo(world.url, seed=3)
    assert first == second
    assert "audit trail" in first and "per-agent statistics" in first
    assert re.search(r"\+\d\d:\d\d\s+Lead \d{3}\s+\S+ \S+\s+\S+ \S+\s+unclaimed", first)
    other = run_demo(world.url, seed=4)
    assert other != first
    # Re-running replaced the previous demo instead of piling up agents (four reps and their
    # team lead).
    assert world.scalar("select count(*) from public.crm_agents where role = 'agent'") == 5
    # Version 3's workflow, a line each at its minute.
    for moment in (r"minute +\d+: Northwind Traders writes again: its second lead goes to",
                   r"minute +\d+: \S+ \S+ declines Lead \d{3} \(\"outside my territory\"\)",
                   r"minute +\d+: \S+ \S+ goes on vacation until",
                   r"minute +\d+: ladder step \"reminder\"",
                   r"minute +\d+: ladder step \"team lead nudge\".*Lena Park is notified",
                   r"minute +\d+: \S+ \S+ sets .+ to 'waiting on customer'.*clock stops",
                   r"manager chain: Lena Park leads both desks"):
        assert re.search(moment, first), moment
    assert re.search(r"\+\d\d:\d\d\s+Lead \d{3}\s+\S+ \S+\s+\S+ \S+\s+declined", first)
    assert re.search(r"\+\d\d:\d\d\s+.+\s+unavailable\s+claim_window", first)


def test_status_command_prints_the_summary_and_json(db_url):
    text = crm_sla("status", url=db_url)
    assert text.returncode == 0, text.stderr
    assert "open timers" in text.stdout
    assert f"migrations   {len(ALL)} applied, 0 pending" in text.stdout
    data = json.loads(crm_sla("status", "--json", url=db_url).stdout)
    assert data["migrations"]["pending"] == [] and data["leads"]["escalated"] == 0


def test_status_on_an_unreachable_database_is_one_clear_line():
    assert_one_line_error(crm_sla("status", url="postgresql://x@127.0.0.1:1/crm"),
                          "cannot connect", "DATABASE_URL")


def test_simulate_refuses_database_url_without_force(db_url):
    assert_one_line_error(crm_sla("simulate", url=db_url), "--force")


@STOP_SIGNALS
@STARTED
def test_monitor_command_loops_until_stopped(world, stop, started):
    ann, bob = world.agents("Ann", "Bob")
    lead = world.lead(ann)
    world.travel("5 minutes")
    proc = subprocess.Popen(
        [sys.executable, "-m", "harness.cli", "monitor", "--interval", "0.2"],
        env=dict(os.environ, DATABASE_URL=world.url), cwd=REPO_ROOT, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=started)
    deadline = time.monotonic() + 20
    while world.row(lead)["assigned_agent_id"] != bob and time.monotonic() < deadline:
        time.sleep(0.1)
    proc.send_signal(stop)
    out, err = proc.communicate(timeout=20)
    assert world.row(lead)["assigned_agent_id"] == bob
    assert proc.returncode == 0 and "Traceback" not in err
    assert '"unclaimed": 1' in out and "stopped" in out


def test_demo_history_gives_the_charts_weeks_of_the_teams_patterns(world):
    """`make demo` plays weeks of history first (through the engine, on the SLA clock), so /stats
    shows a team's patterns rather than one bar: claim windows in most working hours of every
    weekday, a slower lunch hour than morning, the policy change taking effect, and a second run
    replacing the first history instead of adding to it."""
    def history() -> dict:
        out = io.StringIO()
        with redirect_stdout(out):
            simulate(world.url, seed=5, agents=4, minutes=2, leads_per_minute=1,
                     history_weeks=2)
        return world.db.execute(
            "select count(*) as leads, "
            "count(distinct extract(isodow from created_at)) as days, "
            "count(distinct extract(hour from created_at)) as hours, "
            "count(distinct claim_timer_expires_at - claim_timer_started_at) as windows "
            "from public.crm_leads where source = 'crm-sla demo history'").fetchone()

    first = history()
    assert first["leads"] == 2 * (5 * 36 + 2 * 3)
    assert first["days"] == 7 and first["hours"] >= 9
    assert first["windows"] >= 2  # 5 minutes before the policy change, 8 after
    assert history() == first
    by_hour = world.db.execute(
        "select hour, sum(claim_windows) as windows, sum(claimed_in_window) as ok "
        "from public.crm_sla_stats_by_hour(public.sla_now() - interval '15 days', "
        "public.sla_now(), 'UTC') where hour in (9, 10, 12, 13) group by hour order by hour"
    ).fetchall()
    share = {r["hour"]: r["ok"] / r["windows"] for r in by_hour}
    assert min(share[9], share[10]) > max(share[12], share[13])  # lunch is slower
    moved = world.scalar("select count(*) from public.crm_lead_reassignments r join "
                         "public.crm_leads l on l.id = r.lead_id "
                         "where l.source = 'crm-sla demo history'")
    assert moved > 20
