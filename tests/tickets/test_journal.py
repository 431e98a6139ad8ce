"""The local journal on a real SQLite file: durability, outbox, numbers, remote events, state."""

from __future__ import annotations

import re
import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import pytest

from tickets.events import Event, EventError, EventKind
from tickets.journal import Journal, JournalError, PrintState
from tickets.model import Device, Role, Service
from tickets.numbering import Lease, NumbersExhausted
from tickets.queue import TicketStatus

from .factory import DAY, Events, make_site

SITE = make_site()


ONE_DAY = 86400.0
T0 = 1_763_890_000.0
"""Events of the tests happen from here on, shortly before the journal's wall clock."""


class Wall:
    def __init__(self, t: float = 1_763_900_000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        self.t += 0.001
        return self.t


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "journal.sqlite3"


@pytest.fixture
def journal(path: Path) -> Iterator[Journal]:
    j = Journal(path, "mairie", "kiosk", Wall())
    yield j
    j.close()


def _raw(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(path)


def test_a_new_journal_is_one_wal_file_written_with_full_sync(journal: Journal, path: Path) -> None:
    assert path.exists()
    assert _raw(path).execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert journal._db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def test_a_recorded_event_is_in_the_outbox_the_state_and_on_disk(path: Path) -> None:
    j = Journal(path, "mairie", "board", Wall())
    state = j.state(SITE)
    e = j.record(EventKind.COUNTER_OPENED, counter="1")
    assert (e.site, e.device, e.kind, e.data) == (
        "mairie",
        "board",
        EventKind.COUNTER_OPENED,
        {"counter": "1"},
    )
    assert "1" not in state.open_counters  # a copy: the caller's own
    assert "1" in j.state(SITE).open_counters
    assert j.outbox() == [e]
    assert j.backlog() == 1
    j.close()
    # Another process (a new connection) sees it.
    assert _raw(path).execute("SELECT count(*) FROM outbox").fetchone()[0] == 1
    j = Journal(path, "mairie", "board", Wall())
    assert j.outbox() == [e]
    assert "1" in j.state(SITE).open_counters
    j.close()


def test_a_bad_payload_is_refused_and_nothing_written(journal: Journal) -> None:
    with pytest.raises(EventError, match="'counter'"):
        journal.record(EventKind.TICKET_CALLED, ticket="t1")
    assert journal.backlog() == 0
    assert journal.state(SITE).events == []


def test_acknowledged_events_leave_the_outbox_but_stay_in_the_journal(journal: Journal) -> None:
    events = [journal.record(EventKind.COUNTER_OPENED, counter=c) for c in "123"]
    assert journal.outbox(limit=2) == events[:2]
    journal.acknowledge([events[0].id, events[2].id, "not-an-id"])
    assert journal.outbox() == [events[1]]
    assert journal.backlog() == 1
    assert journal.state(SITE).open_counters == {"1", "2", "3"}


def test_the_clock_never_goes_back_across_a_restart(path: Path) -> None:
    j = Journal(path, "mairie", "board", Wall(1_763_900_000.0))
    last = j.record(EventKind.COUNTER_OPENED, counter="1")
    j.close()
    # After a power cut the wall clock restarts in 1970.
    j = Journal(path, "mairie", "board", Wall(0.0))
    nxt = j.record(EventKind.COUNTER_CLOSED, counter="1")
    assert nxt.hlc > last.hlc
    assert j.state(SITE).open_counters == set()
    assert j.clock.latest_seconds() >= last.hlc.seconds
    j.close()


def test_the_clock_offset_corrects_the_clock_and_the_day_and_survives_a_restart(
    path: Path,
) -> None:
    """GIVEN a board whose wall clock is a day behind
    WHEN the sync measures the server's time a day ahead of it
    THEN the hybrid clock and the service day read the corrected time, the events keep the
    machine's own reading as their wall time, and a restart keeps the correction."""
    wall = Wall(1_763_900_000.0 - ONE_DAY)
    j = Journal(path, "mairie", "board", wall)
    j.state(SITE)
    yesterday = j.today()
    assert j.clock_offset == 0.0
    assert not j.adjust_clock(0.8), "a right clock keeps no offset"
    assert j.adjust_clock(ONE_DAY, uncertainty=0.05)
    assert j.today() > yesterday
    e = j.record(EventKind.COUNTER_OPENED, counter="1")
    assert abs(e.hlc.seconds - (e.wall_time + ONE_DAY)) < 1
    assert abs(j.now() - (j.wall() + ONE_DAY)) < 1
    assert not j.adjust_clock(ONE_DAY + 0.9), "within the tolerance: not rewritten"
    assert not j.adjust_clock(ONE_DAY - 20, uncertainty=30), "within the measure's uncertainty"
    j.close()
    j = Journal(path, "mairie", "board", wall)
    assert j.clock_offset == ONE_DAY
    again = j.record(EventKind.COUNTER_CLOSED, counter="1")
    assert again.hlc > e.hlc and abs(again.hlc.seconds - (again.wall_time + ONE_DAY)) < 1
    # The machine's clock is set right meanwhile (NTP): back to no offset; the clock goes on.
    wall.t += ONE_DAY
    assert j.adjust_clock(0.2)
    assert j.clock_offset == 0.0
    assert j.record(EventKind.COUNTER_OPENED, counter="2").hlc > again.hlc
    j.close()


def test_issue_ticket_takes_lease_then_offline_numbers_and_persists_the_pool(path: Path) -> None:
    j = Journal(path, "mairie", "kiosk", Wall())
    j.state(SITE)  # tells the journal its offline range (900-999)
    asked = j.lease_requests(["a", "b"], DAY, 4)
    assert [(r["service"], r["day"]) for r in asked] == [("a", DAY), ("b", DAY)]
    assert j.lease_requests(["a", "b"], DAY, 4) == asked, "the same ids until granted"
    j.grant_leases([Lease("a", DAY, 1, 4)])
    j.grant_leases([Lease("a", DAY, 1, 4)])  # sent again after a lost answer: counts once
    assert j.lease_requests(["a", "b"], DAY, 4) == [asked[1]]
    got = [j.issue_ticket("a", DAY, priority=None, lang="fr", prefix="A") for _ in range(3)]
    assert [(e.data["number"], src) for e, src in got] == [(1, "lease"), (2, "lease"), (3, "lease")]
    (again,) = j.lease_requests(["a"], DAY, 4)
    assert (again["service"], again["day"]) == ("a", DAY)
    assert again["request"] != asked[0]["request"], "a new request once the first was granted"
    e, _ = got[0]
    assert e.kind is EventKind.TICKET_ISSUED
    assert e.data["label"] == "A001" and e.data["lang"] == "fr" and e.data["priority"] is None
    assert re.fullmatch(r"[A-Za-z0-9_-]{16,128}", e.data["token"])
    assert len({g[0].data["token"] for g in got}) == 3
    assert j.pending_prints() == [g[0].data["ticket"] for g in got]
    assert j.print_state(e.data["ticket"]) is PrintState.PENDING
    j.close()

    j = Journal(path, "mairie", "kiosk", Wall())  # restart: the pool continues where it was
    assert j.issue_ticket("a", DAY, priority="age", lang="en", prefix="A")[0].data["number"] == 4
    e, source = j.issue_ticket("a", DAY, priority=None, lang="fr", prefix="A")
    assert (e.data["number"], source, e.data["label"]) == (900, "offline", "A900")
    j.close()
    j = Journal(path, "mairie", "kiosk", Wall())
    assert j.issue_ticket("a", DAY, priority=None, lang="fr", prefix="A")[0].data["number"] == 901
    state = j.state(SITE)
    assert sorted(t.number for t in state.tickets.values()) == [1, 2, 3, 4, 900, 901]
    assert j.backlog() == 6
    j.close()


def test_no_number_left_raises_and_writes_nothing(journal: Journal) -> None:
    with pytest.raises(NumbersExhausted):
        journal.issue_ticket("a", DAY, priority=None, lang="fr", prefix="A")
    assert journal.backlog() == 0
    assert journal.pending_prints() == []


def test_a_failed_write_gives_the_number_back(journal: Journal, path: Path) -> None:
    """GIVEN the journal's disk refusing the write (a trigger aborts it)
    WHEN a ticket is issued
    THEN the error reaches the caller, nothing is recorded, and the number is issued next time."""
    journal.grant_leases([Lease("a", DAY, 1, 10)])
    db = _raw(path)
    db.execute(
        "CREATE TRIGGER refuse BEFORE INSERT ON outbox BEGIN SELECT RAISE(ABORT, 'disk'); END"
    )
    db.commit()
    with pytest.raises(sqlite3.IntegrityError, match="disk"):
        journal.issue_ticket("a", DAY, priority=None, lang="fr", prefix="A")
    assert journal.backlog() == 0 and journal.pending_prints() == []
    assert journal.state(SITE).tickets == {}
    db.execute("DROP TRIGGER refuse")
    db.commit()
    assert (
        journal.issue_ticket("a", DAY, priority=None, lang="fr", prefix="A")[0].data["number"] == 1
    )


def test_remote_events_are_stored_once_and_move_the_clock(journal: Journal) -> None:
    f = Events(base=T0)
    far = 100_000.0  # the server's clock is a day ahead of ours
    issued = f.issue("t1", far, node="kiosk2").stored(1, far)
    called = f.call("t1", "2", far + 1).stored(2, far + 1)
    other_site = Events(site="elsewhere", base=T0).open("1", far)
    assert journal.store_remote([issued, called, other_site]) == [issued, called]
    assert journal.store_remote([issued, called]) == []
    assert journal.backlog() == 0  # remote events are not ours to upload
    state = journal.state(SITE)
    assert state.tickets["t1"].status is TicketStatus.CALLED
    assert state.open_counters == set()
    mine = journal.record(EventKind.COUNTER_OPENED, counter="2")
    assert mine.hlc > called.hlc
    assert journal.outbox() == [mine]


def test_own_events_coming_back_from_the_server_get_their_sequence_number(
    journal: Journal,
) -> None:
    mine = journal.record(EventKind.COUNTER_OPENED, counter="2")
    journal.acknowledge([mine.id])
    assert journal.store_remote([mine.stored(7, 123.0)]) == []
    row = journal._db.execute("SELECT seq, received_at FROM events").fetchone()
    assert row == (7, 123.0)


def test_a_remote_ticket_from_our_offline_range_is_never_numbered_again(journal: Journal) -> None:
    """GIVEN a journal restored from an old copy, so it forgot offline tickets it issued
    WHEN the server sends them back
    THEN the offline counter moves past them."""
    journal.state(SITE)
    f = Events(base=T0)
    lost = f.issue("t-lost", 10, number=903, node="kiosk").stored(1, 10)
    journal.store_remote([lost])
    e, source = journal.issue_ticket("a", DAY, priority=None, lang="fr", prefix="A")
    assert (e.data["number"], source) == (904, "offline")
    assert (
        journal.issue_ticket("b", DAY, priority=None, lang="fr", prefix="B")[0].data["number"]
        == 900
    )


def test_cursor_site_meta_and_print_states_persist(path: Path) -> None:
    j = Journal(path, "mairie", "kiosk", Wall())
    assert j.cursor == 0 and j.load_site() is None and j.config_version() == ""
    assert j.meta("screen") is None
    j.set_cursor(42)
    j.save_site({"site": {"id": "mairie"}}, "v1")
    j.set_meta("screen", "idle")
    j.set_meta("journal.cursor", "clash?")  # application keys never touch the journal's own
    j.set_print_state("t1", "pending")
    j.set_print_state("t2", "pending")
    j.set_print_state("t1", "printed")
    j.set_print_state("t3", "failed")
    with pytest.raises(ValueError, match="'torn'"):
        j.set_print_state("t2", "torn")
    j.close()
    j = Journal(path, "mairie", "kiosk", Wall())
    assert j.cursor == 42
    assert j.load_site() == ({"site": {"id": "mairie"}}, "v1")
    assert j.config_version() == "v1"
    assert (j.meta("screen"), j.meta("journal.cursor")) == ("idle", "clash?")
    assert j.pending_prints() == ["t2"]
    assert [j.print_state(t) for t in ("t1", "t2", "t3", "t4")] == [
        PrintState.PRINTED,
        PrintState.PENDING,
        PrintState.FAILED,
        None,
    ]
    j.close()


def test_state_is_refolded_under_a_new_site_configuration(journal: Journal) -> None:
    f = Events(base=T0)
    journal.store_remote([f.issue("x", 1), f.transfer("x", "c", 2)])
    assert journal.state(SITE).tickets["x"].service == "a"  # no service c: transfer ignored
    bigger = replace(
        SITE,
        services=(*SITE.services, Service("c", "C", {"fr": "Urbanisme"})),
        devices=(Device("kiosk", Role.KIOSK, (500, 599)),),
    )
    assert journal.state(bigger).tickets["x"].service == "c"
    assert journal.pool.offline_range == (500, 599)


def test_quarantined_events_leave_the_outbox_and_keep_their_reason(journal: Journal) -> None:
    a = journal.record(EventKind.COUNTER_OPENED, counter="1")
    b = journal.record(EventKind.COUNTER_OPENED, counter="9")
    journal.quarantine(b.id, "unknown counter '9'")
    assert journal.outbox() == [a]
    assert journal.quarantined() == [(b, "unknown counter '9'")]
    assert b.id in {e.id for e in journal.state(SITE).events}


def test_a_journal_belongs_to_one_site_and_device(path: Path) -> None:
    Journal(path, "mairie", "kiosk").close()
    with pytest.raises(JournalError, match="belongs to device 'kiosk', not 'kiosk2'"):
        Journal(path, "mairie", "kiosk2")
    with pytest.raises(JournalError, match="belongs to site 'mairie', not 'prefecture'"):
        Journal(path, "prefecture", "kiosk")


def test_a_file_that_is_not_a_journal_is_refused_with_its_name(tmp_path: Path) -> None:
    bad = tmp_path / "notes.txt"
    bad.write_bytes(b"this is not a database, just some text " * 200)
    with pytest.raises(JournalError, match=re.escape(str(bad))):
        Journal(bad, "mairie", "kiosk")
    newer = tmp_path / "newer.sqlite3"
    db = sqlite3.connect(newer)
    db.execute("PRAGMA user_version=99")
    db.close()
    with pytest.raises(JournalError, match="schema version 99 is newer"):
        Journal(newer, "mairie", "kiosk")


def test_threads_can_share_one_journal(journal: Journal) -> None:
    """GIVEN a UI thread recording, a sync thread storing remote events and acknowledging
    THEN every event is there once and the outbox holds exactly the unacknowledged ones."""
    journal.grant_leases([Lease("a", DAY, 1, 1000)])
    f = Events(base=T0)
    remote = [f.issue(f"r{i}", 10 + i, number=2000 + i, node="kiosk2") for i in range(200)]
    made: list[Event] = []
    errors: list[BaseException] = []
    acked: set[str] = set()

    def ui() -> None:
        try:
            for i in range(150):
                made.append(journal.issue_ticket("a", DAY, priority=None, lang="fr", prefix="A")[0])
                made.append(journal.record(EventKind.COUNTER_OPENED, counter=str(i % 3 + 1)))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    def sync() -> None:
        try:
            for i in range(0, 200, 10):
                journal.store_remote(remote[i : i + 10])
                batch = journal.outbox(limit=7)
                journal.acknowledge(e.id for e in batch)
                acked.update(e.id for e in batch)
                journal.state(SITE)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=ui), threading.Thread(target=sync)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    state = journal.state(SITE)
    assert len(state.events) == len(made) + len(remote)
    numbers = [e.data["number"] for e in made if e.kind is EventKind.TICKET_ISSUED]
    assert sorted(numbers) == list(range(1, 151))
    assert {e.id for e in journal.outbox(limit=1000)} == {e.id for e in made} - acked


def test_the_fold_covers_yesterday_and_today_and_moves_at_midnight(path: Path) -> None:
    """GIVEN events from the day before yesterday, yesterday and today (site time)
    WHEN the state is read, then read again after midnight
    THEN it folds from the start of yesterday on, like the server, re-folding at midnight;
    everything stays in the journal."""
    paris = SITE.tz

    def at(day: int, hour: int) -> float:
        return datetime(2026, 11, day, hour, 0, tzinfo=paris).timestamp()

    wall = Wall(at(24, 10))
    j = Journal(path, "mairie", "board", wall)
    f = Events()
    old = f.issue("old", at(22, 23), number=1, day="2026-11-22")
    yesterday = f.issue("yesterday", at(23, 0) + 1, number=1, day="2026-11-23")
    today = f.issue("today", at(24, 9), number=1, day="2026-11-24")
    j.store_remote([old, yesterday, today])
    assert set(j.state(SITE).tickets) == {"yesterday", "today"}
    late = f.issue("late-old", at(21, 12), number=2, day="2026-11-21")
    assert j.store_remote([late]) == [late]  # stored, not folded
    assert set(j.state(SITE).tickets) == {"yesterday", "today"}
    wall.t = at(25, 0) + 5
    assert set(j.state(SITE).tickets) == {"today"}
    assert len(j._db.execute("SELECT id FROM events").fetchall()) == 4
    j.close()


def test_events_after_gives_everything_in_the_order_it_was_learnt(path: Path) -> None:
    j = Journal(path, "mairie", "board", Wall())
    f = Events(base=T0)
    mine = j.record(EventKind.COUNTER_OPENED, counter="1")
    remote = [f.issue("x", 1), f.issue("y", -50, number=2)]  # the second one is older
    j.store_remote(remote)
    j.store_remote(remote)  # already there: no new position
    events, position = j.events_after(0)
    assert events == [mine, *remote]
    assert j.events_after(position) == ([], position)
    first, pos1 = j.events_after(0, limit=1)
    assert first == [mine]
    j.close()
    j = Journal(path, "mairie", "board", Wall())
    assert j.events_after(pos1)[0] == remote
    later = j.record(EventKind.COUNTER_CLOSED, counter="1")
    events, after = j.events_after(position)
    assert events == [later] and after > position  # increasing, not necessarily by one
    j.close()


def test_a_commit_that_fails_leaves_the_journal_usable(journal: Journal, path: Path) -> None:
    """GIVEN a write refused only at COMMIT (a deferred constraint, as a full disk would)
    THEN the caller gets the error, nothing is kept, and the next write works."""
    db = _raw(path)
    db.executescript(
        """
        CREATE TABLE parent (id INTEGER PRIMARY KEY);
        CREATE TABLE child (p INTEGER REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED);
        CREATE TRIGGER at_commit AFTER INSERT ON outbox BEGIN INSERT INTO child VALUES (42); END;
        """
    )
    with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY"):
        journal.record(EventKind.COUNTER_OPENED, counter="1")
    assert journal.backlog() == 0
    db.execute("DROP TRIGGER at_commit")
    db.commit()
    journal.record(EventKind.COUNTER_OPENED, counter="2")
    assert [e.data["counter"] for e in journal.outbox()] == ["2"]
