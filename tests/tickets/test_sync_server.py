"""Journals and sync workers against the real server (uvicorn on loopback, SQLite file):
push, acknowledgements, pulls between devices, leases, offline issuing, catch-up, push stream."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from config.server import ServerSettings
from config.site import SiteConfig
from server.run import ServerThread
from tests.conftest import PATIENCE, wait_until
from tickets.events import Event, EventKind
from tickets.journal import Journal
from tickets.model import Site
from tickets.sync import EventStream, SyncClient, SyncState, SyncWorker

ALL_DAY = {d: ["00:00-24:00"] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
CONFIG = SiteConfig.model_validate(
    {
        "site": {"id": "mairie", "name": "Mairie", "timezone": "Europe/Paris", "lease_block": 4},
        "services": [
            {"id": "a", "prefix": "A", "names": {"fr": "État civil"}, "hours": ALL_DAY},
            {"id": "b", "prefix": "B", "names": {"fr": "Passeports"}, "hours": ALL_DAY},
        ],
        "counters": [
            {"id": "1", "label": "Guichet 1", "services": ["a", "b"]},
            {"id": "2", "label": "Guichet 2", "services": ["b"]},
        ],
        "devices": [
            {"id": "kiosk", "role": "kiosk", "offline_range": [900, 999]},
            {"id": "board", "role": "display"},
        ],
    }
)
SITE: Site = CONFIG.to_domain()


def wait_for(condition: Callable[[], bool], what: str, deadline: float = PATIENCE) -> None:
    if not wait_until(condition, deadline):
        raise AssertionError(f"still waiting for {what}")


@dataclass
class Site_:
    db_url: str
    server: ServerThread
    tokens: dict[str, str]
    tmp: Path

    def restart(self) -> None:
        """The server comes back on the same database (at a new port here; the same URL on a
        real site)."""
        self.server = ServerThread(ServerSettings(database_url=self.db_url)).start()

    def device(
        self, name: str, journal: str | None = None, **kw: Any
    ) -> tuple[Journal, SyncWorker]:
        """A device's journal (a new file unless ``journal`` names one) and its sync worker."""
        j = Journal(self.tmp / f"{journal or name}.sqlite3", "mairie", name)
        j.state(SITE)
        client = SyncClient(self.server.url, self.tokens[name], name, timeout=5.0)
        kw.setdefault("today", today)
        return j, SyncWorker(j, client, interval=60.0, block=SITE.lease_block, **kw)


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site_]:
    url = f"sqlite:///{tmp_path}/guichet.db"
    server = ServerThread(ServerSettings(database_url=url)).start()
    tokens = server.load_site(CONFIG)
    s = Site_(url, server, tokens, tmp_path)
    yield s
    s.server.stop()


def today() -> str:
    return SITE.day(time.time()).isoformat()


def issue(journal: Journal, service: str = "a") -> Event:
    prefix = SITE.service(service).prefix  # type: ignore[union-attr]
    return journal.issue_ticket(service, today(), priority=None, lang="fr", prefix=prefix)[0]


def test_kiosk_and_board_share_the_queue_through_the_server(site: Site_) -> None:
    configs: list[str] = []
    kiosk, kw = site.device(
        "kiosk", services_for_leases=["a", "b"], on_config=lambda c, v: configs.append(v)
    )
    board, bw = site.device("board")
    assert kw.run_once()
    assert kw.state is SyncState.ONLINE and kw.clock_offset is not None
    assert configs and kiosk.load_site() is not None
    assert SiteConfig.model_validate(kiosk.load_site()[0]).to_domain() == SITE  # type: ignore[index]
    assert kiosk.pool.held("a", today()) == 4 and kiosk.pool.held("b", today()) == 4

    tickets = [issue(kiosk) for _ in range(3)]
    assert [t.data["number"] for t in tickets] == [1, 2, 3]
    assert kiosk.backlog() == 3
    assert kw.run_once()
    assert kiosk.backlog() == 0
    assert kiosk.pool.held("a", today()) == 8  # less than half a block left: a second lease

    got: list[Event] = []
    bw.on_events = got.extend
    assert bw.run_once()
    assert {e.id for e in got} == {t.id for t in tickets}
    state = board.state(SITE)
    first = state.next_for("1")
    assert first is not None and first.id == tickets[0].data["ticket"]
    call = board.record(EventKind.TICKET_CALLED, ticket=first.id, counter="1")
    assert bw.run_once() and board.backlog() == 0

    assert kw.run_once()
    assert kiosk.state(SITE).tickets[first.id].counter == "1"
    queue = kw.client.queue("mairie")
    counter = next(c for c in queue["counters"] if c["id"] == "1")
    assert counter["ticket"]["id"] == first.id and counter["ticket"]["label"] == "A001"
    assert [t["label"] for t in queue["waiting"]] == ["A002", "A003"]
    assert call.id in {e.id for e in kiosk.state(SITE).events}
    # The board's own call came back with its sequence number; nothing is stored twice.
    assert board.cursor == kiosk.cursor == 4
    for j in (kiosk, board):
        j.close()


def test_offline_issuing_and_catch_up_lose_nothing_and_store_nothing_twice(site: Site_) -> None:
    """GIVEN a kiosk holding a lease and a board
    WHEN the server stops, the kiosk keeps issuing (lease, then its offline range) and the board
    keeps calling, then the server returns; and one sync's answer is lost on the way
    THEN every event is on the server exactly once, numbers are unique, and both devices end
    with the same queue."""
    kiosk, kw = site.device("kiosk", services_for_leases=["a"])
    board, bw = site.device("board")
    assert kw.run_once()
    online = [issue(kiosk) for _ in range(2)]
    assert kw.run_once() and bw.run_once()

    site.server.stop()
    offline = [issue(kiosk) for _ in range(9)]
    # The rest of the lease, then the offline range.
    assert [e.data["number"] for e in offline] == [3, 4, *range(900, 907)]
    call = board.record(EventKind.TICKET_CALLED, ticket=online[0].data["ticket"], counter="1")
    assert not kw.run_once() and not bw.run_once()
    assert (kw.state, bw.state) == (SyncState.OFFLINE, SyncState.OFFLINE)
    assert kiosk.backlog() == 9 and board.backlog() == 1

    site.restart()
    for w in (kw, bw):
        w.client.base_url = site.server.url
    # A sync whose answer never reaches the kiosk: the server stored the events...
    lost = kw.client.sync(kiosk.cursor, kiosk.outbox()[:4], [], "")
    assert len(lost.acks) == 4
    # ...and the kiosk sends them again: acknowledged again, not stored twice.
    assert kw.run_once() and bw.run_once() and kw.run_once()
    assert kiosk.backlog() == 0 and board.backlog() == 0

    fresh, fw = site.device("board", journal="replacement")  # a new journal pulls everything
    fw.limit = 5  # several pages
    assert fw.run_once()
    everything = fresh.state(SITE).events
    ids = [e.id for e in everything]
    assert len(ids) == len(set(ids))
    made = {e.id for e in [*online, *offline, call]}
    assert set(ids) == made
    seqs = sorted(e.seq for e in everything if e.seq is not None)
    assert seqs == list(range(1, len(made) + 1))
    numbers = [e.data["number"] for e in everything if e.kind is EventKind.TICKET_ISSUED]
    assert len(numbers) == len(set(numbers)) == 11
    views = [j.state(SITE) for j in (kiosk, board, fresh)]
    assert len({tuple(sorted((t.id, t.status) for t in v.tickets.values())) for v in views}) == 1
    for j in (kiosk, board, fresh):
        j.close()


def test_the_push_stream_brings_a_kiosk_ticket_to_the_board_and_resumes(site: Site_) -> None:
    kiosk, kw = site.device("kiosk", services_for_leases=["a"])
    board, bw = site.device("board")
    assert kw.run_once() and bw.run_once()
    pushed: list[Event] = []

    def arrived(events: list[Event]) -> None:
        pushed.extend(board.store_remote(events))

    stream = EventStream(bw.client, "mairie", on_events=arrived, cursor=lambda: board.cursor)
    stream.start()
    try:
        wait_for(lambda: stream.connected, "the stream to open")
        first = issue(kiosk)
        assert kw.run_once()
        wait_for(lambda: [e.id for e in pushed] == [first.id], "the ticket pushed to the board")
    finally:
        stream.stop()
    later = [issue(kiosk) for _ in range(2)]
    assert kw.run_once()
    resumed: list[Event] = []
    stream = EventStream(bw.client, "mairie", on_events=resumed.extend, cursor=lambda: 0)
    stream.last_id = pushed[-1].seq
    stream.start()
    try:
        wait_for(lambda: len(resumed) == 2, "the events missed while disconnected")
    finally:
        stream.stop()
    assert [e.id for e in resumed] == [e.id for e in later]
    assert board.state(SITE).tickets[first.data["ticket"]].number == 1
    for j in (kiosk, board):
        j.close()


def test_threads_sync_in_the_background(site: Site_) -> None:
    kiosk, kw = site.device("kiosk", services_for_leases=["a"])
    board, bw = site.device("board")
    seen: list[Event] = []
    bw.on_events = seen.extend
    bw.interval = 0.05
    kw.start()
    bw.start()
    try:
        wait_for(lambda: kiosk.pool.held("a", today()) > 0, "a lease")
        made = [issue(kiosk) for _ in range(5)]
        kw.wake()
        wait_for(lambda: {e.id for e in made} <= {e.id for e in seen}, "the board to learn")
    finally:
        kw.stop()
        bw.stop()
    assert kiosk.backlog() == 0
    for j in (kiosk, board):
        j.close()


def test_an_event_the_server_refuses_is_quarantined_and_a_bad_token_is_an_auth_error(
    site: Site_,
) -> None:
    board, bw = site.device("board")
    ok = board.record(EventKind.COUNTER_OPENED, counter="1")
    bad = board.record(EventKind.COUNTER_OPENED, counter="99")
    assert bw.run_once()
    assert board.backlog() == 0
    [(event, reason)] = board.quarantined()
    assert event == bad and "99" in reason
    assert board.cursor == 1  # the server stored the good one only
    assert [e.id for e in bw.client.sync(0, [], [], "").events] == [ok.id]
    bw.client.token = "not-a-token"
    assert not bw.run_once()
    assert bw.state is SyncState.AUTH_ERROR
    board.close()


def test_a_counter_action_through_the_client(site: Site_) -> None:
    kiosk, kw = site.device("kiosk", services_for_leases=["a"])
    board, bw = site.device("board")
    assert kw.run_once()
    t = issue(kiosk)
    assert kw.run_once()
    answer = bw.client.counter_action("mairie", "1", "next")
    assert answer["ticket"]["id"] == t.data["ticket"]
    events = [Event.from_dict(raw) for raw in answer["events"]]
    assert {e.kind for e in events} >= {EventKind.TICKET_CALLED}
    assert board.store_remote(events) == events
    assert bw.run_once()
    assert board.state(SITE).counter_ticket("1").id == t.data["ticket"]  # type: ignore[union-attr]
    for j in (kiosk, board):
        j.close()


def test_a_kiosk_a_day_behind_corrects_its_clock_and_leases_for_today(site: Site_) -> None:
    """GIVEN a kiosk whose wall clock is a day behind (no real-time clock, power cut)
    WHEN it syncs once
    THEN it keeps the server's time as its own (offset measured on its own wall clock), asks
    its leases again for the right day, and the ticket it uploads is timed right at the
    server."""
    j = Journal(site.tmp / "kiosk.sqlite3", "mairie", "kiosk", wall=lambda: time.time() - 86400)
    j.state(SITE)
    client = SyncClient(site.server.url, site.tokens["kiosk"], "kiosk", timeout=5.0)
    kw = SyncWorker(
        j, client, interval=60.0, block=SITE.lease_block, services_for_leases=["a"], today=j.today
    )
    try:
        assert kw.run_once()
        assert kw.clock_offset is not None and abs(kw.clock_offset - 86400) < 5
        assert abs(j.clock_offset - 86400) < 5 and abs(j.now() - time.time()) < 5
        assert j.today() == today() and j.pool.held("a", today()) == 4
        event = issue(j)
        assert kw.run_once()
        with site.server.ctx.engine.connect() as conn:
            occurred = conn.execute(
                sa.text("SELECT occurred_at FROM events WHERE id = :id"), {"id": event.id}
            ).scalar_one()
        assert abs(occurred - time.time()) < 5 and event.wall_time < time.time() - 86000
    finally:
        client.session.close()
        j.close()
