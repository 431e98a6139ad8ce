"""A press the server answers after the board's timeout.

Found by the long chaos run: the board asks the server to decide a NEXT, the server is slow
(a busy database, here a write lock held by the test), the board stops waiting after its action
timeout and decides alone; the server then decided too. One press, two calls at one counter:
the agent was given the board's ticket, and the board announced the server's ticket at the same
counter when it learnt of it. When the two views differ (the server knew a priority ticket the
board had not pulled yet), two people were sent to one counter. Now the press goes with an id
and a time budget, and the server drops a request whose budget ran out while it waited.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from config.server import ServerSettings
from display.core import BoardCore
from display.protocol import Action, Press
from guichet.sim.checks import server_events
from server.run import ServerThread
from tests.conftest import wait_until
from tests.server.helpers import SITE, DeviceClock, site_config
from tickets.events import EventKind
from tickets.journal import Journal
from tickets.sync import SyncClient, SyncWorker


@pytest.fixture
def slow(tmp_path: Path) -> Iterator[tuple[ServerThread, Path, BoardCore, SyncWorker]]:
    cfg = site_config()
    db = tmp_path / "s.db"
    with ServerThread(ServerSettings(database_url=f"sqlite:///{db}")) as server:
        tokens = server.load_site(cfg)
        kiosk = DeviceClock("kiosk-a")
        kiosk_client = SyncClient(server.url, tokens["kiosk-a"], "kiosk-a")
        kiosk_client.sync(0, [kiosk.issued(1)], [], "")
        journal = Journal(tmp_path / "board.sqlite3", SITE, "board-a")
        # The board's action timeout: its press's budget on the server is half of it. The server
        # must receive the request within that budget for the test to be about a late answer,
        # not a late request: generous, so that a loaded machine still delivers it in time
        # (the database lock below outlasts the timeout whatever its length).
        action = SyncClient(server.url, tokens["board-a"], "board-a", timeout=3.0)
        sync = SyncClient(server.url, tokens["board-a"], "board-a")
        board = BoardCore(cfg.to_domain(), journal, client=action, offline_retry=0.0)
        worker = SyncWorker(journal, sync, interval=1, on_events=board.receive)
        assert worker.run_once()
        # A priority ticket the board has not pulled yet.
        issued = kiosk.issued(2)
        priority = replace(issued, data={**issued.data, "priority": "pregnancy"})
        kiosk_client.sync(0, [priority], [], "")
        yield server, db, board, worker
        for c in (kiosk_client, action, sync):
            c.session.close()
        journal.close()


def test_one_press_calls_one_ticket_even_when_the_server_answers_late(
    slow: tuple[ServerThread, Path, BoardCore, SyncWorker], caplog: pytest.LogCaptureFixture
) -> None:
    server, db, board, worker = slow
    caplog.set_level(logging.WARNING, logger="server.actions")
    lock = sqlite3.connect(db, isolation_level=None)
    lock.execute("BEGIN IMMEDIATE")  # the server's database is busy
    try:
        outcome = board.press(Press("1", Action.NEXT))
    finally:
        lock.execute("COMMIT")
        lock.close()
    assert (outcome.decided_by, outcome.ticket) == ("board", "A001")

    def decided_or_dropped() -> bool:  # the server decided too, or dropped the request
        called = any(
            e.kind is EventKind.TICKET_CALLED for e in server_events(server.ctx.engine, SITE)
        )
        return called or any("not acted on" in r.getMessage() for r in caplog.records)

    wait_until(decided_or_dropped, step=0.05)
    assert worker.run_once() or worker.run_once(), worker.last_error
    calls = [
        e.data["ticket"]
        for e in server_events(server.ctx.engine, SITE)
        if e.kind is EventKind.TICKET_CALLED and e.data["counter"] == "1"
    ]
    assert len(calls) == 1, f"one press, {len(calls)} calls at counter 1"
