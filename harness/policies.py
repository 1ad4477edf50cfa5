"""The CRM's own permissive policies that widen the engine's promise on crm_leads and the audit
table (permissive policies are OR-ed together): read from public.crm_sla_policy_findings(), the
one implementation `crm-sla migrate`, `crm-sla status` and the pgTAP suite share."""

from __future__ import annotations

from psycopg.rows import dict_row

from harness.target import connect


def findings(url: str) -> list[dict] | None:
    """One dict a policy (table_name, policy_name, command, roles, effect, fix); None where the
    engine is not installed (yet)."""
    with connect(url, row_factory=dict_row) as conn:
        if conn.execute("select to_regprocedure('public.crm_sla_policy_findings()') is null "
                        "as missing").fetchone()["missing"]:
            return None
        return conn.execute("select * from public.crm_sla_policy_findings()").fetchall()


def describe(finding: dict) -> str:
    """One line: which policy, what it does to the promise, how to fix it."""
    return (f"policy \"{finding['policy_name']}\" on {finding['table_name']} "
            f"({finding['command']}, to {finding['roles']}) {finding['effect']}. "
            f"Fix: {finding['fix']}")
