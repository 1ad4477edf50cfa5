"""Hardening (issue 19): reloads from db/functions what changed. Claims and first actions are timed
at the statement (new crm_sla_clock_now()); agents may not change a lead's id or created_at
(SL009); a refused claim tells an agent nothing about leads it cannot see; the advisory lock keys
come from namespaced names (new crm_sla_lock_key()); run_sla_monitor steps aside only for the
pause row of 0045_monitor_pause, and for a lock held by a trusted session.

A temporary loader in the old style, until `make migration` freezes these bodies: 0004 loads these
same files on a new database, so the rollback keeps them (as 0010_engine_speedups does).
"""

from yoyo import step

from harness.sqlfiles import OPERATIONS_OBJECTS, engine_objects, load

__depends__ = {"0045_monitor_pause"}

RELOADED = engine_objects(
    "crm_sla_lock_key.sql",
    "crm_sla_clock_now.sql",
    "crm_sla_explain_refusal.sql",
    "trg_crm_leads_090_intake_route.sql",
    "trg_crm_leads_200_progress.sql",
    "process_sla_timers.sql",
    "run_sla_monitor.sql",
) + tuple(obj for obj in OPERATIONS_OBJECTS if obj.file == "trg_crm_leads_300_sla_events.sql")

steps = [step(lambda conn: load(conn.cursor(), RELOADED))]
