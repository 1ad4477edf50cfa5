"""What a soak run is made of: its plan (length, rate, agents, windows), its goals, and the mix
of sources and agents' habits it plays."""

from __future__ import annotations

from dataclasses import dataclass

TABLES = ("crm_leads", "crm_lead_reassignments", "crm_sla_outbox", "crm_sla_webhook_deliveries",
          "crm_sla_agent_state")
BREACH_EVENTS = ("reassigned", "escalated", "no_eligible_agent", "breached")
BREACH_REASONS = ("unclaimed", "no_contact")
TIMER_EVENTS = ("assigned", "reassigned", "claimed")
# Events that start a new timer run (a step is taken once per run).
RUN_EVENTS = ("assigned", "reassigned", "escalated", "claimed")
SOURCES = (("web", 0.40), ("partner", 0.18), ("enterprise", 0.08), ("account", 0.12),
           ("phone", 0.22))
# The ladder of the Web policy: (stage, at, notify, name).
STEPS = (("claim_window", 0.3, "owner", "nudge"), ("claim_window", 0.6, "manager", "tell manager"),
         ("contact_window", 0.5, "owner", "call now"))
ACCOUNTS = 60  # distinct emails of the `account` source (owner_key = email)
DECLINE_SHARE = 0.06  # of the claims an agent is about to make, declined instead
SNOOZE_SHARE = 0.04  # of the leads an agent gets, snoozed for a few seconds first
WAIT_SHARE = 0.12  # of the leads an agent claims, waiting on the customer a few seconds first
PAUSE_WHEN = {"status": "waiting on customer"}  # every policy's: the timer pauses meanwhile
MANAGERS = 4  # the first agents manage the others (crm_sla_agent_routing.manager_id)
HABITS = (("prompt", 0.45, (0.05, 0.5)), ("steady", 0.25, (0.3, 0.9)),
          ("slow", 0.15, (0.6, 1.5)), ("away", 0.15, (0.2, 0.8)))
NOT_ALLOWED = ("40P01", "40001")  # deadlock, serialization failure


@dataclass
class Goals:
    breach_p99_s: float = 1.0
    webhook_p99_s: float = 2.0
    pass_p99_s: float = 0.050


@dataclass
class Plan:
    minutes: float
    rate: float
    agents: int
    seed: int = 17

    @property
    def seconds(self) -> float:
        return self.minutes * 60

    @property
    def claim_window(self) -> float:
        """Seconds: short enough that many windows end within the run (20 s for a long run)."""
        return min(20.0, max(4.0, self.seconds / 8))

    @property
    def contact_window(self) -> float:
        return self.claim_window * 1.5
