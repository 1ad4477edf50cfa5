"""The end checks of version 3's workflow under load: absences (no lead routed to an agent inside
its absence), declines (each one audit row), the ladder (each step once per timer run) and
stopping the clock (no timer event while a timer is paused), read from the outbox and the audit
table once the load has stopped."""

from __future__ import annotations

from collections import Counter, defaultdict

import psycopg
from psycopg.rows import tuple_row

from harness.soak.load import Soak
from harness.soak.plan import BREACH_REASONS, RUN_EVENTS

Check = tuple[str, bool | None, str]


def _query(db: psycopg.Connection, sql: str) -> psycopg.Cursor:
    """Rows as tuples, whatever the connection's row factory."""
    return db.cursor(row_factory=tuple_row).execute(sql)


# The engine's routing decisions to an agent inside one of its absences: an `assigned` of a routed
# lead, a `reassigned` (breach, decline, hand-over). Left out: a lead inserted with its owner
# (nobody routed it), a move by hand (an admin may choose an absent agent: docs/routing.md) and
# `escalated` (to the first active manager, absent or not, as the SPEC says).
ROUTED_TO_ABSENT = """
    select o.id, o.payload - 'lead_id' - 'to_agent_id', b.starts_at, b.ends_at
    from public.crm_sla_outbox as o
    inner join public.crm_sla_agent_absences as b on o.agent_id = b.agent_id
        and (o.payload ->> 'at')::timestamptz >= b.starts_at
        and (o.payload ->> 'at')::timestamptz < b.ends_at
    left join public.crm_leads as l on o.lead_id = l.id
    where o.event in ('assigned', 'reassigned')
        and o.payload ->> 'reason' is distinct from 'manual'
        and not (o.event = 'assigned' and l.phone is not distinct from 'given')
    order by o.id
"""


def absences(db: psycopg.Connection) -> Check:
    """No lead routed to an agent while `sla_now()` was inside one of its absences."""
    bad = _query(db, ROUTED_TO_ABSENT).fetchall()
    booked, handed, routed, exposed = _query(db,
        """
        select
            (select count(*) from public.crm_sla_agent_absences),
            (select count(*) from public.crm_lead_reassignments where reason = 'unavailable'),
            count(*),
            -- made while some agent was absent: the check had something to catch
            count(*) filter (where exists (
                select from public.crm_sla_agent_absences as b
                where (o.payload ->> 'at')::timestamptz >= b.starts_at
                    and (o.payload ->> 'at')::timestamptz < b.ends_at
            ))
        from public.crm_sla_outbox as o where o.event in ('assigned', 'reassigned')
        """).fetchone()
    example = (f" (e.g. outbox {bad[0][0]}: {bad[0][1]}, absent {bad[0][2]} to {bad[0][3]})"
               if bad else "")
    return ("no lead routed to an agent during its absence", not bad and exposed > 0,
            f"{booked} absences; {routed:,} routings and moves, {exposed:,} of them while an "
            f"agent was absent, {len(bad)} to the absent agent; {handed} leads handed over "
            f"(unavailable){example}")


def declines(db: psycopg.Connection, soak: Soak) -> Check:
    """Each decline_lead call that returned wrote exactly one audit row (reason declined, from
    and by the decliner, notes = the call's note), and no declined row is without its call."""
    rows = _query(db,
        "select notes, lead_id::text, from_agent_id::text, reassigned_by::text "
        "from public.crm_lead_reassignments where reason = 'declined'").fetchall()
    calls = soak.found.declined
    per_note = Counter(r[0] for r in rows)
    missing = sum(1 for note in calls if per_note[note] == 0)
    twice = sum(1 for note in calls if per_note[note] > 1)
    unexpected = sum(n for note, n in per_note.items() if note not in calls)
    wrong = sum(1 for note, lead, frm, by in rows
                if note in calls and (lead, frm, frm) != (*calls[note], by))
    ok = missing == twice == unexpected == wrong == 0 and bool(calls)
    return ("every decline has exactly one audit row", ok,
            f"{len(calls):,} declines ({soak.found.declines_refused} refused); {missing} without "
            f"a row, {twice} with two or more, {wrong} with the wrong lead or agent, "
            f"{unexpected} rows without a decline")


Events = list[tuple[str, str, dict]]


def events(db: psycopg.Connection) -> Events:
    """Every lead's events in the order they were written (event, lead, payload): a lead's row
    lock orders them, so per lead this is the order they happened in."""
    return _query(db, "select event, lead_id::text, payload from public.crm_sla_outbox "
                      "where lead_id is not null order by id").fetchall()


def breach(event: str, payload: dict) -> bool:
    """The monitor acted on a breach: a move for a missed window, an escalation after one, a
    lead flagged in place or with nobody to take it."""
    return event in ("no_eligible_agent", "breached") or (
        event in ("reassigned", "escalated") and payload.get("reason") in BREACH_REASONS)


def steps(db: psycopg.Connection, written: Events | None = None) -> Check:
    """Each ladder step is sent at most once per timer run (a run starts with `assigned`,
    `reassigned`, `escalated` or `claimed`), and a run that reached its deadline (its first breach
    event) had every step of its stage sent before it."""
    ladder: dict[tuple[str, str], set[str]] = defaultdict(set)
    for policy, stage, name in _query(db,
            "select policy_id::text, stage, name from public.crm_sla_policy_steps"):
        ladder[(policy, stage)].add(name)
    policy_of = dict(_query(db,
        "select id::text, sla_policy_id::text from public.crm_leads "
        "where sla_policy_id is not null"))
    run: dict[str, int] = defaultdict(int)
    taken: Counter = Counter()  # (lead, run, step name)
    sent: dict[tuple[str, int], set[str]] = defaultdict(set)
    breached: set[tuple[str, int]] = set()
    missing = 0
    n = 0
    for event, lead, payload in events(db) if written is None else written:
        key = (lead, run[lead])
        if event == "step":
            n += 1
            taken[(*key, payload["step"])] += 1
            sent[key].add(payload["step"])
        elif breach(event, payload) and key not in breached:
            breached.add(key)
            wanted = ladder.get((policy_of.get(lead), payload.get("stage")), set())
            missing += len(wanted - sent[key])
        if event in RUN_EVENTS:
            run[lead] += 1
    twice = sum(1 for count in taken.values() if count > 1)
    runs = sum(run.values())
    return ("every ladder step once per timer run", twice == 0 and missing == 0 and n > 0,
            f"{n:,} step events in {runs:,} timer runs; {twice} taken twice in a run, {missing} "
            f"missing from the {len(breached):,} runs that reached their deadline")


def pauses(db: psycopg.Connection, written: Events | None = None) -> Check:
    """No timer event (warning, step, breach) for a lead while its timer is paused: from its
    `paused` event to its `resumed`, or to the end of that timer run (a claim, a move, the first
    contact). A run that starts paused has its `paused` event first, then its `claimed` or
    `reassigned` with no deadline (docs/events.md): that run is paused."""
    paused: set[str] = set()
    counts: Counter = Counter()
    bad: list[tuple[str, str]] = []
    for event, lead, payload in events(db) if written is None else written:
        if lead in paused and (event in ("warning", "step") or breach(event, payload)):
            bad.append((lead, event))
        if event == "paused":
            counts[f"paused ({payload.get('reason')})"] += 1
            paused.add(lead)
        elif event in RUN_EVENTS and event != "escalated" and payload.get("expires_at") is None:
            paused.add(lead)  # the new run started paused
        elif event == "resumed" or event in RUN_EVENTS or event == "contacted":
            if event == "resumed":
                counts[event] += 1
            paused.discard(lead)
    figures = ", ".join(f"{n:,} {k}" for k, n in sorted(counts.items()))
    return ("no event for a paused timer while paused",
            not bad and counts["resumed"] > 0,
            f"{figures or 'no pauses'}; {len(bad)} timer events while paused"
            + (f" (e.g. {bad[0][1]} of lead {bad[0][0]})" if bad else ""))


def checks(db: psycopg.Connection, soak: Soak) -> list[Check]:
    written = events(db)
    return [absences(db), declines(db, soak), steps(db, written), pauses(db, written)]
