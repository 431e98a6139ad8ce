"""Devices told, not polling: a kiosk and a board with their push streams against the real
server (uvicorn on loopback, SQLite file, reached through a TCP link that keeps its address
when the server restarts on another port).

The sync workers' intervals and backoff are an hour here: whatever the devices learn within
the test's waits, they learned through the push stream, not a periodic sync."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import pytest

from config.server import ServerSettings
from config.site import SiteConfig
from server.db import create_db_engine
from server.run import ServerThread
from server.sites import load_site
from tests.kiosk.link import Link
from tests.tickets.test_sync_server import CONFIG, SITE, issue, today, wait_for
from tickets.events import Event
from tickets.journal import Journal
from tickets.sync import EventStream, SyncClient, SyncState, SyncWorker, push_channel

HOUR = 3600.0
SLOW = 60.0
"""Deadline of the waits that span a server restart (a loaded machine starts it slowly);
far below the hour a periodic sync or the sync's backoff would take."""


@dataclass
class Device:
    journal: Journal
    worker: SyncWorker
    stream: EventStream
    pushed: list[Event]
    rounds: list[bool]

    def stop(self) -> None:
        self.stream.stop()
        self.worker.stop()
        self.journal.close()


@dataclass
class Site_:
    db_url: str
    server: ServerThread
    link: Link
    tokens: dict[str, str]
    tmp: Path

    def device(self, name: str, services: list[str] | None = None) -> Device:
        j = Journal(self.tmp / f"{name}.sqlite3", "mairie", name)
        j.state(SITE)
        client = SyncClient(self.link.url, self.tokens[name], name, timeout=5.0)
        worker = SyncWorker(
            j,
            client,
            interval=HOUR,
            poll_interval=HOUR,
            max_backoff=HOUR,
            services_for_leases=services,
            block=SITE.lease_block,
            today=today,
        )
        rounds: list[bool] = []
        once = worker.run_once

        def counted() -> bool:
            ok = once()
            rounds.append(ok)
            return ok

        worker.run_once = counted  # type: ignore[method-assign]
        pushed: list[Event] = []

        def arrived(events: list[Event]) -> None:
            pushed.extend(j.store_remote(events))

        stream = push_channel(worker, "mairie", on_events=arrived, max_reconnect=2.0)
        return Device(j, worker, stream, pushed, rounds)

    def stop_server(self) -> None:
        self.link.cut()
        self.server.stop()

    def restart_server(self) -> None:
        self.server = ServerThread(ServerSettings(database_url=self.db_url)).start()
        self.link.restore(int(self.server.url.rsplit(":", 1)[1]))


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site_]:
    url = f"sqlite:///{tmp_path}/guichet.db"
    server = ServerThread(ServerSettings(database_url=url)).start()
    tokens = server.load_site(CONFIG)
    link = Link()
    link.restore(int(server.url.rsplit(":", 1)[1]))
    s = Site_(url, server, link, tokens, tmp_path)
    yield s
    s.server.stop()
    link.close()


def pushed_to(device: Device, event_id: str) -> bool:
    return event_id in {e.id for e in device.pushed}


def stored_ids(server: ServerThread) -> set[str]:
    import sqlalchemy as sa

    from server import schema

    with server.ctx.engine.connect() as conn:
        return {r.id for r in conn.execute(sa.select(schema.events.c.id))}


def test_devices_are_told_and_notice_the_server_back_through_the_push_stream(
    site: Site_,
) -> None:
    """GIVEN a kiosk and a board whose periodic sync and backoff are an hour, each with its push
    stream WHEN the kiosk issues a ticket THEN the board has it without syncing; WHEN the server
    stops, the kiosk issues offline and its sync fails (backoff: up to an hour), and the server
    comes back THEN the kiosk uploads within the wait and the board is told, with nothing
    stored twice."""
    kiosk = site.device("kiosk", services=["a"])
    board = site.device("board")
    devices = (kiosk, board)
    try:
        for d in devices:
            d.worker.start()
            d.stream.start()
        wait_for(lambda: all(d.stream.connected for d in devices), "both streams open", SLOW)
        wait_for(lambda: kiosk.journal.pool.held("a", today()) > 0, "the kiosk's lease", SLOW)
        # Each worker's first round, then the one its stream's opening asks for.
        wait_for(lambda: all(len(d.rounds) >= 2 for d in devices), "the first syncs", SLOW)
        board_rounds = len(board.rounds)

        first = issue(kiosk.journal)
        kiosk.worker.wake()  # what the kiosk does after each ticket
        wait_for(lambda: first.id in {e.id for e in board.pushed}, "the board told", SLOW)
        assert len(board.rounds) == board_rounds, "the board learned it without a sync"

        site.stop_server()
        wait_for(lambda: not any(d.stream.connected for d in devices), "streams dropped", SLOW)
        second = issue(kiosk.journal)
        kiosk.worker.wake()
        wait_for(lambda: kiosk.worker.state is SyncState.OFFLINE, "the kiosk offline", SLOW)
        assert kiosk.journal.backlog() == 1
        assert kiosk.worker.failures >= 1  # its next attempt is half an hour away or more

        site.restart_server()
        wait_for(lambda: kiosk.journal.backlog() == 0, "the kiosk's upload after restart", SLOW)
        wait_for(lambda: second.id in {e.id for e in board.pushed}, "the board told again", SLOW)
        wait_for(lambda: kiosk.worker.state is SyncState.ONLINE, "the kiosk online", SLOW)
        assert {first.id, second.id} <= stored_ids(site.server)
        ids = [e.id for e in board.pushed]
        assert len(ids) == len(set(ids)), "no event delivered twice to the board's journal"
    finally:
        for d in devices:
            d.stop()


def test_the_worker_polls_while_the_stream_is_down_and_slows_once_it_is_open(
    site: Site_,
) -> None:
    """GIVEN a board whose worker polls every 50 ms while no stream is open and syncs hourly
    while one is WHEN no stream is open THEN it polls; WHEN its stream opens THEN it learns
    five tickets from the push without polling."""
    board = site.device("board")
    board.worker.poll_interval = 0.05
    try:
        board.worker.start()
        wait_for(lambda: len(board.rounds) >= 3, "polls while no stream is open", SLOW)
        board.stream.start()
        wait_for(lambda: board.worker.push_open, "the stream open", SLOW)
        settled = len(board.rounds)
        kiosk = site.device("kiosk", services=["a"])
        try:
            assert kiosk.worker.run_once()
            for _ in range(5):
                made = issue(kiosk.journal).id
                assert kiosk.worker.run_once()
                wait_for(partial(pushed_to, board, made), "the push", SLOW)
        finally:
            kiosk.stop()
        # At most the round the stream's opening asks for, and one whose 50 ms wait began
        # before the stream opened; polling would have made one every 50 ms.
        assert len(board.rounds) <= settled + 2
    finally:
        board.stop()


def test_a_configuration_change_reaches_the_devices_through_the_push_stream(
    postgres_url: str, tmp_path: Path
) -> None:
    """GIVEN a board with its push stream and hourly syncs, on PostgreSQL WHEN the site's
    configuration is changed in the database by another process (as ``guichet site load``
    does) THEN the stream tells the board, which syncs and holds the new configuration."""
    with ServerThread(ServerSettings(database_url=postgres_url)) as server:
        tokens = server.load_site(CONFIG)
        link = Link()
        link.restore(int(server.url.rsplit(":", 1)[1]))
        site = Site_(postgres_url, server, link, tokens, tmp_path)
        board = site.device("board")
        try:
            board.worker.start()
            board.stream.start()
            wait_for(lambda: len(board.rounds) >= 2, "the first syncs", SLOW)
            first = board.journal.config_version()
            data = CONFIG.model_dump(mode="json")
            data["site"]["name"] = "Mairie annexe"
            renamed = SiteConfig.model_validate(data)
            engine = create_db_engine(postgres_url)  # another process's connection
            try:
                load_site(engine, renamed)
            finally:
                engine.dispose()
            wait_for(lambda: board.journal.config_version() != first, "the new config", SLOW)
            stored = board.journal.load_site()
            assert stored is not None and stored[0]["site"]["name"] == "Mairie annexe"
        finally:
            board.stop()
            link.close()
