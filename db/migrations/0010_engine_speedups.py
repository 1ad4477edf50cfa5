"""What the benchmark (`make bench`, issue 6) asked of the engine, for databases migrated before:
reloads from db/functions the intake trigger, which now reads the SLA clock and the routing queue
once a statement (new: a clock helper, a statement trigger on each side of the rows, and routing
in a trigger of its own), process_sla_timers(), whose
idle test can no longer be planned as a table scan, and claim_lead(), complete_first_action() and
crm_sla_caller(), now PL/pgSQL so that their plans are kept between calls.

0004 loads these same files on a new database, so there is nothing to undo on the way back: the
rollback keeps them (dropping the new objects would leave 0004's intake trigger without them).
"""

from yoyo import step

from harness.sqlfiles import engine_objects, load

__depends__ = {"0008_agent_stats_view"}

RELOADED = engine_objects(
    "crm_sla_caller.sql",
    "crm_sla_intake_clock.sql",
    "trg_crm_leads_050_intake_clock.sql",
    "trg_crm_leads_090_intake_route.sql",
    "trg_crm_leads_100_intake.sql",
    "trg_crm_leads_900_intake_done.sql",
    "claim_lead.sql",
    "complete_first_action.sql",
    "process_sla_timers.sql",
)

steps = [step(lambda conn: load(conn.cursor(), RELOADED))]
