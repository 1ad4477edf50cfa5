"""`crm-sla adopt [--dry-run]`: put the leads that existed before the engine was installed under
the SLA. The triggers time every lead inserted or claimed after the install; older leads have no
timers, so the monitor never looks at them. Adopting starts their timers now, on the SLA clock,
with the current windows: an owned lead not yet claimed gets a claim timer, a claimed one not yet
contacted a contact timer, each warning at the settings' warn_at of its window. Nothing is
breached retroactively (no flag is set, no lead moves), and a lead with a timer already is never
touched, so running it again adopts nothing new."""

from __future__ import annotations

from psycopg.rows import dict_row

from harness.errors import HarnessError
from harness.target import connect

STAGES = ("claim", "contact", "done", "unowned")

# One row per lead without any timer, by the stage it is in. The unowned ones are left to the
# monitor, which routes them and starts their claim timers (as for any lead nobody could take).
CANDIDATES = """
select
    l.id,
    case
        when l.first_action_completed then 'done'
        when l.assigned_agent_id is null then 'unowned'
        when l.lead_claimed then 'contact'
        else 'claim'
    end as stage
from public.crm_leads as l
where
    l.claim_timer_started_at is null
    and l.contact_timer_started_at is null
    and l.sla_escalated_at is null
"""

ADOPT = f"""
with
settings as (
    select s.claim_window, s.contact_window, s.warn_at::double precision, public.sla_now() as now
    from public.crm_sla_settings as s
),
candidates as ({CANDIDATES}),
started as (
    update public.crm_leads as l
    set
        claim_timer_started_at = case when c.stage = 'claim' then s.now end,
        claim_timer_expires_at = case when c.stage = 'claim' then s.now + s.claim_window end,
        claim_window_expires_at = case
            when c.stage = 'claim' then s.now + s.claim_window
            else l.claim_window_expires_at
        end,
        contact_timer_started_at = case when c.stage = 'contact' then s.now end,
        contact_timer_expires_at = case when c.stage = 'contact' then s.now + s.contact_window end,
        sla_warn_at = s.now + case c.stage
            when 'claim' then s.claim_window else s.contact_window
        end * s.warn_at,
        sla_warned_at = null
    from candidates as c, settings as s
    where l.id = c.id and c.stage in ('claim', 'contact') and %(apply)s
    returning l.id
)
select
    c.stage,
    count(*) as leads,
    count(t.id) as started,
    min(case c.stage when 'claim' then s.now + s.claim_window
        when 'contact' then s.now + s.contact_window end) as due
from candidates as c
cross join settings as s
left join started as t on c.id = t.id
group by c.stage
"""


def adopt(url: str, dry_run: bool = False) -> dict[str, dict]:
    """Start the timers of the leads from before the install (or, with `dry_run`, only count
    them); returns {stage: {"leads", "started", "due"}} for every stage."""
    with connect(url, row_factory=dict_row) as conn:
        if conn.execute("select to_regclass('public.crm_lead_sla_timers') is null as missing"
                        ).fetchone()["missing"]:
            raise HarnessError("the engine is not installed here: run make migrate first")
        with conn.transaction():
            rows = conn.execute(ADOPT, {"apply": not dry_run}).fetchall()
    found = {r["stage"]: r for r in rows}
    return {stage: found.get(stage, {"leads": 0, "started": 0, "due": None})
            for stage in STAGES}


def render(result: dict[str, dict], dry_run: bool) -> str:
    will = "would start" if dry_run else "started"
    lines = []
    for stage in STAGES:
        fig = result[stage]
        n = fig["leads"]
        if stage in ("claim", "contact") and n:
            what = (f"{will} their {stage} timers now (due {fig['due']:%Y-%m-%d %H:%M:%S %Z} "
                    "on the SLA clock); nothing breached retroactively")
        elif stage == "claim":
            what = "none owned and unclaimed without a claim timer"
        elif stage == "contact":
            what = "none claimed and not contacted without a contact timer"
        elif stage == "done":
            what = "first action already recorded: nothing to time"
        else:
            what = "no owner: the next monitor pass routes them and starts their claim timers"
        lines.append(f"{stage:<8} {n:>6} lead(s): {what}")
    if dry_run:
        lines.append("dry run: nothing was changed")
    return "\n".join(lines)
