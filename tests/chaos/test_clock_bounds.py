"""One device's wrong clock moves nobody else's, and no figure (docs/architecture.md, "Time").

Each test reproduces a case found in independent runs: a kiosk a day ahead whose ticket
dragged the server's clock (and through it every device's, the next call, the service time,
the estimates and the day's statistics); a ticket stamped 1970 the server's queue never showed
while every device put it first; a peer three days ahead that dragged a board's clock until
the server refused, and the board quarantined, every event it made after.

Set-up: tests/chaos/clocksite.py (the real server on loopback, kiosks and boards with their
journals on disk, wall clocks the test sets).
"""

from __future__ import annotations

from typing import Any

import pytest
import requests

from display.protocol import Action, Press
from tests.chaos.clocksite import DAY, HOUR, MONDAY_10, Site
from tests.server.helpers import SITE
from tickets.estimate import service_seconds
from tickets.hlc import MAX_DRIFT_SECONDS
from tickets.journal import Journal
from tickets.peer import PeerLink, PeerSync, peer_key


def _get(site: Site, path: str, **kw: Any) -> Any:
    r = requests.get(f"{site.server.url}{path}", timeout=10, **kw)
    r.raise_for_status()
    return r.json()


def _queue(site: Site) -> Any:
    auth = {"Authorization": f"Bearer {site.tokens['board-a']}"}
    return _get(site, f"/api/v1/sites/{SITE}/queue", headers=auth)


def _civil(services: list[dict[str, Any]]) -> dict[str, Any]:
    return next(s for s in services if s["id"] == "civil")


def _ahead_of_truth(site: Site, journal: Journal | None = None) -> float:
    clock = journal.clock if journal is not None else site.server.ctx.clock
    return clock.now().seconds - site.truth()


def test_a_kiosk_a_day_ahead_moves_no_clock_and_no_figure(site: Site) -> None:
    """GIVEN a right kiosk, a board, and a kiosk 23 h ahead that has not heard from the server
    (its first ticket is stamped, and numbered, for tomorrow)
    WHEN it uploads that ticket while counter 1 serves the right kiosk's first one, then the
    right kiosk issues a later ticket
    THEN the server's clock (and the board's) stays on time; the ticket keeps its place before
    the later one, is counted today (flagged: numbered for another day) and is called next;
    the ticket served meanwhile took its true 7 minutes; the estimates on the queue API and the
    public wait page are minutes, not hours; the statistics keep every ticket."""
    right = site.kiosk("kiosk-a")
    fast = site.kiosk("kiosk-b", 23 * HOUR, synced=False)
    board = site.board("board-a")
    first = right.issue()
    site.truth.t += 60
    assert site.press_next(board, "1") == first
    site.truth.t += 60
    ahead = fast.issue()  # uploads it: stamped 23 h ahead, re-stamped at receipt
    assert ahead == "A030", "numbered for tomorrow, from the offline range"
    assert _ahead_of_truth(site) < MAX_DRIFT_SECONDS
    site.truth.t += 60
    later = right.issue()
    assert site.queue_labels() == [ahead, later]
    site.truth.t += 300
    assert site.press_next(board, "1") == ahead
    assert _ahead_of_truth(site) < MAX_DRIFT_SECONDS
    assert _ahead_of_truth(site, board.journal) < MAX_DRIFT_SECONDS
    queue = _queue(site)
    (serving,) = [c["ticket"] for c in queue["counters"] if c["id"] == "1"]
    assert (serving["label"], serving["day"], serving["misdated"]) == (ahead, "2026-11-23", True)
    # One ticket waits, one counter: the estimate from the configured 5 minutes and the one
    # service observed (7 minutes, not 23 hours).
    expected = service_seconds(300.0, [420.0])
    assert _civil(queue["services"])["estimated_wait_seconds"] == pytest.approx(expected, abs=2)
    public = _get(site, f"/api/v1/public/sites/{SITE}/wait")
    assert _civil(public["services"])["estimated_wait_seconds"] == pytest.approx(expected, abs=2)
    site.truth.t += 300
    board.core.press(Press("1", Action.DONE))
    # The service times every fold (the server's, the board's) estimates with: the true ones.
    assert board.sync.run_once()
    samples = board.journal.state(site.config.to_domain()).service_times["civil"]
    assert list(samples) == pytest.approx([420, 300], abs=1)
    stats = site.stats()
    assert (stats["tickets"], stats["called"], stats["served"]) == (3, 2, 2)
    assert stats["mean_service_seconds"] == pytest.approx((420 + 300) / 2, abs=2)
    # The kiosk that was ahead now stamps on time: its next ticket goes after the later one.
    assert _ahead_of_truth(site, fast.journal) < MAX_DRIFT_SECONDS
    again = fast.issue()
    assert site.queue_labels() == [later, again]
    own = fast.journal.state(site.config.to_domain())
    assert [t.label for t in own.waiting("civil")] == [later, again]


def test_a_ticket_stamped_1970_is_in_the_same_place_on_the_server_and_every_device(
    site: Site,
) -> None:
    """GIVEN a kiosk whose clock restarted in 1970 (no real-time clock, no saved time), and a
    right kiosk that issued a ticket just before
    WHEN the 1970 kiosk issues a ticket and syncs
    THEN the server re-stamps it at the time it was issued (its clock error measured): it is
    in today's queue after the earlier ticket, flagged, callable, counted in today's statistics;
    the board and both kiosks fold the same queue."""
    right = site.kiosk("kiosk-a")
    board = site.board("board-a")
    earlier = right.issue()
    site.truth.t += 60
    old = site.kiosk("kiosk-b", 3600.0 - MONDAY_10, synced=False)  # 01:00 on 1 January 1970
    result = old.core.issue("civil")
    assert result.ticket is not None and result.ticket.day == "1970-01-01"
    old.sync.run_once()
    labels = [earlier, result.ticket.label]
    assert site.queue_labels() == labels
    waiting = [t for t in _queue(site)["waiting"] if t["service"] == "civil"]
    assert [(t["day"], t["misdated"]) for t in waiting] == [
        ("2026-11-23", False),
        ("2026-11-23", True),
    ]
    for device in (board, right, old):
        device.sync.run_once()
        state = device.journal.state(site.config.to_domain())
        assert [t.label for t in state.waiting("civil", "2026-11-23")] == labels
    site.truth.t += 60
    assert site.press_next(board, "1") == earlier
    assert site.press_next(board, "1") == result.ticket.label
    assert site.stats()["tickets"] == 2


def test_a_peer_three_days_ahead_does_not_drag_a_board(site: Site) -> None:
    """GIVEN a kiosk three days ahead that never heard from the server, and a board, with the
    server away: they exchange on the LAN
    WHEN the board learns the kiosk's ticket and calls it, deciding alone
    THEN the board's clock stays on time (the ticket is re-stamped when it receives it, its
    author's stamp kept); when the server is back it takes every event of the board (none
    quarantined) and re-stamps the kiosk's; everyone ends with the server's queue."""
    fast = site.kiosk("kiosk-b", 3 * DAY, synced=False)
    board = site.board("board-a", online=False)
    keys = {d: peer_key(t) for d, t in site.tokens.items()}
    answering = PeerSync(fast.journal, token=site.tokens["kiosk-b"], listen=("127.0.0.1", 0))
    answering.set_keys(keys)
    answering.start_server()
    try:
        label = fast.core.issue("civil").ticket
        assert label is not None
        pulling = PeerSync(
            board.journal, token=site.tokens["board-a"], on_events=board.core.receive
        )
        pulling.set_keys(keys)
        pulling.links.append(PeerLink(answering.url))
        pulling.run_once()
    finally:
        answering.stop()
    assert _ahead_of_truth(site, board.journal) < MAX_DRIFT_SECONDS
    site.truth.t += 60
    assert board.core.press(Press("1", Action.NEXT)).ticket == label.label
    site.truth.t += 60
    board.core.press(Press("1", Action.DONE))
    assert _ahead_of_truth(site, board.journal) < MAX_DRIFT_SECONDS
    assert board.sync.run_once() and fast.sync.run_once() and board.sync.run_once()
    assert board.journal.quarantined() == [] and board.journal.backlog() == 0
    assert _ahead_of_truth(site) < MAX_DRIFT_SECONDS
    civil = site.stats("2026-11-23", "2026-11-23")
    assert (civil["tickets"], civil["served"]) == (1, 1)
    assert civil["waiting_p50_seconds"] == pytest.approx(60, abs=2)
    for journal in (board.journal, fast.journal):
        state = journal.state(site.config.to_domain())
        (ticket,) = state.tickets.values()
        assert (ticket.label, ticket.status.value, ticket.day) == (
            label.label,
            "served",
            "2026-11-23",
        )
