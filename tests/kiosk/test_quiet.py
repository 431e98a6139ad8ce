"""The quieter time to come back (kiosk.quiet; defined in docs/kiosk.md)."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from kiosk.quiet import quieter_time
from tests.kiosk.conftest import MONDAY_10, PARIS
from tickets.events import Event, EventKind, new_event
from tickets.hlc import Timestamp
from tickets.model import Period, Service

DAYS = range(5)
SERVICE = Service(
    id="passeports",
    prefix="B",
    names={"fr": "Passeports"},
    hours={
        d: (Period(time(8, 30), time(12, 0)), Period(time(13, 30), time(17, 0))) for d in range(5)
    },
)


def issued(at: datetime, service: str = "passeports", n: int = 1) -> Event:
    ts = at.timestamp()
    return new_event(
        EventKind.TICKET_ISSUED,
        site="mairie",
        device="kiosk",
        hlc=Timestamp(int(ts * 1000), 0, "kiosk"),
        wall_time=ts,
        ticket=f"t{ts}-{n}",
        service=service,
        number=n,
        day=at.date().isoformat(),
    )


def history(per_hour: dict[int, int], weeks: int = 4, service: str = "passeports") -> list[Event]:
    """Every weekday of the last ``weeks`` weeks before MONDAY_10, ``per_hour[h]`` tickets."""
    events = []
    for day in range(1, weeks * 7 + 1):
        date = MONDAY_10 - timedelta(days=day)
        if date.weekday() >= 5:
            continue
        for hour, count in per_hour.items():
            for k in range(count):
                at = date.replace(hour=hour, minute=35 + k if hour in (8, 13) else 2 * k)
                events.append(issued(at, service, k))
    return events


BUSY = {8: 4, 9: 6, 10: 6, 11: 5, 13: 3, 14: 1, 15: 4, 16: 5}


def test_the_hour_with_fewest_arrivals_is_offered() -> None:
    """GIVEN four weeks where 14:00-15:00 has the fewest arrivals WHEN asked at 10:00 on a
    Monday THEN the kiosk offers today at 14:00."""
    got = quieter_time(SERVICE, history(BUSY), MONDAY_10)
    assert got == MONDAY_10.replace(hour=14)


def test_ties_go_to_the_soonest_slot_and_the_current_hour_is_never_offered() -> None:
    flat = {h: 2 for h in (8, 9, 10, 11, 13, 14, 15, 16)}
    got = quieter_time(SERVICE, history(flat), MONDAY_10)
    assert got == MONDAY_10.replace(hour=11)


def test_a_slot_starting_inside_the_hour_starts_at_opening() -> None:
    quiet_after_lunch = {**BUSY, 13: 0}
    got = quieter_time(SERVICE, history(quiet_after_lunch), MONDAY_10)
    assert got == MONDAY_10.replace(hour=13, minute=30)


def test_without_enough_history_nothing_is_offered() -> None:
    few = history({9: 1}, weeks=1)
    assert len(few) < 20
    assert quieter_time(SERVICE, few, MONDAY_10) is None


def test_other_services_and_old_events_do_not_count() -> None:
    mine = history(BUSY)
    others = history({14: 30}, service="ccas")
    old = [issued(MONDAY_10 - timedelta(days=40, hours=-4), n=i) for i in range(50)]
    assert old[0].data["day"] < (MONDAY_10 - timedelta(weeks=4)).date().isoformat()
    assert quieter_time(SERVICE, mine + others + old, MONDAY_10) == MONDAY_10.replace(hour=14)


def test_after_closing_on_friday_the_next_week_is_searched() -> None:
    friday_evening = datetime(2026, 11, 27, 18, 0, tzinfo=PARIS)
    got = quieter_time(SERVICE, history(BUSY), friday_evening)
    assert got == datetime(2026, 11, 30, 14, 0, tzinfo=PARIS)
