"""The managers' view, `/stats`: the report's numbers (harness.report) as one server-rendered page
with two inline SVG charts, no script needed and nothing fetched from elsewhere.

Accessibility: every chart has a title and a description, every cell and bar a tooltip title and
its number written on it, the two series differ by pattern as well as colour, and text meets
WCAG AA contrast on its background.
"""

from __future__ import annotations

from datetime import datetime
from html import escape

from harness.report import (
    AGENT_COLUMNS,
    PERIODS,
    STEP_COLUMNS,
    TEAM_COLUMNS,
    WORKFLOW_COLUMNS,
    totals,
)

DAYS = ("Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat")
CELL_W, CELL_H, LEFT, TOP = 38, 26, 44, 22


def _table(caption: str, columns, rows: list[dict], empty: str) -> str:
    head = "".join(f'<th scope="col">{escape(h)}</th>' for _k, h in columns)
    body = []
    for row in rows:
        cells = []
        for i, (key, _h) in enumerate(columns):
            value = row.get(key)
            text = "-" if value is None else (f"{value:.3f}" if isinstance(value, float)
                                              and key == "breach_rate" else str(value))
            if isinstance(value, float) and value.is_integer() and key != "breach_rate":
                text = str(int(value))
            tag = 'th scope="row"' if i == 0 else "td"
            cells.append(f"<{tag}>{escape(text)}</{tag.split()[0]}>")
        body.append(f"<tr>{''.join(cells)}</tr>")
    if not body:
        body.append(f'<tr><td colspan="{len(columns)}">{escape(empty)}</td></tr>')
    return (f'<table><caption>{escape(caption)}</caption><thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(body)}</tbody></table>')


def _shade(share: float) -> tuple[str, str]:
    """Fill and text colour for a share in [0, 1]: light to dark blue, text that contrasts."""
    steps = ("#eef4fb", "#c9dcf2", "#93bae4", "#4f8fd0", "#1f5fa8", "#0b3d75")
    fill = steps[min(len(steps) - 1, int(share * (len(steps) - 1) + 0.5))]
    return fill, ("#ffffff" if fill in ("#4f8fd0", "#1f5fa8", "#0b3d75") else "#1a1a1a")


def heatmap(by_hour: list[dict], time_zone: str) -> str:
    """Share of claim windows claimed in time, by weekday and hour (local to `time_zone`)."""
    cells = {(r["weekday"], r["hour"]): r for r in by_hour}
    width, height = LEFT + 24 * CELL_W + 4, TOP + 7 * CELL_H + 4
    parts = [
        f'<svg class="chart" role="img" aria-labelledby="heat-title heat-desc" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}">',
        '<title id="heat-title">Claimed in time, by day of the week and hour of the day</title>',
        f'<desc id="heat-desc">Each cell: the share of claim windows that ended in that hour '
        f'({escape(time_zone)}) with a claim in time; a dash where none ended.</desc>',
    ]
    for hour in range(0, 24, 3):
        parts.append(f'<text class="axis" x="{LEFT + hour * CELL_W + CELL_W / 2}" y="14" '
                     f'text-anchor="middle">{hour:02d}h</text>')
    for day in range(7):
        y = TOP + day * CELL_H
        parts.append(f'<text class="axis" x="{LEFT - 6}" y="{y + CELL_H / 2 + 4}" '
                     f'text-anchor="end">{DAYS[day]}</text>')
        for hour in range(24):
            x = LEFT + hour * CELL_W
            row = cells.get((day, hour))
            if row is None or not row["claim_windows"]:
                label, fill, ink = "–", "#f7f7f7", "#595959"
                tip = f"{DAYS[day]} {hour:02d}:00: no claim window ended"
            else:
                share = row["claimed_in_window"] / row["claim_windows"]
                fill, ink = _shade(share)
                label = f"{share:.0%}"
                tip = (f"{DAYS[day]} {hour:02d}:00-{hour + 1:02d}:00: {row['claimed_in_window']} "
                       f"of {row['claim_windows']} claimed in time ({share:.0%})")
            parts.append(
                f'<g><title>{escape(tip)}</title><rect x="{x}" y="{y}" width="{CELL_W - 2}" '
                f'height="{CELL_H - 2}" fill="{fill}" stroke="#d0d0d0"/>'
                f'<text x="{x + (CELL_W - 2) / 2}" y="{y + CELL_H / 2 + 3}" fill="{ink}" '
                f'class="cell" text-anchor="middle">{label}</text></g>')
    parts.append("</svg>")
    return "".join(parts)


def _when(text: str, span_days: float) -> str:
    moment = datetime.fromisoformat(text)
    return moment.strftime("%H:%M") if span_days <= 1 else moment.strftime("%d %b %H:%M")


def timeline_chart(timeline: list[dict], span_days: float) -> str:
    """Breaches (solid) and reassignments (hatched) per bucket of the period."""
    top = max([1] + [max(r["breaches"], r["reassignments"]) for r in timeline])
    n = max(1, len(timeline))
    plot_w, plot_h, left, base = 960, 180, 44, 210
    slot = plot_w / n
    bar = max(3.0, slot / 2 - 3)
    parts = [
        f'<svg class="chart" role="img" aria-labelledby="line-title line-desc" '
        f'viewBox="0 0 {left + plot_w + 10} {base + 50}" width="{left + plot_w + 10}" '
        f'height="{base + 50}">',
        '<title id="line-title">Breaches and reassignments over the period</title>',
        f'<desc id="line-desc">{n} equal periods; per period a solid bar for breaches (missed '
        'windows) and a hatched bar for reassignments (breaches and manual moves).</desc>',
        '<defs><pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" '
        'patternTransform="rotate(45)"><rect width="6" height="6" fill="#ffffff"/>'
        '<line x1="0" y1="0" x2="0" y2="6" stroke="#6b3fa0" stroke-width="3"/></pattern></defs>',
        f'<line x1="{left}" y1="{base}" x2="{left + plot_w}" y2="{base}" stroke="#595959"/>',
        f'<text class="axis" x="{left - 6}" y="{base - plot_h + 4}" text-anchor="end">{top}</text>',
        f'<text class="axis" x="{left - 6}" y="{base + 4}" text-anchor="end">0</text>',
    ]
    label_every = max(1, n // 8)
    for i, row in enumerate(timeline):
        x = left + i * slot + 2
        for offset, key, fill, name in ((0, "breaches", "#b3261e", "breaches"),
                                        (bar + 1, "reassignments", "url(#hatch)",
                                         "reassignments")):
            value = row[key]
            h = plot_h * value / top
            parts.append(
                f'<g><title>{escape(_when(row["bucket_start"], span_days))}: {value} {name}'
                f'</title><rect x="{x + offset:.1f}" y="{base - h:.1f}" width="{bar:.1f}" '
                f'height="{h:.1f}" fill="{fill}" stroke="#6b3fa0" '
                f'stroke-width="{0 if offset == 0 else 1}"/>'
                + (f'<text class="cell" x="{x + offset + bar / 2:.1f}" y="{base - h - 3:.1f}" '
                   f'text-anchor="middle">{value}</text>' if value else "")
                + "</g>")
        if i % label_every == 0 and x + 80 < left + plot_w:  # no label cut at the edge
            parts.append(f'<text class="axis" x="{x:.1f}" y="{base + 16}">'
                         f'{escape(_when(row["bucket_start"], span_days))}</text>')
    legend_y = base + 38
    parts.append(
        f'<rect x="{left}" y="{legend_y - 10}" width="12" height="12" fill="#b3261e"/>'
        f'<text class="axis" x="{left + 18}" y="{legend_y}">breaches (solid)</text>'
        f'<rect x="{left + 150}" y="{legend_y - 10}" width="12" height="12" fill="url(#hatch)" '
        f'stroke="#6b3fa0"/><text class="axis" x="{left + 168}" y="{legend_y}">'
        'reassignments (hatched)</text>')
    parts.append("</svg>")
    return "".join(parts)


STYLE = """
body { font: 15px/1.4 "Liberation Sans", Arial, sans-serif; color: #1a1a1a; margin: 16px 24px;
  background: #ffffff; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 17px; margin: 22px 0 6px; }
nav a { margin-right: 14px; color: #0b4f9c; } nav a[aria-current] { font-weight: bold;
  color: #1a1a1a; text-decoration: none; }
.tiles { display: flex; flex-wrap: wrap; gap: 16px; margin: 12px 0; }
.tile { border: 1px solid #c4c4c4; border-radius: 6px; padding: 8px 14px; min-width: 170px; }
.tile b { display: block; font-size: 22px; }
table { border-collapse: collapse; margin: 4px 0 8px; }
caption { text-align: left; font-weight: bold; font-size: 17px; padding: 18px 0 6px; }
th, td { border-bottom: 1px solid #d6d6d6; padding: 3px 10px; text-align: right; }
th[scope=row], thead th:first-child { text-align: left; }
.chart text { font: 11px "Liberation Sans", Arial, sans-serif; }
.chart .axis { fill: #3d3d3d; } .chart .cell { font-size: 11px; }
.muted { color: #4a4a4a; }
"""


def render_page(data: dict, period: str, viewer: str) -> str:
    windows = sum(r["claim_windows"] for r in data["claims_by_hour"])
    in_time = sum(r["claimed_in_window"] for r in data["claims_by_hour"])
    breaches = sum(r["breaches"] for r in data["timeline"])
    moves = sum(r["reassignments"] for r in data["timeline"])
    span = (datetime.fromisoformat(data["to"]) - datetime.fromisoformat(data["from"]))
    span_days = span.total_seconds() / 86400
    links = " ".join(
        f'<a href="?period={key}&amp;tz={escape(data["time_zone"])}"'
        + (' aria-current="page"' if key == period else "")
        + f">{label}</a>"
        for key, label in (("24h", "Last 24 hours"), ("7d", "7 days"), ("30d", "30 days")))
    share = f"{in_time / windows:.0%}" if windows else "–"
    flow = totals(data)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>SLA statistics – crm-sla</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>{STYLE}</style>
<script>
// Hours in the viewer's own time zone: ask for it once (the page works without this too).
if (!new URLSearchParams(location.search).has("tz")) {{
  const p = new URLSearchParams(location.search);
  p.set("tz", Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC");
  location.replace("?" + p.toString());
}}
</script></head>
<body>
<h1>SLA statistics</h1>
<p class="muted">As {escape(viewer)}, from {escape(data['from'][:16].replace('T', ' '))} to
{escape(data['to'][:16].replace('T', ' '))} (SLA clock, UTC); hours in {escape(data['time_zone'])}.
<a href="/">Back to the board</a></p>
<nav aria-label="Period">{links}</nav>
<div class="tiles">
<div class="tile" data-figure="claimed-in-time">Claimed in time<b>{share}</b>
{in_time} of {windows} claim windows</div>
<div class="tile" data-figure="breaches">Breaches<b>{breaches}</b>missed windows</div>
<div class="tile" data-figure="reassignments">Reassignments<b>{moves}</b>
breaches and manual moves</div>
<div class="tile" data-figure="breaches-handled">Breaches handled<b>{flow['reassigned']} /
{flow['to_manager']} / {flow['flagged']}</b>reassigned / to a manager / flagged</div>
<div class="tile" data-figure="steps">Ladder steps<b>{flow['steps']}</b>
{flow['declined']} declined, {flow['handed_over']} handed over</div>
<div class="tile" data-figure="pauses">Clock stopped<b>{flow['pauses'] + flow['snoozes']}</b>
{flow['pauses']} waiting, {flow['snoozes']} snoozed</div>
</div>
<h2>Claimed in time by hour of the week</h2>
{heatmap(data['claims_by_hour'], data['time_zone'])}
<h2>Breaches and reassignments over the period</h2>
{timeline_chart(data['timeline'], span_days)}
{_table('Per team', TEAM_COLUMNS, data['teams'], 'No teams (or none visible to you).')}
{_table('Per agent', AGENT_COLUMNS, data['agents'], 'No agents.')}
{_table('Workflow by agent', WORKFLOW_COLUMNS, data['workflow'], 'No agents.')}
{_table('Ladder steps sent', STEP_COLUMNS, data['steps'], 'No ladder step in this period.')}
</body></html>
"""


BUCKETS = {"24h": 24, "7d": 28, "30d": 30}  # hours, quarter days, days


def period_bounds(key: str | None) -> str:
    """A known period key (24h, 7d, 30d), defaulting to the last 24 hours."""
    return key if key in PERIODS else "24h"
