"""`make bench` keeps working: `crm-sla bench --quick` against the test cluster prints every
workload with its baseline and ratio, writes the figures as JSON, and drops its scratch database.
Nothing here asserts a timing: the machine running the tests may be busy with anything."""

from __future__ import annotations

import json

from harness import bench
from harness.testing import connect
from tests.cli import crm_sla

WORKLOADS = [
    "intake_owner_given",
    "intake_round_robin",
    "intake_minimal_trigger",
    "intake_outbox_cost",
    *(f"idle_{size}" for size in bench.QUICK.idle),
    "idle_plan",
    "backlog",
    "backlog_big",
    "claims",
    "business_add_holidays",
    "intake_business_hours",
    "intake_many_policies",
    "intake_absences",
    "intake_owner_key",
    "ladder_idle",
    "pause_non_sla_update",
]
WITH_BASELINE = ["intake_owner_given", "intake_round_robin", "intake_outbox_cost",
                 f"idle_{bench.QUICK.idle[-1]}", "backlog", "claims", "intake_absences",
                 "ladder_idle", "pause_non_sla_update"]


def test_quick_bench_prints_and_saves_every_workload_in_a_scratch_database(server, tmp_path):
    proc = crm_sla("bench", "--quick", "--out", str(tmp_path), url=server)
    assert proc.returncode == 0, proc.stderr
    printed = proc.stdout

    [saved] = tmp_path.glob("bench-*-quick.json")
    report = json.loads(saved.read_text())
    rows = {row["key"]: row for row in report["rows"]}
    assert list(rows) == WORKLOADS
    assert report["postgres"] and report["pg_cron"]
    assert f"PostgreSQL {report['postgres']}" in printed
    for key, row in rows.items():
        assert row["workload"] in printed and row["figure"] in printed, key
    for key in WITH_BASELINE:
        assert rows[key]["ratio"] > 0 and rows[key]["baseline"] != "-", key
    assert rows["idle_plan"]["met"], rows["idle_plan"]["data"]["plan"]  # the due index
    assert rows["backlog"]["data"]["counts"]["unclaimed"] > 0

    # Its scratch database and the template it was copied from are gone.
    pid = report["scratch_database"].split("_")[-2]
    with connect(server) as conn:
        left = conn.execute("select datname from pg_database where datname like %s",
                            (f"crm_sla_%_{pid}_%",)).fetchall()
    assert left == []


def test_only_runs_the_named_workloads_and_refuses_unknown_ones(server, tmp_path):
    proc = crm_sla("bench", "--quick", "--only", "claims,pause", "--out", str(tmp_path), url=server)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(next(tmp_path.glob("bench-*.json")).read_text())
    assert [r["key"] for r in report["rows"]] == ["claims", "pause_non_sla_update"]
    assert report["only"] == ["claims", "pause"]

    bad = crm_sla("bench", "--only", "claims,nope", url=server)
    assert bad.returncode == 2
    assert "unknown workload nope; choose from intake" in bad.stderr.strip().splitlines()[-1]
