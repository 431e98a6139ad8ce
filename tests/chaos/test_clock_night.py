"""A night without network: a Raspberry Pi has no real-time clock, so after an overnight power
cut it boots with the last time it saved (fake-hwclock) until it hears from someone it trusts.

What holds (docs/architecture.md, "Time"): the device's service day never runs backwards (its
time goes on from the latest time it knows has passed, kept in its journal); a ticket it
numbers for yesterday anyway is re-dated by the server when it reaches it, flagged, and called
today in its place, never lost in a day nobody calls.

Set-up: tests/chaos/clocksite.py. The kiosk is restarted on the same journal with its clock
injected: running from the saved time.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from tests.chaos.clocksite import Kiosk, Site

PARIS = ZoneInfo("Europe/Paris")


def at(day: int, hour: int, minute: int = 0) -> float:
    return datetime(2026, 11, day, hour, minute, tzinfo=PARIS).timestamp()


def restart(site: Site, kiosk: Kiosk, saved: float) -> Kiosk:
    """The kiosk after a power cut, on its journal, its clock running from ``saved``; the
    server is out of its reach (no sync)."""
    kiosk.journal.close()
    site.journals.remove(kiosk.journal)
    return site.kiosk("kiosk-a", saved - site.truth(), synced=False)


def test_a_kiosk_restarted_with_its_clock_set_back_never_goes_back_a_day(site: Site) -> None:
    """GIVEN a kiosk that synced just after midnight (Tuesday 00:10), then lost power with the
    server out of reach; its clock had last been saved at 23:50 on Monday
    WHEN it restarts at 08:30 on Tuesday with its clock at that saved time
    THEN its time goes on from 00:10 Tuesday, not from Monday 23:50: its service day is
    Tuesday and its new ticket is numbered for Tuesday, after the ones it made before."""
    site.truth.t = at(24, 0, 10)
    kiosk = site.kiosk("kiosk-a")
    kiosk.issue()
    before = max(e.hlc for e in kiosk.journal.events_after(0, 1000)[0])
    site.truth.t = at(24, 8, 30)
    again = restart(site, kiosk, saved=at(23, 23, 50))
    assert again.journal.wall() < at(24, 0, 0), "the machine's clock says Monday"
    assert again.journal.now() >= at(24, 0, 10)
    assert again.core.today() == "2026-11-24"
    result = again.core.issue("civil")
    assert result.ticket is not None and result.ticket.day == "2026-11-24"
    (issued,) = [e for e in again.journal.outbox() if e.ticket == result.ticket.ticket]
    assert issued.hlc > before


def test_a_ticket_numbered_for_yesterday_after_a_night_is_called_today(site: Site) -> None:
    """GIVEN a kiosk that last synced at 19:00 on Monday, lost power overnight with the WAN
    down, and restarted at 08:30 on Tuesday with its clock at its last saved time (18:30 on
    Monday): it can only believe it is Monday evening, and numbers its ticket for Monday;
    another kiosk with a right clock issues one at 08:45
    WHEN the WAN is back (09:00)
    THEN the server re-dates the first kiosk's ticket to Tuesday (its clock error measured),
    flags it, keeps it first in line (issued first) and the board's NEXT calls it; the kiosk
    ends with the server's copy and numbers its next ticket for Tuesday."""
    site.truth.t = at(23, 19, 0)
    kiosk = site.kiosk("kiosk-a")
    kiosk.issue()
    site.truth.t = at(24, 8, 30)
    night = restart(site, kiosk, saved=at(23, 18, 30))
    assert night.core.today() == "2026-11-23", "nobody it trusts has said otherwise"
    result = night.core.issue("civil")
    assert result.ticket is not None and result.ticket.day == "2026-11-23"
    late = result.ticket.label
    site.truth.t = at(24, 8, 45)
    right = site.kiosk("kiosk-b")
    other = right.issue()
    board = site.board("board-a")
    site.truth.t = at(24, 9, 0)
    assert night.sync.run_once()
    waiting = [t for t in site.server_queue()["waiting"] if t["service"] == "civil"]
    assert [(t["label"], t["day"], t["misdated"]) for t in waiting] == [
        (late, "2026-11-24", True),
        (other, "2026-11-24", False),
    ]
    assert site.press_next(board, "1") == late
    assert night.core.today() == "2026-11-24"
    assert night.sync.run_once()
    own = night.journal.state(site.config.to_domain())
    assert [t.label for t in own.waiting("civil", "2026-11-24")] == [other]
    assert night.core.issue("civil").ticket.day == "2026-11-24"  # type: ignore[union-attr]
