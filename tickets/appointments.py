"""Appointments: which slots a service offers, and how a checked-in appointment is called.

Slots. A service with ``AppointmentRules`` offers, on each open day, slots of
``duration_minutes`` laid end to end from the start of each of its appointment periods (a
slot that would overrun the period's end is not offered). ``parallel`` appointments may start
at the same time. A day is open unless it is a closure, a public holiday (the caller says
which days are holidays: see ``server.appointments.calendar``), or has no period. Only slots
starting at least ``min_notice_minutes`` from now and on a day at most ``horizon_days`` from
today (site-local) are bookable. Times are site-local wall times; on a daylight-saving day a
local time that does not exist (the hour skipped in spring) starts no slot, and one that
exists twice (autumn) starts one, at its first occurrence.

Calling (``pick``, used by ``QueueState.next_for``). A checked-in appointment is a ticket that
carries its appointment's time. At a counter, at a given time:

1. a *due* appointment (its time minus ``grace_minutes`` has come, and it was not checked in
   late) goes ahead of every walk-in, earliest appointment first;
   except that a counter which has called ``max_in_a_row`` appointments in a row calls a
   waiting walk-in next: no walk-in is held back by more than ``max_in_a_row`` appointment
   calls at each counter that takes its service;
2. then walk-ins in their usual order (priority, the counter's service preference, oldest
   issue). An appointment checked in later than ``late_tolerance_minutes`` after its time is
   a walk-in from its check-in (under ``late_rule = "rebook"`` check-in refuses it instead);
3. an *early* appointment (not due yet) waits for its slot: it is called only when nobody
   else waits for the counter.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Protocol, TypeVar
from zoneinfo import ZoneInfo

from tickets.model import AppointmentRules, CallingRules, LateRule

UTC = ZoneInfo("UTC")


# ---- slots ----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Slot:
    start: float
    """Seconds since the epoch."""
    free: int
    """Appointments that may still be booked at this time."""


def local_start(day: date, hour: int, minute: int, tz: ZoneInfo) -> datetime | None:
    """The instant of a site-local wall time, or None when that time does not exist that day
    (the hour skipped when clocks go forward)."""
    naive = datetime(day.year, day.month, day.day, hour, minute)
    aware = naive.replace(tzinfo=tz)
    back = aware.astimezone(UTC).astimezone(tz)
    if back.replace(tzinfo=None) != naive:
        return None
    return aware


def day_starts(rules: AppointmentRules, day: date, tz: ZoneInfo) -> list[float]:
    """Start times (epoch seconds) of every slot of ``day``, holidays and closures aside."""
    step = rules.duration_minutes
    out: list[float] = []
    for period in rules.periods.get(day.weekday(), ()):
        begin = period.start.hour * 60 + period.start.minute
        end = period.end.hour * 60 + period.end.minute + (1 if period.end.second else 0)
        minute = begin
        while minute + step <= end:
            start = local_start(day, minute // 60, minute % 60, tz)
            if start is not None:
                out.append(start.timestamp())
            minute += step
    return sorted(set(out))


def is_closed(rules: AppointmentRules, day: date, holiday: Callable[[date], bool]) -> bool:
    return day in rules.closures or holiday(day)


def bookable_days(
    rules: AppointmentRules, now: float, tz: ZoneInfo, holiday: Callable[[date], bool]
) -> list[date]:
    today = datetime.fromtimestamp(now, tz).date()
    days = (today + timedelta(days=n) for n in range(rules.horizon_days + 1))
    return [d for d in days if not is_closed(rules, d, holiday) and rules.periods.get(d.weekday())]


def refusal(
    rules: AppointmentRules,
    start: float,
    now: float,
    tz: ZoneInfo,
    holiday: Callable[[date], bool],
) -> str | None:
    """Why a slot starting at ``start`` may not be booked now (a sentence), or None when it
    may (taken seats aside)."""
    day = datetime.fromtimestamp(start, tz).date()
    today = datetime.fromtimestamp(now, tz).date()
    if start < now + rules.min_notice_minutes * 60:
        return f"slots must be booked at least {rules.min_notice_minutes} minutes ahead"
    if (day - today).days > rules.horizon_days:
        return f"slots may be booked at most {rules.horizon_days} days ahead"
    if is_closed(rules, day, holiday):
        return f"no appointments on {day.isoformat()} (closed)"
    if start not in day_starts(rules, day, tz):
        return "no slot starts at that time"
    return None


def open_slots(
    rules: AppointmentRules,
    days: Iterable[date],
    now: float,
    tz: ZoneInfo,
    holiday: Callable[[date], bool],
    taken: Mapping[float, int],
) -> list[Slot]:
    """Bookable slots of ``days`` with their free places; ``taken`` counts the appointments
    booked per start time. Full slots are left out."""
    out: list[Slot] = []
    for day in days:
        if is_closed(rules, day, holiday):
            continue
        for start in day_starts(rules, day, tz):
            if refusal(rules, start, now, tz, holiday) is not None:
                continue
            free = rules.parallel - taken.get(start, 0)
            if free > 0:
                out.append(Slot(start, free))
    return out


# ---- calling --------------------------------------------------------------------------------
class Waiting(Protocol):
    """What ``pick`` reads of a waiting ticket (``tickets.queue.Ticket``)."""

    @property
    def service(self) -> str: ...

    @property
    def priority(self) -> str | None: ...

    @property
    def issued_at(self) -> float: ...

    @property
    def appointment_at(self) -> float | None: ...


def is_late(t: Waiting, rules: CallingRules) -> bool:
    """Checked in later than the tolerance after its time (a walk-in from then on)."""
    at = t.appointment_at
    return at is not None and t.issued_at > at + rules.late_tolerance_minutes * 60


def is_appointment(t: Waiting, rules: CallingRules) -> bool:
    """An appointment called as one: checked in, and not late."""
    return t.appointment_at is not None and not is_late(t, rules)


def is_due(t: Waiting, rules: CallingRules, now: float) -> bool:
    at = t.appointment_at
    return is_appointment(t, rules) and at is not None and now >= at - rules.grace_minutes * 60


T = TypeVar("T", bound=Waiting)


def pick(
    candidates: list[T],
    rank: Mapping[str, int],
    rules: CallingRules,
    now: float,
    streak: int,
    walk_in_key: Callable[[T], tuple[object, ...]],
) -> T | None:
    """The ticket a counter calls now among ``candidates`` (waiting, of its services):
    the rule of the module's docstring. ``streak`` is how many appointments the counter has
    called in a row; ``walk_in_key`` orders walk-ins (and, last, the early appointments)."""
    if not candidates:
        return None
    due = [t for t in candidates if is_due(t, rules, now)]
    walk_ins = [t for t in candidates if not is_appointment(t, rules)]
    if due and not (walk_ins and streak >= rules.max_in_a_row):
        return min(due, key=lambda t: (t.appointment_at, rank[t.service], *walk_in_key(t)))
    if walk_ins:
        return min(walk_ins, key=walk_in_key)
    early = [t for t in candidates if is_appointment(t, rules)]
    return min(early, key=lambda t: (t.appointment_at, rank[t.service], *walk_in_key(t)))


def refused_as_late(rules: CallingRules, appointment_at: float, now: float) -> bool:
    """Whether check-in at ``now`` is refused: late beyond the tolerance under the rebook rule."""
    late = now > appointment_at + rules.late_tolerance_minutes * 60
    return late and rules.late_rule is LateRule.REBOOK


# ---- punctuality ----------------------------------------------------------------------------
def ahead_of(t: T, waiting: Iterable[T], rules: CallingRules) -> int:
    """The checked-in appointments of ``t``'s service that will be called before it: those
    waiting with an earlier time (or the same time, checked in earlier). Walk-ins are not
    counted: a due appointment goes ahead of them (``pick``)."""
    at = t.appointment_at
    if at is None:
        return 0
    return sum(
        1
        for o in waiting
        if o is not t
        and o.service == t.service
        and is_appointment(o, rules)
        and o.appointment_at is not None
        and (o.appointment_at, o.issued_at) < (at, t.issued_at)
    )


def expected_start(appointment_at: float, now: float, wait_seconds: float) -> float:
    """When a waiting appointment is expected to be called: at its time, unless the queue's
    wait estimate for the appointments ahead of it (``wait_seconds``, from ``now``) puts it
    later. The one rule every process uses (docs/appointments.md "Running late")."""
    return max(appointment_at, now + wait_seconds)


def running_late(rules: CallingRules, appointment_at: float, expected: float) -> bool:
    """Expected to start more than ``late_notice_minutes`` after its time."""
    return expected > appointment_at + rules.late_notice_minutes * 60
