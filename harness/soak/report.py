"""The run's result as JSON (assemble) and as the tables `crm-sla soak` prints (render)."""

from __future__ import annotations

import statistics

from harness import table
from harness.soak.analysis import fmt, grew, lag, percentiles
from harness.soak.plan import TABLES, Goals


def assemble(header, plan, soak, lags, result_checks, start_tables, end_tables, runs, ended,
             elapsed) -> dict:
    goals = Goals()
    f = soak.found
    breach = percentiles([v for _, v in lags["breach"]])
    warning = percentiles([v for _, v in lags["warning"]])
    step = percentiles([v for _, v in lags["step"]])
    hook = percentiles([v for _, v in lags["webhook"]])
    passes = percentiles(lags["pass_times"])
    growth = {k: grew(lags[k], elapsed) for k in ("breach", "webhook")}
    # Bounded: autovacuum keeps up, so the dead tuples of crm_leads (sampled every second) do
    # not keep growing: the last third's peak is within 1.5 x the middle third's + 1,000.
    middle = [d for t, _, d in f.dead if elapsed / 3 <= t < 2 * elapsed / 3]
    last = [d for t, _, d in f.dead if t >= 2 * elapsed / 3]
    bounded = None if not middle or not last else max(last) <= 1.5 * max(middle) + 1000
    queue = [n for _, n in f.queue]
    goal_rows = [
        ("breach lag p99 <= 1 s", breach.get("p99_s"), goals.breach_p99_s),
        ("webhook lag p99 <= 2 s", hook.get("p99_s"), goals.webhook_p99_s),
        ("monitor pass p99 <= 50 ms", passes.get("p99_s"), goals.pass_p99_s),
        ("step lag p99 <= 1 s", step.get("p99_s"), goals.breach_p99_s),
    ]
    goal_list = [{"goal": g, "met": None if v is None else v <= limit, "value_s": v}
                 for g, v, limit in goal_rows]
    goal_list.append({"goal": "no lag growth",
                      "met": None if any(g["grew"] is None for g in growth.values())
                      else not any(g["grew"] for g in growth.values())})
    goal_list.append({"goal": "dead tuples bounded (crm_leads: last third's peak <= 1.5 x the "
                      "middle third's + 1000)",
                      "met": bounded})
    durations = [float(d) for _, _, d in runs if d is not None]
    return {
        **header, "seconds": round(elapsed, 1),
        "load": {"leads": f.inserted, "single_inserts": f.singles, "bulk_inserts": f.bulks,
                 "claims": f.claims, "contacts": f.contacts, "by_hand": f.manual,
                 "away_flips": f.away_flips, "actions_skipped": f.skipped,
                 "absences": f.absences, "declines": f.declines,
                 "declines_refused": f.declines_refused, "waits": f.waits,
                 "snoozes": f.snoozes,
                 "board_updates": f.board_messages, "board_reconnects": f.board_reconnects},
        "breach_lag": breach, "worst_breaches": lags["worst_breaches"],
        "flagged_then_moved": percentiles(lags["deferred"]), "warning_lag": warning,
        "step_lag": step,
        "webhook_lag": hook,
        "monitor_pass": {**passes, "how": "commit (notification arrival) minus the pass's "
                         "transaction start, passes that wrote events"},
        "pg_cron_runs": {"n": len(runs), "failed": sum(1 for s, *_ in runs if s == "failed"),
                         "took_over_after_s": soak.bridged,
                         "longest_s": max(durations, default=None)},
        "lag_growth": growth,
        "overflow_queue": {"max": max(queue, default=0), "mean": statistics.fmean(queue)
                           if queue else 0, "samples": f.queue},
        "dead_tuples_crm_leads": f.dead,
        "tables_start": start_tables, "tables_end": end_tables,
        "rss_bytes": dict(soak.rss), "processes": ended,
        "errors_by_sqlstate": dict(f.errors),
        "unreceived_notifications": lags["unreceived_notifications"],
        "checks": [{"check": c, "passed": ok, "detail": d} for c, ok, d in result_checks],
        "goals": goal_list,
    }


def render(r: dict) -> str:
    m = r["machine"]
    lines = [f"crm-sla soak: {r['minutes']:g} min at {r['rate']:g} leads/s, {r['agents']} agents; "
             f"PostgreSQL {r['postgres']}, pg_cron {r['pg_cron']}; {m['nproc']} cores, {m['cpu']}"]
    q = r["overflow_queue"]
    queue_line = " ".join(str(n) for _, n in q["samples"][:: max(1, len(q["samples"]) // 12)])
    ld = r["load"]
    rows = [
        ("load", f"{ld['leads']:,} leads ({ld['bulk_inserts']} bulk INSERTs), "
                 f"{ld['claims']:,} claims, {ld['contacts']:,} contacts, {ld['by_hand']} by hand, "
                 f"{ld['board_updates']:,} board updates read "
                 f"({ld.get('board_reconnects', 0)} reconnects)"),
        ("breach lag", lag(r["breach_lag"])),
        ("workflow", f"{ld['declines']:,} declines ({ld['declines_refused']} refused), "
                     f"{ld['absences']} absences booked, {ld['waits']:,} waits on the customer, "
                     f"{ld['snoozes']:,} snoozes"),
        ("warning lag", lag(r["warning_lag"]) if r["warning_lag"]["n"]
         else "no warning events from this engine"),
        ("step lag", lag(r["step_lag"])),
        ("flagged, moved later", lag(r["flagged_then_moved"]) + " (breach to the move, once "
         "an agent was eligible)" if r["flagged_then_moved"].get("n") else "none"),
        ("webhook lag", lag(r["webhook_lag"])),
        ("monitor pass", lag(r["monitor_pass"])),
        ("pg_cron runs", f"{r['pg_cron_runs']['n']} ({r['pg_cron_runs']['failed']} failed); "
         + ("the monitor ran in the soak's session until pg_cron's first run, "
            f"{r['pg_cron_runs']['took_over_after_s']:.0f} s in"
            if r["pg_cron_runs"]["took_over_after_s"] is not None
            else "pg_cron never ran within the run: the monitor ran in the soak's session")),
        ("overflow queue", f"max {q['max']}, mean {q['mean']:.1f}; over time: {queue_line}"),
    ]
    for name in TABLES:
        a, b = r["tables_start"].get(name), r["tables_end"].get(name)
        if a and b:
            rows.append((f"{name}", f"live {a['live']:,} -> {b['live']:,}, dead {a['dead']:,} -> "
                         f"{b['dead']:,}, {mb(a['bytes'])} -> {mb(b['bytes'])}, "
                         f"autovacuum x{b['autovacuums'] - a['autovacuums']}"))
    for name, rss in r["rss_bytes"].items():
        rows.append((f"RSS {name}", f"{mb(rss.get('start'))} -> {mb(rss.get('end'))}"))
    rows.append(("errors by SQLSTATE", ", ".join(f"{k} x{v}" for k, v in
                                                 sorted(r["errors_by_sqlstate"].items()))
                 or "none"))
    out = [*lines, table.render(("measure", "figure"), rows), ""]
    out.append(table.render(
        ("end check", "result", "detail"),
        [(c["check"], {True: "passed", False: "FAILED", None: "skipped"}[c["passed"]],
          c["detail"]) for c in r["checks"]]))
    out.append("")
    out.append(table.render(
        ("goal", "result", "figure"),
        [(g["goal"], {True: "met", False: "MISSED", None: "-"}[g["met"]],
          fmt(g.get("value_s")) if g.get("value_s") is not None else "") for g in r["goals"]]))
    return "\n".join(out)


def mb(n: int | None) -> str:
    return "-" if n is None else f"{n / 1048576:.1f} MB"
