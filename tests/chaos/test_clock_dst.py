"""The two daylight-saving days of Europe/Paris in 2026, each across a whole simulated day:
Sunday 29 March (02:00 becomes 03:00: a day of 23 hours) and Sunday 25 October (03:00 becomes
02:00: a day of 25 hours).

One ticket an hour of true time from 00:30, each called ten minutes after it was issued (the
NEXT that calls it ends the one before: an hour of service each), the kiosk syncing before
each ticket as it does every few seconds. What holds: the numbers of the
day run 1, 2, 3... and start again at 1 the next day; every ticket's service day is the local
date it was issued on; waits and service times are true seconds (600 and 3600), not local clock
differences; the arrivals by hour follow the local hours (no 02:00 in March, two in October).

Set-up: tests/chaos/clocksite.py (the real server on loopback, a kiosk and a board on the
test's true time).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.chaos.clocksite import Site

PARIS = ZoneInfo("Europe/Paris")


@pytest.mark.parametrize(
    ("day", "hours", "twice", "missing"),
    [("2026-03-29", 23, None, 2), ("2026-10-25", 25, 2, None)],
    ids=["spring-forward", "fall-back"],
)
def test_a_whole_daylight_saving_day(
    site: Site, day: str, hours: int, twice: int | None, missing: int | None
) -> None:
    start = datetime.fromisoformat(day).replace(hour=0, minute=30, tzinfo=PARIS).timestamp()
    next_day = (datetime.fromisoformat(day) + timedelta(days=1)).date().isoformat()
    site.truth.t = start
    kiosk, board = site.kiosk("kiosk-a"), site.board("board-a")
    issued: list[tuple[str, str, int]] = []  # (day, label, local hour)
    while True:
        local = datetime.fromtimestamp(site.truth(), PARIS)
        kiosk.sync.run_once()  # its periodic sync: a lease for the day once it begins
        result = kiosk.core.issue("civil")
        assert result.ticket is not None
        kiosk.sync.run_once()
        issued.append((result.ticket.day, result.ticket.label, local.hour))
        if result.ticket.day != day:
            break
        site.truth.t += 600
        assert site.press_next(board, "1") == result.ticket.label
        site.truth.t += 3000
    *today, (tomorrow, first_of_tomorrow, _) = issued
    assert len(today) == hours
    assert [d for d, _, _ in today] == [day] * hours
    assert [label for _, label, _ in today] == [f"A{n:03d}" for n in range(1, hours + 1)]
    assert (tomorrow, first_of_tomorrow) == (next_day, "A001")
    local_hours = [h for _, _, h in today]
    if missing is not None:
        assert missing not in local_hours
    if twice is not None:
        assert local_hours.count(twice) == 2
    civil = site.stats(day, day)
    assert (civil["tickets"], civil["called"]) == (hours, hours)
    assert civil["served"] == hours - 1, "the last one of the day is still at the counter"
    assert civil["waiting_p50_seconds"] == pytest.approx(600, abs=1)
    assert civil["mean_service_seconds"] == pytest.approx(3600, abs=1)
    arrivals = site.stats_answer(day, day)["arrivals_by_hour"]
    by_hour = {a["hour"]: a["tickets"] for a in arrivals}
    assert sum(by_hour.values()) == hours
    if twice is not None:
        assert by_hour[twice] == 2
    if missing is not None:
        assert missing not in by_hour
