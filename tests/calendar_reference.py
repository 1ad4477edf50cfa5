"""A plain-Python reading of docs/policies.md's calendar rules, for tests to hold
sla_business_add and sla_business_elapsed to: walk every local day, turn its open stretches into
instants with zoneinfo (fold 0, as PostgreSQL reads a local time that is skipped or repeated),
leave out holidays."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

DAY = 86400


def _seconds(t: time | str) -> int:
    if isinstance(t, str):
        if t == "24:00":
            return DAY
        t = time.fromisoformat(t)
    return t.hour * 3600 + t.minute * 60 + t.second


@dataclass
class Calendar:
    zone: str
    hours: list[tuple[int, str, str]]  # (weekday as extract(dow), opens, closes)
    holidays: set[date] = field(default_factory=set)

    def pieces(self) -> dict[int, list[tuple[int, int]]]:
        raw: dict[int, list[tuple[int, int]]] = {d: [] for d in range(7)}
        for dow, opens, closes in self.hours:
            o, c = _seconds(opens), _seconds(closes)
            if c > o:
                raw[dow].append((o, c))
            else:
                raw[dow].append((o, DAY))
                if c > 0:
                    raw[(dow + 1) % 7].append((0, c))
        merged: dict[int, list[tuple[int, int]]] = {}
        for dow, spans in raw.items():
            out: list[list[int]] = []
            for s, e in sorted(spans):
                if out and s <= out[-1][1]:
                    out[-1][1] = max(out[-1][1], e)
                else:
                    out.append([s, e])
            merged[dow] = [(s, e) for s, e in out]
        return merged

    def stretches(self, start: date, days: int):
        """Open stretches (as UTC instants) of the local days start .. start + days."""
        zone = ZoneInfo(self.zone)
        pieces = self.pieces()
        for n in range(days + 1):
            d = start + timedelta(days=n)
            if d in self.holidays:
                continue
            for s, e in pieces[(d.weekday() + 1) % 7]:
                midnight = datetime.combine(d, time())
                lo = (midnight + timedelta(seconds=s)).replace(tzinfo=zone, fold=0)
                hi = (midnight + timedelta(seconds=e)).replace(tzinfo=zone, fold=0)
                yield lo.astimezone(UTC), hi.astimezone(UTC)

    def local_date(self, at: datetime) -> date:
        return at.astimezone(ZoneInfo(self.zone)).date()

    def elapsed(self, a: datetime, b: datetime) -> timedelta:
        if b < a:
            return -self.elapsed(b, a)
        first = self.local_date(a) - timedelta(days=1)
        total = timedelta()
        for lo, hi in self.stretches(first, (self.local_date(b) - first).days):
            lo, hi = max(lo, a), min(hi, b)
            if hi > lo:
                total += hi - lo
        return total

    def add(self, a: datetime, duration: timedelta) -> datetime:
        if duration == timedelta():
            return a
        left = duration
        first = self.local_date(a) - timedelta(days=1)
        for lo, hi in self.stretches(first, 20 * 366):
            lo = max(lo, a)
            if hi <= lo:
                continue
            if hi - lo >= left:
                return lo + left
            left -= hi - lo
        raise AssertionError("no open time in 20 years")
