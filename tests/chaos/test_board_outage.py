"""What a board decided alone during an outage, and what the server decides once it is back.

Found by the chaos run (bench/chaos_run.py): a board that decided calls alone during an outage
went back to asking the server as soon as the server answered a press, while its own offline
decisions could still wait in its outbox (its sync backing off: up to a minute after a long
outage). The server then decided without them and called again a ticket the board had already
called and served; the fold kept the earlier call and dropped the later one without a conflict
flag, so a ticket the waiting room saw called twice left no trace. Now the board uploads its
outbox before the server decides again, and the fold flags any second call of a ticket.

The test drives it step by step: the real server on loopback behind a relay, the board's core
and journal, sync rounds by hand.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from config.server import ServerSettings
from display.core import BoardCore
from display.protocol import Action, Press
from guichet.sim.checks import calls_per_ticket, server_events
from guichet.sim.proxy import Relay
from server.run import ServerThread
from tests.conftest import PATIENCE
from tests.server.helpers import SITE, DeviceClock, site_config
from tickets.journal import Journal
from tickets.queue import fold
from tickets.sync import SyncClient, SyncWorker


@pytest.fixture
def outage(tmp_path: Path) -> Iterator[tuple[ServerThread, Relay, BoardCore, SyncWorker]]:
    cfg = site_config()
    with (
        ServerThread(ServerSettings(database_url=f"sqlite:///{tmp_path}/s.db")) as server,
        Relay(("127.0.0.1", int(server.url.rsplit(":", 1)[1])), "server") as relay,
    ):
        tokens = server.load_site(cfg)
        kiosk = DeviceClock("kiosk-a")
        sync_kiosk = SyncClient(server.url, tokens["kiosk-a"], "kiosk-a")
        sync_kiosk.sync(0, [kiosk.issued(1), kiosk.issued(2)], [], "")
        journal = Journal(tmp_path / "board.sqlite3", SITE, "board-a")
        action = SyncClient(relay.url, tokens["board-a"], "board-a", timeout=PATIENCE)
        worker_client = SyncClient(relay.url, tokens["board-a"], "board-a")
        board = BoardCore(cfg.to_domain(), journal, client=action, offline_retry=0.0)
        worker = SyncWorker(journal, worker_client, interval=1, on_events=board.receive)
        assert worker.run_once()
        yield server, relay, board, worker
        for c in (sync_kiosk, action, worker_client):
            c.session.close()
        journal.close()


def test_a_board_with_offline_decisions_to_upload_still_calls_each_ticket_once(
    outage: tuple[ServerThread, Relay, BoardCore, SyncWorker],
) -> None:
    """The control case: the board uploads its offline decisions before its next press."""
    server, relay, board, worker = outage
    relay.set_mode("reset")
    first = board.press(Press("1", Action.NEXT))
    assert (first.decided_by, first.ticket) == ("board", "A001")
    assert board.press(Press("1", Action.DONE)).decided_by == "board"
    relay.set_mode("pass")
    # The first round may meet the connection the outage broke; the next one gets through.
    assert worker.run_once() or worker.run_once(), worker.last_error
    second = board.press(Press("1", Action.NEXT))
    assert (second.decided_by, second.ticket) == ("server", "A002")
    events = server_events(server.ctx.engine, SITE)
    assert max(calls_per_ticket(events).values()) == 1


def test_a_board_back_online_before_its_upload_never_calls_a_ticket_twice(
    outage: tuple[ServerThread, Relay, BoardCore, SyncWorker],
) -> None:
    server, relay, board, worker = outage
    relay.set_mode("reset")
    assert board.press(Press("1", Action.NEXT)).ticket == "A001"
    assert board.press(Press("1", Action.DONE)).decided_by == "board"
    relay.set_mode("pass")  # the server is back; the sync worker has not run yet
    action = board.client
    assert isinstance(action, SyncClient)
    action.session.close()  # a fresh connection, as after the server's restart
    assert board.press(Press("1", Action.NEXT)).decided_by == "server"
    assert worker.run_once() or worker.run_once(), worker.last_error
    events = server_events(server.ctx.engine, SITE)
    twice = [t for t, n in calls_per_ticket(events).items() if n > 1]
    state = fold(site_config().to_domain(), events)
    assert all(state.tickets[t].conflict for t in twice), "called twice, and no conflict flag"
    assert not twice
