"""Appointment slots and the calling rule of checked-in appointments (tickets.appointments)."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.tickets.factory import DAY, Events, make_site
from tickets import appointments as ap
from tickets.events import Event, EventKind
from tickets.model import AppointmentRules, CallingRules, Period
from tickets.queue import QueueState, TicketStatus, fold

PARIS = ZoneInfo("Europe/Paris")
WEEKDAYS = {d: (Period(time(9), time(12)), Period(time(14), time(16, 30))) for d in range(5)}
RULES = AppointmentRules(duration_minutes=20, periods=WEEKDAYS, parallel=2, horizon_days=10)


def never(_day: date) -> bool:
    return False


def at(day: date, hour: int, minute: int = 0) -> float:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=PARIS).timestamp()


def test_slots_are_laid_end_to_end_within_each_period() -> None:
    monday = date(2026, 11, 23)
    starts = [
        datetime.fromtimestamp(s, PARIS).strftime("%H:%M")
        for s in ap.day_starts(RULES, monday, PARIS)
    ]
    assert starts[:3] == ["09:00", "09:20", "09:40"]
    assert "11:40" in starts and "12:00" not in starts
    # 14:00-16:30 holds seven 20-minute slots: the eighth would overrun the period.
    assert starts[-1] == "16:00" and "16:20" not in starts
    assert len(starts) == 9 + 7
    assert ap.day_starts(RULES, date(2026, 11, 22), PARIS) == []  # Sunday: no period


def test_a_spring_forward_day_skips_the_hour_that_does_not_exist() -> None:
    night = AppointmentRules(duration_minutes=30, periods={6: (Period(time(1), time(4)),)})
    sunday = date(2026, 3, 29)  # clocks go from 02:00 to 03:00 in Paris
    starts = ap.day_starts(night, sunday, PARIS)
    shown = [datetime.fromtimestamp(s, PARIS).strftime("%H:%M") for s in starts]
    assert shown == ["01:00", "01:30", "03:00", "03:30"]
    autumn = ap.day_starts(night, date(2026, 10, 25), PARIS)  # 02:00-03:00 happens twice
    assert len(autumn) == len(set(autumn)) == 6


def test_refusal_names_notice_horizon_closure_and_unknown_times() -> None:
    monday = date(2026, 11, 23)
    now = at(monday, 9, 0)
    rules = replace(RULES, min_notice_minutes=60, closures=(date(2026, 11, 25),))
    assert ap.refusal(rules, at(monday, 9, 40), now, PARIS, never) is not None  # notice
    assert ap.refusal(rules, at(monday, 10, 0), now, PARIS, never) is None
    assert "closed" in (ap.refusal(rules, at(date(2026, 11, 25), 10), now, PARIS, never) or "")
    assert "ahead" in (ap.refusal(rules, at(date(2026, 12, 7), 10), now, PARIS, never) or "")
    assert ap.refusal(rules, at(monday, 10, 5), now, PARIS, never) == "no slot starts at that time"

    def holiday(d: date) -> bool:
        return d == date(2026, 11, 24)

    assert "closed" in (ap.refusal(rules, at(date(2026, 11, 24), 10), now, PARIS, holiday) or "")


def test_open_slots_leave_out_full_ones_and_count_free_places() -> None:
    monday = date(2026, 11, 23)
    now = at(monday, 8)
    nine, nine20 = at(monday, 9), at(monday, 9, 20)
    slots = ap.open_slots(
        replace(RULES, min_notice_minutes=0), [monday], now, PARIS, never, {nine: 2, nine20: 1}
    )
    assert nine not in [s.start for s in slots]
    assert next(s for s in slots if s.start == nine20).free == 1
    days = ap.bookable_days(RULES, now, PARIS, lambda d: d == date(2026, 11, 24))
    assert date(2026, 11, 24) not in days and date(2026, 11, 28) not in days  # holiday, Sat
    assert days[0] == monday and max(days) <= date(2026, 12, 3)


# ---- calling --------------------------------------------------------------------------------
CALLING = CallingRules(grace_minutes=5, late_tolerance_minutes=15, max_in_a_row=2)
SITE = replace(make_site(), calling=CALLING)


def checkin(
    ev: Events, ticket: str, when: float, slot: float, number: int, service: str = "a"
) -> Event:
    return ev.make(
        EventKind.TICKET_ISSUED,
        when,
        "kiosk",
        ticket=ticket,
        service=service,
        number=number,
        day=DAY,
        appointment=f"appt-{ticket}",
        appointment_at=slot,
    )


def test_a_due_appointment_goes_ahead_of_walk_ins() -> None:
    ev = Events()
    state = fold(SITE, [ev.issue("w1", 0, number=1), checkin(ev, "r1", 10, 1000, 2)])
    assert state.next_for("2", now=500).id == "w1"  # not due yet: early, waits for its slot
    assert state.next_for("2", now=1000 - 300).id == "r1"  # due from its time minus the grace


def test_an_early_appointment_is_called_when_nobody_else_waits() -> None:
    ev = Events()
    state = fold(SITE, [checkin(ev, "r1", 10, 5000, 1)])
    assert state.next_for("2", now=20).id == "r1"


def test_a_late_appointment_is_a_walk_in_from_its_check_in() -> None:
    ev = Events()
    late = checkin(ev, "r1", 1000 + 16 * 60, 1000, 2)
    state = fold(SITE, [ev.issue("w1", 0, number=1), late, ev.issue("w2", 2000, number=3)])
    order = []
    for _ in range(3):
        t = state.next_for("2", now=3000)
        assert t is not None
        order.append(t.id)
        state.add(
            ev.make(EventKind.TICKET_CALLED, 3000 + len(order), "board", ticket=t.id, counter="2")
        )
    assert order == ["w1", "r1", "w2"]


def test_a_counter_calls_a_walk_in_after_max_in_a_row_appointments() -> None:
    ev = Events()
    events = [ev.issue("w1", 0, number=1)]
    events += [checkin(ev, f"r{i}", 1 + i, 100, 10 + i) for i in range(4)]
    state = fold(SITE, events)
    order = []
    for i in range(5):
        t = state.next_for("2", now=200)
        assert t is not None
        order.append(t.id)
        state.add(ev.make(EventKind.TICKET_CALLED, 200 + i, "board", ticket=t.id, counter="2"))
    assert order == ["r0", "r1", "w1", "r2", "r3"]
    assert fold(SITE, list(reversed(state.events))).appointment_streak == state.appointment_streak


# A day of random arrivals at one site: walk-ins and checked-in appointments (early, on time,
# late), counters calling whoever ``next_for`` says. The rule's promises hold at every call.
Arrival = st.tuples(
    st.integers(0, 3600),  # arrival (seconds into the day)
    st.sampled_from("ab"),  # service
    st.one_of(st.none(), st.integers(-1200, 1800)),  # None: walk-in; else slot minus arrival
)
Calls = st.lists(st.tuples(st.sampled_from("123"), st.integers(0, 5000)), max_size=60)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(Arrival, max_size=30), Calls, st.integers(1, 3), st.integers(0, 1000))
def test_calling_rule_promises_on_random_days(
    arrivals: list[tuple[int, str, int | None]],
    calls: list[tuple[str, int]],
    max_in_a_row: int,
    seed: int,
) -> None:
    rules = replace(CALLING, max_in_a_row=max_in_a_row)
    site = replace(make_site(), calling=rules)
    ev = Events()
    timeline: list[tuple[float, str, object]] = []
    for i, (when, service, offset) in enumerate(arrivals):
        timeline.append(
            (when, "arrive", (f"t{i}", service, None if offset is None else when + offset, i + 1))
        )
    for counter, when in calls:
        timeline.append((when + 0.5, "call", counter))
    timeline.sort(key=lambda x: (x[0], x[1]))
    state = QueueState(site)
    run: dict[str, int] = {}
    """Counter -> appointments it called in a row while a walk-in it takes waited at each."""
    for when, what, arg in timeline:
        if what == "arrive":
            tid, service, slot, number = arg  # type: ignore[misc]
            if slot is None:
                state.add(ev.issue(tid, when, service=service, number=number))
            else:
                state.add(checkin(ev, tid, when, slot, number, service))
            continue
        counter = str(arg)
        takes = site.counter(counter).services  # type: ignore[union-attr]
        waiting = [t for t in state.waiting() if t.service in takes]
        chosen = state.next_for(counter, now=when)
        if not waiting:
            assert chosen is None
            continue
        assert chosen is not None and chosen.status is TicketStatus.WAITING
        walk_ins = [t for t in waiting if not ap.is_appointment(t, rules)]
        due = [t for t in waiting if ap.is_due(t, rules, when)]
        if ap.is_appointment(chosen, rules) and not ap.is_due(chosen, rules, when):
            # An early appointment only when nobody else waits for this counter.
            assert not walk_ins and not due
        if not ap.is_appointment(chosen, rules) and due:
            # A walk-in ahead of a due appointment only to keep the bound.
            assert state.appointment_streak.get(counter, 0) >= max_in_a_row
        if ap.is_appointment(chosen, rules) and walk_ins:
            run[counter] = run.get(counter, 0) + 1
            assert run[counter] <= max_in_a_row, "a walk-in was held back beyond the bound"
        else:
            run[counter] = 0
        state.add(
            ev.make(EventKind.TICKET_CALLED, when, "board", ticket=chosen.id, counter=counter)
        )
    # Same events in any order, same state (appointments and streaks included).
    shuffled = state.events
    random.Random(seed).shuffle(shuffled)
    again = fold(site, shuffled)
    assert again.appointment_streak == state.appointment_streak
    assert {k: v.status for k, v in again.tickets.items()} == {
        k: v.status for k, v in state.tickets.items()
    }


# ---- punctuality ----------------------------------------------------------------------------
def test_expected_start_is_the_time_or_later_when_appointments_ahead_or_time_push_it() -> None:
    """GIVEN three appointments of service "a" (300 s each, no counter open: counted as one)
    checked in for 1000, 1000 and 1300, and a walk-in
    THEN each is expected at max(its time, now + the wait estimate of the appointments ahead
    of it); walk-ins are not counted; time passing alone makes one late."""
    ev = Events()
    state = fold(
        SITE,
        [
            ev.issue("w1", 0, number=1),
            checkin(ev, "r1", 10, 1000, 2),
            checkin(ev, "r2", 20, 1000, 3),
            checkin(ev, "r3", 30, 1300, 4),
        ],
    )
    assert state.expected_start("r1", 100) == 1000  # nobody ahead: its time
    assert state.expected_start("r2", 900) == 1200  # r1 first (same time, checked in earlier)
    assert state.expected_start("r3", 900) == 1500  # two ahead: 900 + 2 x 300
    assert state.expected_start("w1", 900) is None  # a walk-in has none
    late = CALLING.late_notice_minutes * 60
    assert not ap.running_late(CALLING, 1300, 1300 + late)
    assert ap.running_late(CALLING, 1300, 1300 + late + 1)
    assert state.expected_start("r1", 1000 + late + 1) == 1000 + late + 1  # still waiting
