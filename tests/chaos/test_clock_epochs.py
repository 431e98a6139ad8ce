"""A device's clock steps between making events and uploading them.

A Raspberry Pi has no real-time clock: it boots on the time fake-hwclock saved (or in 1970),
then NTP steps its clock, possibly by hours. The server times a device's events with the clock
error it measures at the upload; an event made before a step was made on another clock. The
device keeps its clock's epochs (``tickets.epochs``) and uploads each epoch's events with what
that epoch's clock reads, so every event is timed, and placed, by the error of the clock it
was made on (docs/architecture.md, "Time").

Set-up: tests/chaos/clocksite.py (the real server on loopback, journals on disk), each kiosk
on a ``Machine``: a wall clock the test steps, a monotonic clock that does not, a boot id.
"""

from __future__ import annotations

import pytest

from guichet.sim.checks import server_events
from tests.chaos.clocksite import HOUR, Kiosk, Machine, Site
from tests.server.helpers import SITE
from tickets.events import Event, EventKind

MINUTE = 60.0
TOLERANCE = 2.0
"""Seconds: the server takes a clock error up to this as none."""


def offline_ticket(kiosk: Kiosk) -> str:
    """A ticket the kiosk issues while the server is out of its reach (no sync)."""
    result = kiosk.core.issue("civil")
    assert result.ticket is not None
    return result.ticket.label


def issues(site: Site) -> dict[str, Event]:
    """The server's TicketIssued events by label, with the times its statistics read."""
    events = server_events(site.server.ctx.engine, SITE, corrected_time=True)
    return {e.data["label"]: e for e in events if e.kind is EventKind.TICKET_ISSUED}


def assert_timed(event: Event, at: float) -> None:
    """The server times ``event`` at ``at`` and keeps it where its author placed it."""
    assert event.occurred_at is not None
    assert abs(event.occurred_at - at) <= TOLERANCE, (event.occurred_at - at) / HOUR
    assert event.original_hlc is None, "re-stamped at receipt"
    assert abs(event.hlc.seconds - at) <= TOLERANCE


def across_a_reboot(
    site: Site, kiosk: Kiosk, machine: Machine, skew: float
) -> tuple[Kiosk, tuple[str, float], tuple[str, float]]:
    """From 10:00: a ticket at 10:05, a reboot ``skew`` off at 10:10, a ticket at 10:15; the
    clock at 10:20. The kiosk after the reboot, and each ticket's label and true time."""
    site.truth.t += 5 * MINUTE
    first = offline_ticket(kiosk), site.truth()
    site.truth.t += 5 * MINUTE
    kiosk = reboot(site, kiosk, machine, skew)
    site.truth.t += 5 * MINUTE
    second = offline_ticket(kiosk), site.truth()
    site.truth.t += 5 * MINUTE
    return kiosk, first, second


def reboot(site: Site, kiosk: Kiosk, machine: Machine, skew: float) -> Kiosk:
    """A power cut: the kiosk's machine boots on a clock ``skew`` off, the kiosk starts again
    on its journal, the server out of its reach."""
    kiosk.journal.close()
    site.journals.remove(kiosk.journal)
    machine.reboot(skew)
    return site.kiosk("kiosk-a", synced=False, machine=machine)


def test_tickets_made_before_ntp_steps_the_clock_are_timed_by_the_clock_they_were_made_on(
    site: Site,
) -> None:
    """GIVEN a kiosk whose clock runs 3 h ahead, measured by the server at 10:00, that issues
    a ticket at 10:05 with the server out of reach
    WHEN NTP steps its clock back to the right time at 10:10, it issues another at 10:15 and
    uploads both at 10:20
    THEN the server times the first at 10:05 and the second at 10:15 (neither 3 h off nor at
    the upload), keeps both where the kiosk placed them, and calls them in that order."""
    machine = Machine(site.truth, skew=3 * HOUR)
    kiosk = site.kiosk("kiosk-a", machine=machine)
    site.truth.t += 5 * MINUTE
    first, first_at = offline_ticket(kiosk), site.truth()
    site.truth.t += 5 * MINUTE
    machine.step(-3 * HOUR)
    site.truth.t += 5 * MINUTE
    second, second_at = offline_ticket(kiosk), site.truth()
    site.truth.t += 5 * MINUTE
    assert kiosk.sync.run_once()
    assert kiosk.journal.backlog() == 0
    stored = issues(site)
    assert_timed(stored[first], first_at)
    assert_timed(stored[second], second_at)
    assert site.queue_labels() == [first, second]


@pytest.mark.parametrize(
    "skew",
    [23 * HOUR, None],
    ids=["boots 23 h ahead", "boots in 1970"],
)
def test_tickets_made_before_a_reboot_on_a_wrong_clock_keep_their_time(
    site: Site, skew: float | None
) -> None:
    """GIVEN a kiosk with a right clock, measured by the server at 10:00, that issues a ticket
    at 10:05 with the server out of reach
    WHEN a power cut at 10:10 reboots it on a wrong clock (23 h ahead, or 1970), it issues
    another at 10:15 and uploads both at 10:20
    THEN the server times the first at 10:05 (not 23 h early, nor at the upload) where the
    kiosk placed it, the second at 10:15, and calls them in that order."""
    machine = Machine(site.truth)
    kiosk = site.kiosk("kiosk-a", machine=machine)
    boot_skew = skew if skew is not None else 3600.0 - (site.truth() + 10 * MINUTE)
    kiosk, (first, first_at), (second, second_at) = across_a_reboot(site, kiosk, machine, boot_skew)
    assert kiosk.sync.run_once()
    assert kiosk.journal.backlog() == 0
    stored = issues(site)
    assert_timed(stored[first], first_at)
    assert stored[second].occurred_at is not None
    assert abs(stored[second].occurred_at - second_at) <= TOLERANCE
    assert site.queue_labels() == [first, second]


def test_a_ticket_a_board_relays_first_is_timed_by_its_kiosks_own_upload(site: Site) -> None:
    """GIVEN a kiosk that issued a ticket at 10:05 with the server out of reach, rebooted 23 h
    ahead at 10:10 and issued another at 10:15; a board learnt both over the LAN
    WHEN the board uploads them first (the server cannot time them: the board's clock is not
    the kiosk's), the kiosk hears the server's copies (its push stream) and then syncs
    THEN the kiosk still uploads its own two, and the server times them at 10:05 and 10:15."""
    machine = Machine(site.truth)
    kiosk = site.kiosk("kiosk-a", machine=machine)
    board = site.board("board-a")
    kiosk, (first, first_at), (second, second_at) = across_a_reboot(site, kiosk, machine, 23 * HOUR)
    board.journal.store_remote(kiosk.journal.events_after(0, 1000)[0], relay=True)
    assert board.sync.run_once()
    relayed = issues(site)
    assert relayed[first].occurred_at is None and relayed[second].occurred_at is None
    kiosk.journal.store_remote(server_events(site.server.ctx.engine, SITE))
    assert kiosk.journal.backlog() == 2, "the kiosk's own events wait for its own upload"
    assert kiosk.sync.run_once()
    assert kiosk.journal.backlog() == 0
    stored = issues(site)
    for label, at in ((first, first_at), (second, second_at)):
        occurred = stored[label].occurred_at
        assert occurred is not None and abs(occurred - at) <= TOLERANCE, label
