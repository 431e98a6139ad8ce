"""Retention: the journal keeps a configurable number of whole days before today; older events,
leases, offline counters and print states go, never an event the server has not acknowledged,
and no number is ever issued twice across pruning and restarts."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tickets.events import EventKind
from tickets.journal import DEFAULT_RETENTION_DAYS, Journal, PrintState
from tickets.numbering import Lease, NumbersExhausted
from tickets.peer import PeerSync
from tickets.sync import SyncClient, SyncWorker

from .factory import Events, make_site
from .loopback import Handler, Script, Seen, answer, scripted, sync_answer
from .test_worker import wait_for

SITE = make_site()
PARIS = ZoneInfo("Europe/Paris")
TODAY = date(2026, 11, 23)


class Wall:
    """A wall clock the test sets to a site-local instant; it moves 1 ms per reading."""

    def __init__(self, day: date = TODAY, at: time = time(10)) -> None:
        self.set(day, at)

    def set(self, day: date, at: time = time(10)) -> None:
        self.t = datetime.combine(day, at, PARIS).timestamp()

    def __call__(self) -> float:
        self.t += 0.001
        return self.t


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "retention.sqlite3"


def open_journal(path: Path, wall: Wall, days: int = DEFAULT_RETENTION_DAYS) -> Journal:
    j = Journal(path, "mairie", "kiosk", wall, retention_days=days)
    j.state(SITE)  # the site (its time zone) the journal prunes by
    return j


def issue_on(j: Journal, wall: Wall, day: date) -> str:
    """A ticket of service a issued at 10:00 on ``day``; returns its ticket id."""
    wall.set(day)
    j.grant_leases([Lease("a", day.isoformat(), 1, 50)])
    event, _ = j.issue_ticket("a", day.isoformat(), priority=None, lang="fr", prefix="A")
    j.set_print_state(event.data["ticket"], "printed")
    return str(event.data["ticket"])


def kept_days(j: Journal) -> list[str]:
    events, _ = j.events_after(0, 100_000)
    return sorted({j_day(e.hlc.seconds) for e in events})


def j_day(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, PARIS).date().isoformat()


def test_days_before_the_kept_weeks_go_but_an_unacknowledged_event_stays(path: Path) -> None:
    """GIVEN tickets issued 50, 36, 35, 1 and 0 days ago, all acknowledged but the oldest, and
    an event quarantined 45 days ago WHEN the journal prunes (35 days kept) THEN the 36-day-old
    ticket, its lease and print state and the quarantined event are gone; the days from 35 days
    ago on are whole; the unacknowledged ticket of 50 days ago stays, in the outbox, until the
    server has it."""
    wall = Wall()
    j = open_journal(path, wall)
    tickets = {}
    for back in (50, 45, 36, 35, 1, 0):
        if back == 45:
            wall.set(TODAY - timedelta(days=45))
            refused = j.record(EventKind.COUNTER_OPENED, counter="1")
            j.quarantine(refused.id, "refused for good")
        else:
            tickets[back] = issue_on(j, wall, TODAY - timedelta(days=back))
    old = j.outbox()[0]
    j.acknowledge([e.id for e in j.outbox() if e.id != old.id])
    wall.set(TODAY)

    pruned = j.prune()

    assert pruned is not None
    assert pruned.first_day == (TODAY - timedelta(days=35)).isoformat() == "2026-10-19"
    assert (pruned.events, pruned.leases, pruned.prints, pruned.unsent_kept) == (2, 2, 1, 1)
    assert kept_days(j) == ["2026-10-04", "2026-10-19", "2026-11-22", "2026-11-23"]
    assert j.outbox() == [old] and j.quarantined() == []
    assert j.print_state(tickets[36]) is None
    assert all(j.print_state(tickets[b]) is PrintState.PRINTED for b in (50, 35, 1, 0))
    assert sorted({lease.day for lease in j.pool.leases}) == [
        "2026-10-19",
        "2026-11-22",
        TODAY.isoformat(),
    ]
    # A day already forgotten is not taken in again when the server or a peer sends it.
    late = Events(base=(wall.t - 40 * 86400)).issue("late", 0.0, day="2026-10-14")
    assert j.store_remote([late]) == []
    j.close()

    j = open_journal(path, wall)  # a restart keeps all of it
    assert sorted({lease.day for lease in j.pool.leases})[0] == "2026-10-19"
    assert j.store_remote([late]) == []
    j.acknowledge([old.id])  # the server has it at last: it goes at the next prune
    after = j.prune()
    assert after is not None and after.events == 1
    assert kept_days(j) == ["2026-10-19", "2026-11-22", "2026-11-23"]
    j.close()


@pytest.mark.parametrize("days", [1, 7])
def test_the_days_kept_are_configurable(path: Path, days: int) -> None:
    wall = Wall()
    j = open_journal(path, wall, days)
    for back in range(10, -1, -1):
        issue_on(j, wall, TODAY - timedelta(days=back))
    j.acknowledge(e.id for e in j.outbox())
    j.prune()
    expected = [(TODAY - timedelta(days=b)).isoformat() for b in range(days, -1, -1)]
    assert kept_days(j) == expected
    assert sorted({lease.day for lease in j.pool.leases}) == expected
    j.close()


def test_no_number_is_issued_twice_across_daily_pruning_restarts_and_daylight_saving(
    path: Path,
) -> None:
    """GIVEN a kiosk keeping one day, issuing tickets just after midnight and just before
    midnight every day from 20 October to 3 November (the end of summer time in Paris on the
    25th), from small leases then its offline range, pruning each day and restarting every
    other day WHEN the numbers of each day are compared THEN none repeats, and yesterday's
    counters survive the prune and the restart (a late ticket for yesterday continues)."""
    wall = Wall(date(2026, 10, 20), time(0, 10))
    j = Journal(path, "mairie", "kiosk", wall, retention_days=1)
    j.set_offline_range((900, 999))
    issued: dict[str, list[int]] = {}

    def issue(day: date) -> None:
        try:
            event, _ = j.issue_ticket("a", day.isoformat(), priority=None, lang="fr", prefix="A")
        except NumbersExhausted:  # pragma: no cover - the range is large enough
            raise
        issued.setdefault(day.isoformat(), []).append(int(event.data["number"]))

    for n in range(15):
        day = date(2026, 10, 20) + timedelta(days=n)
        for at in (time(0, 10), time(23, 50)):
            wall.set(day, at)
            j.state(SITE)
            j.grant_leases([Lease("a", day.isoformat(), 2 * n + 1, 2 * n + 2)])
            for _ in range(3):
                issue(day)
            j.acknowledge(e.id for e in j.outbox())
            j.prune_due()
            issue(day - timedelta(days=1))  # a ticket numbered for yesterday, still kept
        if n % 2:
            j.close()
            j = Journal(path, "mairie", "kiosk", wall, retention_days=1)
    j.close()
    for day, numbers in issued.items():
        assert len(numbers) == len(set(numbers)), (day, sorted(numbers))


def test_pruning_follows_the_server_time_not_a_clock_running_ahead(path: Path) -> None:
    """GIVEN a device whose clock runs 400 days ahead WHEN the sync worker prunes on the
    server's time THEN today's and the kept days' events stay."""
    wall = Wall()
    j = open_journal(path, wall)
    for back in (40, 1, 0):
        issue_on(j, wall, TODAY - timedelta(days=back))
    j.acknowledge(e.id for e in j.outbox())
    server_now = wall.t
    wall.set(TODAY + timedelta(days=400))
    pruned = j.prune_due(server_now)
    assert pruned is not None and pruned.first_day == "2026-10-19"
    assert kept_days(j) == ["2026-11-22", "2026-11-23"]
    assert j.prune_due(server_now) is None  # once a day
    j.close()


def test_the_sync_worker_prunes_after_a_successful_round(path: Path) -> None:
    wall = Wall()
    j = open_journal(path, wall)
    issue_on(j, wall, TODAY - timedelta(days=40))
    issue_on(j, wall, TODAY)

    def ack(h: Handler, seen: Seen) -> None:
        acks = [e["id"] for e in seen.body["events"]]
        answer(200, sync_answer(acks=acks, server_time=wall.t))(h, seen)

    with scripted(Script([ack, ack])) as url:
        w = SyncWorker(j, SyncClient(url, "t", "kiosk", timeout=1.0), interval=60.0)
        assert w.run_once()
    assert kept_days(j) == [TODAY.isoformat()]
    j.close()


def test_peer_exchange_starts_from_the_journal_end_and_forgets_old_peers(path: Path) -> None:
    wall = Wall()
    j = open_journal(path, wall)
    for back in (3, 2, 1):
        issue_on(j, wall, TODAY - timedelta(days=back))
    j.set_meta("peer.position.http://10.0.0.9:8765", "abc 12")
    j.set_meta("peer.position.http://10.0.0.12:8765", "def 3")
    peers = PeerSync(j, token="t", peers=["http://10.0.0.12:8765"])
    assert [link.pushed for link in peers.links] == [j.last_position()]
    assert j.last_position() == j.events_after(0, 100)[1] > 0
    assert j.meta_keys("peer.position.") == ["peer.position.http://10.0.0.12:8765"]
    j.close()


def test_a_standalone_journal_prunes_on_its_own_clock_at_start_and_each_new_day(
    path: Path,
) -> None:
    """GIVEN a device without a server (no sync worker), keeping one day WHEN its fold is
    taken at start, then on a day two days later THEN each time the days before yesterday go,
    on a thread of their own."""
    wall = Wall()
    j = Journal(path, "mairie", "kiosk", wall, retention_days=1)
    for back in (3, 2, 1, 0):
        issue_on(j, wall, TODAY - timedelta(days=back))
    j.acknowledge(e.id for e in j.outbox())
    j.close()
    j = Journal(path, "mairie", "kiosk", wall, retention_days=1, standalone=True)
    j.state(SITE)
    wait_for(lambda: kept_days(j) == ["2026-11-22", "2026-11-23"], "the pruning at start")
    issue_on(j, wall, TODAY + timedelta(days=2))
    j.acknowledge(e.id for e in j.outbox())
    j.state(SITE)
    wait_for(lambda: kept_days(j) == ["2026-11-25"], "the pruning of the new day")
    j.close()
