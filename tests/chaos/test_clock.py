"""Devices whose wall clock is wrong (a Raspberry Pi has no real-time clock: after a power cut
without network it may run an hour ahead, or restart a day behind).

What holds (docs/offline.md, "Clock trouble"): the hybrid logical clock keeps the queue in
order, across devices and across a restart whose clock went back; a device corrects its clock
by the server's at each sync (its events, its service day, its opening hours), and the server
corrects the times of events a device made before that by the device's clock error, so the
waiting-time statistics are the true ones.

Set-up: tests/chaos/clocksite.py.
"""

from __future__ import annotations

import pytest

from display.protocol import Action, Press
from tests.chaos.clocksite import DAY, HOUR, Board, Kiosk, Site
from tickets.events import EventKind
from tickets.peer import PeerLink, PeerSync, peer_key


def _serve_a_morning(site: Site, kiosk: Kiosk, board: Board) -> list[tuple[float, float]]:
    """Four tickets five minutes apart, then one call every ten minutes at counter 1, each
    finishing the one before; returns the true (wait, service time) of each ticket."""
    issued: list[float] = []
    for _ in range(4):
        kiosk.issue()
        issued.append(site.truth())
        site.truth.t += 300
    called: list[float] = []
    for _ in range(4):
        assert site.press_next(board, "1") is not None
        called.append(site.truth())
        site.truth.t += 600
    board.core.press(Press("1", Action.DONE))
    return [(c - i, 600.0) for i, c in zip(issued, called, strict=True)]


def test_a_kiosk_an_hour_ahead_does_not_reorder_the_queue(site: Site) -> None:
    """GIVEN two kiosks, one an hour ahead, taking turns a minute apart, both syncing in
    between (as they do every few seconds)
    THEN the server's queue is in the order people took their tickets."""
    fast, right = site.kiosk("kiosk-a", HOUR), site.kiosk("kiosk-b")
    labels = []
    for i in range(6):
        fast.sync.run_once()
        right.sync.run_once()
        labels.append((right if i % 2 else fast).issue())
        site.truth.t += 60
    assert site.queue_labels() == labels


def test_with_the_server_away_peers_keep_the_order_of_a_kiosk_an_hour_ahead(
    site: Site,
) -> None:
    """The same with the server unreachable: the kiosks exchange on the LAN between tickets,
    each clock moves past what it received, and every device folds the order people came in."""
    fast, right = site.kiosk("kiosk-a", HOUR), site.kiosk("kiosk-b")
    keys = {d: peer_key(t) for d, t in site.tokens.items()}
    peers = [
        PeerSync(k.journal, token=site.tokens[name], listen=("127.0.0.1", 0))
        for name, k in (("kiosk-a", fast), ("kiosk-b", right))
    ]
    for p in peers:
        p.set_keys(keys)
        p.start_server()
    peers[0].links.append(PeerLink(peers[1].url))
    peers[1].links.append(PeerLink(peers[0].url))
    try:
        labels = []
        for i in range(6):
            for p in peers:
                p.run_once()
            k = right if i % 2 else fast
            result = k.core.issue("civil")  # no sync: the server is away
            assert result.ticket is not None
            labels.append(result.ticket.label)
            site.truth.t += 60
        for p in peers:
            p.run_once()
        for k in (fast, right):
            state = k.journal.state(site.config.to_domain())
            assert [t.label for t in state.waiting("civil")] == labels
    finally:
        for p in peers:
            p.stop()


def test_a_restart_with_the_clock_a_day_back_keeps_the_journal_in_order(site: Site) -> None:
    """A kiosk that journaled tickets today restarts after a power cut with its clock a day
    back: its new events still sort after the old ones (the clock restarts after the highest
    value in the journal), so the queue keeps its order."""
    first = site.kiosk("kiosk-a")
    for _ in range(2):
        first.issue()
    top = max(e.hlc for e in first.journal.events_after(0, 1000)[0])
    first.journal.close()
    site.journals.remove(first.journal)
    again = site.journal("kiosk-a", -DAY)
    assert again.clock.now() > top
    assert again.clock.latest_seconds() >= top.seconds


def test_a_device_a_day_behind_catches_up_from_the_server_and_from_a_peer(site: Site) -> None:
    """What a device believes the time is (``clock.latest_seconds``, its service day) follows
    the server after one sync, or, with the server away, a peer's copy of an event the server
    stored (its reception time is the server's word) after one exchange on the LAN."""
    board = site.board("board-a", -DAY)
    assert abs(board.journal.clock.latest_seconds() - site.truth()) < 5
    kiosk_journal = site.journal("kiosk-b", -DAY)
    right = site.board("board-b")
    right.journal.record(EventKind.COUNTER_OPENED, counter="2")
    right.sync.run_once()
    keys = {d: peer_key(t) for d, t in site.tokens.items()}
    answering = PeerSync(right.journal, token=site.tokens["board-b"], listen=("127.0.0.1", 0))
    answering.set_keys(keys)
    answering.start_server()
    try:
        pulling = PeerSync(kiosk_journal, token=site.tokens["kiosk-b"], peers=[answering.url])
        pulling.set_keys(keys)
        assert kiosk_journal.clock.latest_seconds() < site.truth() - DAY / 2
        pulling.run_once()
        assert abs(kiosk_journal.clock.latest_seconds() - site.truth()) < 5
        assert kiosk_journal.today() == "2026-11-23"
    finally:
        answering.stop()


def test_waiting_times_are_right_with_a_kiosk_an_hour_ahead(site: Site) -> None:
    """GIVEN a kiosk an hour ahead that synced once (it corrects its clock by the server's)
    WHEN four tickets are issued and served at a counter
    THEN the statistics are the true figures, and the kiosk stamps its events at the true time."""
    kiosk, board = site.kiosk("kiosk-a", HOUR), site.board("board-a")
    assert kiosk.journal.clock_offset == -HOUR
    truth = _serve_a_morning(site, kiosk, board)
    stats = site.stats()
    assert stats["tickets"] == stats["served"] == 4
    waits = sorted(w for w, _ in truth)
    median = (waits[1] + waits[2]) / 2
    assert stats["waiting_p50_seconds"] == pytest.approx(median, abs=60)
    assert stats["mean_service_seconds"] == pytest.approx(600, abs=60)


def test_the_times_of_tickets_issued_before_the_kiosk_heard_the_server_are_corrected(
    site: Site,
) -> None:
    """GIVEN a kiosk an hour ahead that has not heard from the server yet (its clock is not
    corrected): its first ticket is stamped an hour ahead
    WHEN it syncs after each ticket, and a counter calls and serves all four
    THEN they are called in the order people took them (the clocks follow the first ticket's,
    as causality wants), and the statistics are the true figures: the server corrected the
    kiosk's events by the clock error it measured at each sync."""
    kiosk, board = site.kiosk("kiosk-a", HOUR, synced=False), site.board("board-a")
    first = kiosk.issue()
    assert kiosk.journal.clock_offset == -HOUR, "corrected at the sync that uploaded it"
    issued, labels = [site.truth()], [first]
    for _ in range(3):
        site.truth.t += 300
        labels.append(kiosk.issue())
        issued.append(site.truth())
    assert labels[0] == "A900", "the first from the offline range, before any lease"
    assert site.queue_labels() == labels
    site.truth.t += 300
    called: list[tuple[str | None, float]] = []
    for _ in range(4):
        called.append((site.press_next(board, "1"), site.truth()))
        site.truth.t += 600
    board.core.press(Press("1", Action.DONE))
    assert [label for label, _ in called] == labels
    stats = site.stats()
    assert stats["tickets"] == stats["served"] == 4
    waits = sorted(at - i for (_, at), i in zip(called, issued, strict=True))
    assert stats["waiting_p50_seconds"] == pytest.approx((waits[1] + waits[2]) / 2, abs=1)
    assert stats["mean_service_seconds"] == pytest.approx(600, abs=1)


def test_waiting_times_are_right_when_every_clock_is_right(site: Site) -> None:
    """The same morning with right clocks: the statistics are the true figures (the
    reference the test above fails against)."""
    kiosk, board = site.kiosk("kiosk-a"), site.board("board-a")
    truth = _serve_a_morning(site, kiosk, board)
    stats = site.stats()
    waits = sorted(w for w, _ in truth)
    assert stats["waiting_p50_seconds"] == pytest.approx((waits[1] + waits[2]) / 2, abs=1)
    assert stats["mean_service_seconds"] == pytest.approx(600, abs=1)


def test_tickets_from_a_kiosk_a_day_behind_are_called_today(site: Site) -> None:
    """GIVEN a kiosk a day behind that synced once
    THEN its tickets are numbered, from a lease, for today, and the server's NEXT calls them."""
    kiosk, board = site.kiosk("kiosk-a", -DAY), site.board("board-a")
    label = kiosk.issue()
    assert kiosk.core.today() == "2026-11-23"
    assert [lease.day for lease in kiosk.journal.pool.leases] == ["2026-11-22", "2026-11-23"]
    assert label == "A001", "numbered from today's lease, not from the offline range"
    site.truth.t += 300
    assert site.press_next(board, "1") == label


def test_a_board_a_day_behind_calls_the_tickets_it_knows_while_offline(site: Site) -> None:
    """GIVEN a board a day behind that synced once, then decides alone (no server for presses)
    THEN it calls today's tickets."""
    kiosk = site.kiosk("kiosk-a")
    label = kiosk.issue()
    board = site.board("board-a", -DAY, online=False)
    known = board.journal.state(site.config.to_domain()).waiting()
    assert [t.label for t in known] == [label], "the board knows the ticket"
    assert board.core.press(Press("1", Action.NEXT)).ticket == label
