"""The board with the real server on loopback: presses decided by the server; the server
stopped, calls still happen on the board and are reconciled after it restarts; calls made
elsewhere pushed to the board within moments."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from config.server import ServerSettings
from display.runtime import Board, build_board
from display.virtual import VirtualButtonBox
from server.run import ServerThread
from tests.conftest import PATIENCE
from tests.display.helpers import SITE_FILE, Kiosk, TcpRelay, board_settings, wait_until


class RunningSite:
    """A running server behind a fixed address, its tokens, and a way to stop and restart it."""

    def __init__(self, tmp_path: Path) -> None:
        self.settings = ServerSettings(database_url=f"sqlite:///{tmp_path}/guichet.db")
        self.relay = TcpRelay()
        self.server: ServerThread | None = None
        self.start()
        assert self.server is not None
        self.tokens: dict[str, str] = self.server.load_site(SITE_FILE)

    def start(self) -> None:
        self.server = ServerThread(self.settings).start()
        self.relay.point_to(self.server.url)

    def stop(self) -> None:
        self.relay.point_to(None)
        if self.server is not None:
            self.server.stop()
            self.server = None

    def post(self, path: str, token: str, body: Any = None) -> Any:
        assert self.server is not None
        r = requests.post(
            self.server.url + path,
            json=body,
            headers={"Authorization": f"Bearer {token}"},
            timeout=PATIENCE,
        )
        r.raise_for_status()
        return r.json()

    def issue(self, service: str, n: int = 1) -> list[str]:
        return [
            self.post(
                "/api/v1/sites/mairie/tickets", self.tokens["kiosk-entree"], {"service": service}
            )["ticket"]["label"]
            for _ in range(n)
        ]

    def queue(self) -> Any:
        assert self.server is not None
        r = requests.get(
            self.server.url + "/api/v1/sites/mairie/queue",
            headers={"Authorization": f"Bearer {self.tokens['board-salle']}"},
            timeout=PATIENCE,
        )
        r.raise_for_status()
        return r.json()

    def close(self) -> None:
        self.stop()
        self.relay.close()


@pytest.fixture
def site_server(tmp_path: Path) -> Iterator[RunningSite]:
    s = RunningSite(tmp_path)
    yield s
    s.close()


@pytest.fixture
def board(tmp_path: Path, site_server: RunningSite) -> Iterator[tuple[Board, VirtualButtonBox]]:
    box = VirtualButtonBox()
    settings = board_settings(
        tmp_path,
        buttons={"ports": [box.path], "retry_min_seconds": 0.05},
        server={
            "url": site_server.relay.url,
            "token": site_server.tokens["board-salle"],
            "sync_interval_seconds": 0.2,
        },
        offline_retry_seconds=0.5,
    )
    b = build_board(settings)
    b.start()
    assert wait_until(lambda: b.buttons.state.value == "connected")
    yield b, box
    b.stop()
    box.close()


def test_a_press_is_decided_by_the_server_when_it_answers(
    site_server: RunningSite, board: tuple[Board, VirtualButtonBox]
) -> None:
    b, box = board
    site_server.issue("passeports", 2)
    box.send(b"3 NEXT\n")
    assert box.wait_for("3 SHOW B001", timeout=PATIENCE)
    assert b.core is not None and b.core.decided_locally == 0
    assert b.journal.outbox() == []  # type: ignore[attr-defined]
    called = [c for c in site_server.queue()["counters"] if c["id"] == "3"]
    assert called[0]["ticket"]["label"] == "B001"


def test_with_the_server_stopped_calls_go_on_and_are_reconciled_after_restart(
    site_server: RunningSite, board: tuple[Board, VirtualButtonBox]
) -> None:
    """GIVEN A001..A003 issued and the board in sync WHEN the server stops THEN counter 2's
    NEXT still calls A001 on the board (journaled), and WHEN the server is back THEN the
    board's calls are uploaded, the server holds A001 at counter 2, and the next NEXT at
    counter 1 (decided by the server) gets A002, never A001."""
    b, box = board
    site_server.issue("etat-civil", 3)
    assert wait_until(lambda: _waiting(b, "etat-civil") == 3)
    site_server.stop()

    box.send(b"2 NEXT\n")
    assert box.wait_for("2 SHOW A001", timeout=PATIENCE)
    assert b.core is not None and b.core.decided_locally == 1
    assert [e.kind.value for e in b.journal.outbox()] == [  # type: ignore[attr-defined]
        "CounterOpened",
        "TicketCalled",
    ]
    # Both events of the press carry its id: the server never decides that press again.
    presses = {e.data.get("press") for e in b.journal.outbox()}  # type: ignore[attr-defined]
    assert len(presses) == 1 and None not in presses

    site_server.start()
    assert wait_until(lambda: b.journal.backlog() == 0)  # type: ignore[attr-defined]
    counters = {c["id"]: c for c in site_server.queue()["counters"]}
    assert counters["2"]["ticket"]["label"] == "A001"
    assert wait_until(lambda: b.sync_state == "online")
    start = len(box.received)
    box.send(b"1 NEXT\n")
    assert box.wait_for("1 SHOW A002", start=start, timeout=PATIENCE)
    assert b.core.decided_locally == 1  # the server decided this one
    assert site_server.queue()["conflicts"] == []


def test_a_call_from_the_agents_console_is_pushed_shown_and_announced(
    site_server: RunningSite, board: tuple[Board, VirtualButtonBox]
) -> None:
    b, box = board
    site_server.issue("ccas")
    assert wait_until(lambda: _waiting(b, "ccas") == 1)
    answer = site_server.post(
        "/api/v1/sites/mairie/counters/5/next", site_server.tokens["board-salle"]
    )
    call_id = next(e["id"] for e in answer["events"] if e["kind"] == "TicketCalled")
    assert wait_until(lambda: b.core is not None and b.core.counter_ticket("5") == "D001")
    assert wait_until(lambda: call_id in b.audio.played)
    assert box.wait_for("5 SHOW D001", timeout=PATIENCE)  # the counter's own display follows


def _waiting(b: Board, service: str) -> int:
    return b.core.waiting_count(service) if b.core is not None else -1


def test_a_server_that_hangs_costs_one_timeout_then_presses_are_decided_at_once(
    tmp_path: Path, kiosk: Kiosk
) -> None:
    """GIVEN a server address that accepts connections and never answers (a hung server)
    WHEN counter 2 presses NEXT THEN after the press timeout the board decides A001 itself,
    and the next press is decided without asking the hung server again."""
    hung = HungServer()
    box = VirtualButtonBox()
    settings = board_settings(
        tmp_path,
        buttons={"ports": [box.path]},
        server={"url": hung.url, "token": "t"},
        action_timeout_seconds=0.5,
        offline_retry_seconds=60,
    )
    b = build_board(settings)
    b.journal.store_remote([kiosk.issue("etat-civil"), kiosk.issue("etat-civil")])
    assert b.core is not None
    b.core.resync()
    b.buttons.start()  # no sync worker: only presses talk to the server here
    try:
        assert wait_until(lambda: b.buttons.state.value == "connected")
        box.press("2", "next")
        assert box.wait_for("2 SHOW A001", timeout=PATIENCE)
        assert hung.connections == 1  # asked, got no answer in time
        box.press("2", "next")
        assert box.wait_for("2 SHOW A002", timeout=PATIENCE)
        assert hung.connections == 1  # not asked again
        assert b.core.decided_locally == 2
    finally:
        b.stop()
        box.close()
        hung.close()


class HungServer:
    """Accepts connections on loopback and never answers."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.connections = 0
        self._held: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self._held.append(conn)
            self.connections += 1

    def close(self) -> None:
        self.sock.close()
        for c in self._held:
            c.close()
