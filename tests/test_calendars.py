"""Business-hours calendars, line by line of docs/policies.md's calendars: wall-clock hours in the
calendar's zone (DST both ways, in two zones), overnight stretches, 24:00, holidays that cut an
overnight stretch at midnight, a start in closed time, long durations, elapsed time both ways, and
the refusals (SQLSTATE and hint, nothing written). Each answer is also held to a plain-Python
reading of the rules (tests/calendar_reference.py) on instants drawn at random."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import psycopg
import pytest

from tests.calendar_reference import Calendar

WEEKDAYS = [(d, "09:00", "17:00") for d in range(1, 6)]


def local(zone: str, text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(zone))


def make_calendar(world, name: str, zone: str, hours, holidays=()) -> str:
    cal = world.scalar("insert into public.crm_sla_calendars (name, time_zone) values (%s, %s) "
                       "returning id", (name, zone))
    for dow, opens, closes in hours:
        world.db.execute("insert into public.crm_sla_calendar_hours values (%s, %s, %s, %s)",
                         (cal, dow, opens, closes))
    for day in holidays:
        world.db.execute("insert into public.crm_sla_holidays (calendar_id, day) values (%s, %s)",
                         (cal, day))
    return cal


def add(world, cal, start: datetime, duration: timedelta | str) -> datetime:
    return world.scalar("select public.sla_business_add(%s, %s, %s::interval)",
                        (cal, start, duration))


def elapsed(world, cal, a: datetime, b: datetime) -> timedelta:
    return world.scalar("select public.sla_business_elapsed(%s, %s, %s)", (cal, a, b))


def test_a_friday_evening_lead_waits_for_monday_morning(world):
    cal = make_calendar(world, "New York office", "America/New_York", WEEKDAYS)
    friday = local("America/New_York", "2026-11-27 16:58")
    assert add(world, cal, friday, "5 minutes") == local("America/New_York", "2026-11-30 09:03")
    assert elapsed(world, cal, friday, local("America/New_York", "2026-11-30 09:03")) \
        == timedelta(minutes=5)


def test_a_start_in_closed_time_counts_from_the_next_opening(world):
    cal = make_calendar(world, "Office", "Europe/Berlin", WEEKDAYS)
    night = local("Europe/Berlin", "2026-06-02 03:00")
    assert add(world, cal, night, "1 hour") == local("Europe/Berlin", "2026-06-02 10:00")
    assert add(world, cal, night, "0") == night
    assert add(world, cal, local("Europe/Berlin", "2026-06-02 17:00"), "1 minute") \
        == local("Europe/Berlin", "2026-06-03 09:01")


@pytest.mark.parametrize("zone, spring, autumn", [
    ("Europe/Berlin", "2026-03-28 12:00", "2026-10-24 12:00"),
    ("America/New_York", "2026-03-07 12:00", "2026-10-31 12:00"),
])
def test_a_dst_day_has_23_or_25_hours_of_wall_clock_time(world, zone, spring, autumn):
    cal = make_calendar(world, "Around the clock", zone, [(d, "00:00", "24:00") for d in range(7)])
    # Saturday noon plus 24 hours of open time: Sunday 13:00 in spring (23-hour day) and
    # 11:00 in autumn (25 hours), local time.
    spring_at, autumn_at = local(zone, spring), local(zone, autumn)
    assert add(world, cal, spring_at, "24 hours") == local(zone, spring.replace("12:00", "13:00")) \
        + timedelta(days=1)
    assert add(world, cal, autumn_at, "24 hours") == local(zone, autumn.replace("12:00", "11:00")) \
        + timedelta(days=1)
    # Local noon to local noon the next day is 23 and 25 hours of open time.
    assert elapsed(world, cal, spring_at, spring_at + timedelta(days=1)) == timedelta(hours=23)
    assert elapsed(world, cal, autumn_at, autumn_at + timedelta(days=1)) == timedelta(hours=25)


@pytest.mark.parametrize("zone, spring_night, autumn_night", [
    ("Europe/Berlin", "2026-03-28", "2026-10-24"),
    ("America/New_York", "2026-03-07", "2026-10-31"),
])
def test_an_overnight_shift_is_shorter_or_longer_across_a_dst_change(
        world, zone, spring_night, autumn_night):
    cal = make_calendar(world, "Night shift", zone, [(d, "22:00", "06:00") for d in range(7)])
    for night, hours, answer in ((spring_night, 7, "23:00"), (autumn_night, 9, "05:00")):
        after = (date.fromisoformat(night) + timedelta(days=1)).isoformat()
        evening = local(zone, f"{night} 22:00")
        assert elapsed(world, cal, local(zone, f"{night} 20:00"), local(zone, f"{after} 08:00")) \
            == timedelta(hours=hours)
        # Eight hours of open time from the start of that night: on the spring night the last
        # hour comes the next night; on the autumn night they are over at 05:00.
        assert add(world, cal, evening, "8 hours") == local(zone, f"{after} {answer}")


def test_an_overnight_stretch_runs_past_midnight_and_24_00_closes_at_midnight(world):
    late = make_calendar(world, "Late", "UTC", [(2, "18:00", "24:00"), (3, "00:00", "02:00")])
    night = make_calendar(world, "Night", "UTC", [(2, "18:00", "02:00")])
    tuesday = datetime(2026, 6, 2, 17, tzinfo=UTC)
    for cal in (late, night):
        assert add(world, cal, tuesday, "7 hours") == datetime(2026, 6, 3, 1, tzinfo=UTC)
        assert elapsed(world, cal, tuesday, tuesday + timedelta(days=1)) == timedelta(hours=8)


def test_a_holiday_cuts_an_overnight_stretch_at_its_midnight(world):
    zone = "Europe/Berlin"
    cal = make_calendar(world, "Night", zone, [(2, "22:00", "06:00")])  # Tuesday night
    evening = local(zone, "2026-06-02 20:00")
    next_day = evening + timedelta(days=1)
    world.db.execute("insert into public.crm_sla_holidays (calendar_id, day, name) "
                     "values (%s, '2026-06-03', 'Wednesday off')", (cal,))
    assert elapsed(world, cal, evening, next_day) == timedelta(hours=2)  # 22:00 to 24:00 only
    world.db.execute("update public.crm_sla_holidays set day = '2026-06-02' where calendar_id = %s",
                     (cal,))
    assert elapsed(world, cal, evening, next_day) == timedelta(hours=6)  # 00:00 to 06:00 only
    assert add(world, cal, evening, "1 hour") == local(zone, "2026-06-03 01:00")


def test_long_durations_and_far_answers_skip_holidays(world):
    zone = "America/New_York"
    holidays = [date(2026, 12, 25), date(2027, 1, 1), date(2027, 7, 5), date(2027, 11, 25)]
    cal = make_calendar(world, "Office", zone, WEEKDAYS, holidays)
    ref = Calendar(zone, WEEKDAYS, set(holidays))
    start = local(zone, "2026-11-27 16:58")
    for hours in (40, 1000, 2080):
        answer = add(world, cal, start, f"{hours} hours")
        assert answer == ref.add(start, timedelta(hours=hours))
        assert elapsed(world, cal, start, answer) == timedelta(hours=hours)


def test_elapsed_is_negative_backwards_and_a_null_calendar_is_around_the_clock(world):
    cal = make_calendar(world, "Office", "Europe/Berlin", WEEKDAYS)
    a = local("Europe/Berlin", "2026-06-01 08:00")
    b = local("Europe/Berlin", "2026-06-03 12:00")
    assert elapsed(world, cal, a, b) == timedelta(hours=19)
    assert elapsed(world, cal, b, a) == -timedelta(hours=19)
    assert elapsed(world, cal, a, a) == timedelta()
    assert add(world, None, a, "90 minutes") == a + timedelta(minutes=90)
    assert elapsed(world, None, b, a) == a - b


@pytest.mark.parametrize("zone", ["Europe/Berlin", "America/New_York", "Australia/Sydney"])
def test_random_instants_agree_with_the_reference(world, zone):
    hours = [(1, "08:30", "12:00"), (1, "11:00", "17:15"), (2, "09:00", "17:00"),
             (3, "22:00", "06:00"), (4, "00:00", "24:00"), (5, "01:30", "03:30"),
             (6, "23:00", "23:30")]
    rng = random.Random(f"calendars-{zone}")
    holidays = {date(2026, 1, 1) + timedelta(days=rng.randrange(3 * 366)) for _ in range(60)}
    cal = make_calendar(world, "Mixed", zone, hours, sorted(holidays))
    ref = Calendar(zone, hours, holidays)
    base = datetime(2026, 1, 1, tzinfo=UTC)
    for _ in range(60):
        start = base + timedelta(minutes=rng.randrange(2 * 366 * 24 * 60))
        duration = timedelta(minutes=rng.choice([1, 5, 30, 240, 2000, 20000]))
        expected = ref.add(start, duration)
        assert add(world, cal, start, duration) == expected, (start, duration)
        end = start + timedelta(minutes=rng.randrange(1, 200 * 24 * 60))
        assert elapsed(world, cal, start, end) == ref.elapsed(start, end), (start, end)
        assert elapsed(world, cal, end, start) == -ref.elapsed(start, end)


def refused(world, sql: str, params=()) -> psycopg.errors.Error:
    with pytest.raises(psycopg.errors.Error) as caught:
        world.db.execute(sql, params)
    return caught.value


@pytest.mark.parametrize("sql, params", [
    ("insert into public.crm_sla_calendars (name, time_zone) values ('Mars', 'Mars/Olympus')", ()),
    ("insert into public.crm_sla_calendars (name, time_zone) values ('Null zone', null)", ()),
    ("insert into public.crm_sla_calendar_hours values ({cal}, 7, '09:00', '17:00')", ()),
    ("insert into public.crm_sla_calendar_hours values ({cal}, -1, '09:00', '17:00')", ()),
    ("insert into public.crm_sla_calendar_hours values ({cal}, 1, '09:00', '09:00')", ()),
    ("insert into public.crm_sla_calendar_hours values ({cal}, 1, '24:00', '08:00')", ()),
    ("insert into public.crm_sla_calendar_hours values ({cal}, null, '09:00', '17:00')", ()),
    ("insert into public.crm_sla_calendar_hours values ({cal}, 1, null, '17:00')", ()),
    ("insert into public.crm_sla_holidays (calendar_id, day) values ({cal}, '2026-12-24')", ()),
    ("insert into public.crm_sla_holidays (calendar_id, day) values ({cal}, null)", ()),
    ("update public.crm_sla_calendars set time_zone = 'Nowhere/Town' where id = {cal}", ()),
    ("update public.crm_sla_calendar_hours set closes = opens where calendar_id = {cal}", ()),
    ("select public.sla_business_add({cal}, null, '1 hour')", ()),
    ("select public.sla_business_add({cal}, now(), null)", ()),
    ("select public.sla_business_add({cal}, now(), '-1 hour')", ()),
    ("select public.sla_business_add(gen_random_uuid(), now(), '1 hour')", ()),
    ("select public.sla_business_elapsed({cal}, now(), null)", ()),
    ("select public.sla_business_elapsed(null, null, now())", ()),
])
def test_bad_input_is_refused_with_sl010_and_a_hint_and_nothing_is_written(world, sql, params):
    cal = make_calendar(world, "Office", "Europe/Berlin", WEEKDAYS, [date(2026, 12, 24)])
    before = world.scalar(
        "select (select count(*) from public.crm_sla_calendars)::text || '/' "
        "|| (select string_agg(h::text, ',' order by h::text) from public.crm_sla_calendar_hours h)"
        " || '/' || (select count(*) from public.crm_sla_holidays)")
    error = refused(world, sql.format(cal=f"'{cal}'::uuid"), params)
    assert error.sqlstate == "SL010"
    assert error.diag.message_hint
    after = world.scalar(
        "select (select count(*) from public.crm_sla_calendars)::text || '/' "
        "|| (select string_agg(h::text, ',' order by h::text) from public.crm_sla_calendar_hours h)"
        " || '/' || (select count(*) from public.crm_sla_holidays)")
    assert after == before


def test_signed_in_users_and_the_service_role_call_them_anon_cannot(world):
    cal = make_calendar(world, "Office", "Europe/Berlin", WEEKDAYS)
    ann = world.agent("Ann")
    sql = ("select public.sla_business_add(%s, timestamptz '2026-06-01 08:00+02', '1 hour') as a, "
           "public.sla_business_elapsed(%s, timestamptz '2026-06-01 08:00+02', "
           "timestamptz '2026-06-01 12:00+02') as e")
    for conn_cm in (world.as_agent(ann), world.as_service()):
        with conn_cm as conn:
            row = conn.execute(sql, (cal, cal)).fetchone()
            assert row["a"] == local("Europe/Berlin", "2026-06-01 10:00")
            assert row["e"] == timedelta(hours=3)
    with world.as_anon() as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute(sql, (cal, cal))


def test_admins_write_calendars_agents_read_them_anon_sees_nothing(world):
    cal = make_calendar(world, "Office", "Europe/Berlin", WEEKDAYS)
    ann, dee = world.agent("Ann"), world.agent("Dee", role="admin")
    with world.as_agent(dee) as conn:
        conn.execute("insert into public.crm_sla_holidays (calendar_id, day) values (%s, "
                     "'2026-12-25')", (cal,))
        conn.execute("insert into public.crm_sla_calendars (name) values ('Admin made')")
    with world.as_agent(ann) as conn:
        assert conn.execute("select count(*) as n from public.crm_sla_calendar_hours"
                            ).fetchone()["n"] == 5
        assert conn.execute("select count(*) as n from public.crm_sla_holidays"
                            ).fetchone()["n"] == 1
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("insert into public.crm_sla_calendars (name) values ('Agent made')")
    with world.as_agent(ann) as conn:
        assert conn.execute("delete from public.crm_sla_holidays").rowcount == 0
    with world.as_anon() as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("select * from public.crm_sla_calendars")
