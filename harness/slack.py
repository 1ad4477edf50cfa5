"""Slack-formatted webhooks (`crm_sla_webhooks.format = 'slack'`): the body of a delivery is
`{"text": one sentence}` for a Slack incoming webhook, naming the lead, the agent(s) and the time
left or the action taken, e.g. "Lead Dana Reyes (web) has 1 min left to be claimed by Ann Lee."
Names come from the database when the delivery is sent (the payload carries ids only); they are
untrusted text: shortened, stripped of control characters and escaped as Slack asks (&, <, >)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

NAME_CHARS = 80


@dataclass
class Names:
    """The names a sentence uses, looked up when the delivery is claimed (None: unknown)."""
    lead: str | None = None
    source: str | None = None
    agent: str | None = None  # payload.agent_id: who the event is for
    from_agent: str | None = None  # payload.from_agent_id (reassigned, escalated)
    owner: str | None = None  # payload.owner_id: the lead's owner (a manager's step names it)


def clean(text: str | None, fallback: str) -> str:
    if not text or not str(text).strip():
        return fallback
    text = "".join(c if c.isprintable() else " " for c in str(text)).strip()
    if len(text) > NAME_CHARS:
        text = text[:NAME_CHARS - 1] + "…"
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def duration(seconds: float) -> str:
    """'45 s', '1 min', '2 h 5 min', '3 days': whole seconds up, then units down; never
    negative."""
    seconds = max(math.ceil(seconds), 0)
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{hours // 24} days"


def _instant(text) -> datetime | None:
    try:
        return datetime.fromisoformat(str(text)) if text else None
    except ValueError:
        return None


def _left(payload: dict) -> str | None:
    expires, at = _instant(payload.get("expires_at")), _instant(payload.get("at"))
    if expires is None or at is None:
        return None
    return duration((expires - at).total_seconds())


ACTION = {"claim_window": "claimed", "contact_window": "contacted"}
REASON = {"unclaimed": "not claimed in time", "no_contact": "not contacted in time",
          "manual": "reassigned by an admin", "declined": "declined",
          "unavailable": "the owner is away"}


def sentence(payload: dict, names: Names) -> str:
    """One human sentence for an event's payload (any event: unknown ones get a plain line)."""
    event = str(payload.get("event") or "event")
    lead = clean(names.lead, "(no name)")
    if names.source and str(names.source).strip():
        lead += f" ({clean(names.source, '')})"
    agent = clean(names.agent, "nobody")
    action = ACTION.get(str(payload.get("stage")), "handled")
    left = _left(payload)
    if event in ("warning", "step"):
        owner = clean(names.owner, "its owner") if payload.get("notify") == "manager" else agent
        text = f"Lead {lead} has {left or 'little time'} left to be {action} by {owner}"
        if event == "step":
            text += f" (step {clean(payload.get('step'), '?')}"
            text += f", for {agent})" if payload.get("notify") == "manager" else ")"
        return text + "."
    if event == "assigned":
        return f"Lead {lead} was assigned to {agent}; {left or 'the window'} to claim it."
    if event in ("reassigned", "escalated"):
        why = REASON.get(str(payload.get("reason")), "moved")
        verb = "escalated" if event == "escalated" else "moved"
        return (f"Lead {lead} {verb} from {clean(names.from_agent, 'nobody')} to {agent}: "
                f"{why}.")
    if event == "breached":
        return (f"Lead {lead} was not {action} in time by {agent}; flagged, it stays with "
                f"{agent}.")
    if event == "no_eligible_agent":
        return (f"Lead {lead} was not {action} in time and nobody else can take it now; it "
                f"stays with {agent}.")
    if event in ("claimed", "contacted"):
        return f"Lead {lead} was {event} by {agent}."
    return f"Lead {lead}: {clean(event, 'event')} ({agent})."
