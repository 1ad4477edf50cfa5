"""Ownership routing advice: SLA policies whose owner_key column has no index on crm_leads (or
cannot be used any more), with the statement to run. Read from
public.crm_sla_owner_key_advice(), the one implementation `crm-sla migrate` and `crm-sla status`
share."""

from __future__ import annotations

from psycopg.rows import dict_row

from harness.target import connect


def advice(url: str) -> list[dict] | None:
    """One dict a policy (policy_name, owner_key, problem, fix); None where the engine has no
    ownership routing (yet)."""
    with connect(url, row_factory=dict_row) as conn:
        if conn.execute("select to_regprocedure('public.crm_sla_owner_key_advice()') is null "
                        "as missing").fetchone()["missing"]:
            return None
        return conn.execute("select * from public.crm_sla_owner_key_advice()").fetchall()


def describe(item: dict) -> str:
    """One line: which policy, what is wrong with its owner_key, the statement to run."""
    return (f"SLA policy \"{item['policy_name']}\" owner_key {item['owner_key']}: "
            f"{item['problem']}. Run: {item['fix']}")
