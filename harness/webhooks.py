"""`crm-sla webhooks add|list|remove`: the endpoints that receive the engine's events.

The database checks what is stored (crm_sla_webhooks_100_validate: a URL the deliverer can send
to, known event names, Standard Webhooks secrets) and refuses the rest with SL010; here those
refusals become one line on stderr. The list hides credentials in URLs and never shows secrets.
"""

from __future__ import annotations

import re
import uuid

import psycopg
from psycopg.rows import dict_row

from harness.errors import HarnessError
from harness.table import render as table
from harness.target import connect, describe_db_error


def _events(text: str | None) -> list[str] | None:
    if text is None:
        return None
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise HarnessError("--events needs at least one event name, "
                           "e.g. --events warning,reassigned")
    return names


def add(url: str, target: str, events: str | None = None, secret: str | None = None,
        fmt: str = "standard") -> dict:
    with connect(url, row_factory=dict_row) as conn:
        try:
            return conn.execute(
                "insert into public.crm_sla_webhooks (url, events, secret, format) "
                "values (%s, %s, %s, %s) returning id, url, events, secret, format",
                (target, _events(events), secret, fmt),
            ).fetchone()
        except psycopg.Error as exc:
            raise HarnessError(f"webhook refused: {describe_db_error(exc)}") from None


def listing(url: str) -> list[dict]:
    with connect(url, row_factory=dict_row) as conn:
        return conn.execute(
            """
            select h.id, h.url, h.events, h.format, h.is_active, h.deactivated_reason,
                h.created_at,
                count(*) filter (where d.status = 'pending') as pending,
                count(*) filter (where d.status = 'delivered') as delivered,
                count(*) filter (where d.status = 'dead') as dead
            from public.crm_sla_webhooks as h
            left join public.crm_sla_webhook_deliveries as d on h.id = d.webhook_id
            group by h.id
            order by h.created_at, h.id
            """
        ).fetchall()


def without_credentials(target: str) -> str:
    """The URL with any user name and password in it replaced by ***."""
    return re.sub(r"^([A-Za-z][A-Za-z0-9+.-]*://)[^/?#]*@", r"\1***@", target)


def remove(url: str, webhook_id: str) -> None:
    try:
        key = uuid.UUID(webhook_id)
    except ValueError:
        raise HarnessError(f"not a webhook id (a UUID): {webhook_id!r}") from None
    with connect(url) as conn:
        gone = conn.execute("delete from public.crm_sla_webhooks where id = %s returning id",
                            (key,)).fetchone()
    if gone is None:
        raise HarnessError(f"no webhook {key}: see crm-sla webhooks list")


def _active(row: dict) -> str:
    if row["is_active"]:
        return "yes"
    return f"no ({row['deactivated_reason']})" if row["deactivated_reason"] else "no"


def cli(url: str, action: str, target: str | None, events: str | None,
        secret: str | None, fmt: str = "standard") -> int:
    if action == "add":
        if not target:
            raise HarnessError("webhooks add needs the URL, e.g. crm-sla webhooks add "
                               "https://example.com/hooks/sla")
        hook = add(url, target, events, secret, fmt)
        print(f"id      {hook['id']}")
        print(f"secret  {hook['secret']}")
        print(f"url     {hook['url']}")
        print(f"events  {', '.join(hook['events']) if hook['events'] else 'all'}")
        print(f"format  {hook['format']}")
        print("Verify deliveries with the secret (docs/events.md); it is not shown again by list.")
    elif action == "list":
        rows = listing(url)
        if not rows:
            print("no webhooks: add one with crm-sla webhooks add URL")
            return 0
        print(table(
            ["id", "url", "events", "format", "active", "pending", "delivered", "dead"],
            [[str(r["id"]), without_credentials(r["url"]),
              ",".join(r["events"]) if r["events"] else "all", r["format"], _active(r),
              r["pending"], r["delivered"], r["dead"]]
             for r in rows],
        ))
    elif action == "remove":
        if not target:
            raise HarnessError("webhooks remove needs the webhook id (see crm-sla webhooks list)")
        remove(url, target)
        print(f"removed webhook {target}")
    return 0
