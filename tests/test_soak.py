"""`make soak` keeps working: a 30-second `crm-sla soak` against the test cluster (intake, agents,
an admin, the real pg_cron job, crm-sla deliver, the board) passes every end check, prints its
table, writes its JSON and drops its scratch database. Its goals (lags, pass times) are timings
and are not asserted: the machine running the tests may be busy with anything."""

from __future__ import annotations

import json

from harness.testing import connect
from tests.cli import crm_sla

CHECKS = [
    "every lead has an owner or waits in the queue for a reason",
    "reassignment_count = audit rows, owner = last row's to_agent_id",
    "no agent above its cap (sampled every second)",
    "every webhook event received exactly once (receiver-side ids)",
    "no deadlock or serialization failure in any session",
    "lag did not grow from the first third to the last",
    "no lead routed to an agent during its absence",
    "every decline has exactly one audit row",
    "every ladder step once per timer run",
]


def test_a_short_soak_loses_nothing_and_reports_every_figure(server, tmp_path):
    proc = crm_sla("soak", "--minutes", "0.5", "--rate", "30", "--agents", "12",
                   "--out", str(tmp_path), url=server)
    assert proc.returncode == 0, proc.stdout + proc.stderr

    [saved] = tmp_path.glob("soak-*.json")
    report = json.loads(saved.read_text())
    assert [c["check"] for c in report["checks"]] == CHECKS
    assert [c for c in report["checks"] if c["passed"] is False] == []
    for check in report["checks"]:
        assert check["check"] in proc.stdout
    # The load happened and was measured: leads in, both insert paths, breaches acted on, every
    # event delivered to the receiver, both subprocesses' memory read at both ends.
    load = report["load"]
    assert load["leads"] > 300 and load["bulk_inserts"] >= 1 and load["claims"] > 0
    assert report["breach_lag"]["n"] > 0 and report["webhook_lag"]["n"] > 0
    # Version 3's workflow was in the mix: declines, absences, ladder steps.
    assert load["declines"] > 0 and load["absences"] > 0 and report["step_lag"]["n"] > 0
    assert report["monitor_pass"]["n"] > 0
    assert set(report["rss_bytes"]) == {"deliver", "board"}
    assert all(set(v) == {"start", "end"} for v in report["rss_bytes"].values())
    # Every lead written is there (an exact count; pg_stat's live tuples are an estimate).
    first = report["checks"][0]
    assert first["detail"].startswith(f"{load['leads']:,} leads,"), first
    assert report["tables_end"]["crm_leads"]["live"] > 0
    assert [g["goal"] for g in report["goals"]][:3] == [
        "breach lag p99 <= 1 s", "webhook lag p99 <= 2 s", "monitor pass p99 <= 50 ms"]

    # Its scratch database and the template it was copied from are gone, and so is its job.
    pid = report["scratch_database"].split("_")[-2]
    with connect(server) as conn:
        left = conn.execute("select datname from pg_database where datname like %s",
                            (f"crm_sla_%_{pid}_%",)).fetchall()
        jobs = conn.execute("select jobname from cron.job where jobname like %s",
                            (f"%{report['scratch_database']}",)).fetchall()
    assert left == [] and jobs == []
