"""The advisory locks crm-sla takes, in one place.

Each key is `hashtext('crm_sla.<name>')`, a namespaced name as pgmq keys its locks, so no other
application's small integer keys collide with ours; in SQL, `public.crm_sla_lock_key('<name>')`
(db/functions/crm_sla_lock_key.sql) gives the same key, and a test checks that the two agree and
that the engine's SQL names no other lock.

Advisory locks are open to every session, so none of them decides anything that matters for
security: pausing the monitor is a row only trusted roles may write (`crm_sla_monitor_pause`, see
`harness.monitor.paused`); routing (intake of unowned leads, monitor passes) serialises on a row
no API role may lock (`crm_sla_routing_lock`); and a monitor loop that finds its lock held by a
session that is not trusted (not a superuser, nor the engine tables' owner) runs anyway.
"""

from __future__ import annotations

LOCKS = {
    "migrate": "session lock held by `crm-sla migrate` and `crm-sla rollback`",
    "monitor": "session lock held by a running run_sla_monitor loop (one at a time)",
}


def key_sql(name: str) -> str:
    """A SQL expression for the key of lock `name` (what public.crm_sla_lock_key gives)."""
    if name not in LOCKS:
        raise ValueError(f"no crm-sla lock named {name!r}: one of {', '.join(LOCKS)}")
    return f"pg_catalog.hashtext('crm_sla.{name}')::bigint"
