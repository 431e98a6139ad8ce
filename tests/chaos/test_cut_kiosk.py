"""A kiosk cut from the server but not from the LAN: its customers are called, in order.

Found by an independent run: boards learnt such a kiosk's tickets from it over the LAN and
showed them waiting, but only an event's author uploaded it, so the server never had them: it
answered "nobody waits" and called a later ticket from another kiosk first. Now every device
uploads what it learnt from its peers (signed by their author), and a board uploads its outbox
before the server decides a press.

Real processes: the kiosk and the board are ``guichet.sim.device`` processes (the real
runtimes, headless); the server runs on loopback in the test process. The kiosk reaches the
server through a relay the test cuts (a loopback TCP proxy rather than network namespaces: the
cut is the same to the kiosk, a connection reset, and the test needs no root); the kiosk and
the board reach each other through relays that stay open.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from config.server import ServerSettings
from display.core import BoardCore
from display.protocol import Action, Press
from guichet.sim.process import DeviceProcess
from guichet.sim.proxy import Relay
from server.run import ServerThread
from tests.chaos.conftest import Bench
from tests.conftest import PATIENCE, wait_until
from tests.server.helpers import SITE, site_config
from tickets.journal import Journal
from tickets.numbering import Lease
from tickets.signing import peer_key
from tickets.sync import SyncClient


def _wait(what: str, predicate: Callable[[], bool], timeout: float = 2 * PATIENCE) -> None:
    if not wait_until(predicate, timeout, step=0.05):
        raise AssertionError(f"not within {timeout:g} s: {what}")


def _address(url: str) -> tuple[str, int]:
    host, port = url.removeprefix("http://").rsplit(":", 1)
    return host, int(port)


def _waiting(device: DeviceProcess) -> list[str]:
    tickets = device.call("dump")["dump"]["tickets"]
    return sorted(t["label"] for t in tickets if t["status"] == "waiting")


def has_peer_keys(device: DeviceProcess) -> bool:
    """Whether the device holds the site's peer keys (its journal's cache of them): without
    them it can check no peer, and a device cut from the server cannot get them."""
    path = device.spec["settings"]["journal_path"]
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
        row = db.execute("SELECT value FROM meta WHERE key = 'app.peer.keys'").fetchone()
    return row is not None and row[0] not in ("", "{}")


def _server_tickets(bench: Bench) -> dict[str, dict[str, Any]]:
    token = bench.tokens["board-b"]
    r = requests.get(
        f"{bench.server.url}/api/v1/sites/{SITE}/queue",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    r.raise_for_status()
    return {t["label"]: t for t in r.json()["waiting"]}


@pytest.fixture
def cut_site(bench: Bench) -> Iterator[tuple[Bench, Relay, DeviceProcess, DeviceProcess]]:
    server = _address(bench.server.url)
    with (
        Relay(server, "kiosk-server") as kiosk_link,
        Relay(None, "to-kiosk") as to_kiosk,
        Relay(None, "to-board") as to_board,
    ):

        def peers(other: Relay) -> dict[str, Any]:
            # A peer refused before the keys came is tried again within a second, not 30 s.
            return {
                "listen": "127.0.0.1:0",
                "urls": [other.url],
                "interval_seconds": 0.2,
                "max_backoff_seconds": 1.0,
            }

        kiosk = bench.kiosk(server=kiosk_link.url, peers=peers(to_board))
        # A loaded machine must not make the board decide alone: the case is the server's.
        board = bench.board(peers=peers(to_kiosk), action_timeout_seconds=10.0)
        kiosk.start()
        board.start()
        to_kiosk.set_target(_address(kiosk.peer_url))
        to_board.set_target(_address(board.peer_url))
        yield bench, kiosk_link, kiosk, board


def server_issued(bench: Bench) -> list[tuple[str | None, str]]:
    """(label, author) of every TicketIssued the server stored, in store order (a ticket the
    server issued itself carries no label in its event)."""
    r = requests.post(
        f"{bench.server.url}/api/v1/sync",
        json={"device": "board-b", "cursor": 0, "limit": 5000},
        headers={"Authorization": f"Bearer {bench.tokens['board-b']}"},
        timeout=10,
    )
    r.raise_for_status()
    return [
        (e["data"].get("label"), e["device"])
        for e in r.json()["events"]
        if e["kind"] == "TicketIssued"
    ]


def cut_kiosk_day(
    bench: Bench, kiosk: DeviceProcess, board: DeviceProcess, cut: Callable[[], object]
) -> list[str]:
    """The case, whatever cuts the kiosk from the server (``cut``): the kiosk issues a ticket
    connected, then three cut; a kiosk that reaches the server issues a later one; the board's
    NEXTs must call the four first, in order, decided by the server. Returns the cut kiosk's
    labels."""
    # Connected first: the kiosk gets its numbers and the site's peer keys from the server.
    _wait("the kiosk synced", lambda: bool(kiosk.call("sync")["ok"]))
    _wait("both have the site's peer keys", lambda: all(map(has_peer_keys, (kiosk, board))))
    first = kiosk.call("issue", service="civil")
    # Printed, or shown on screen when a loaded machine makes the printer miss its deadline:
    # a ticket either way, which is what this test is about.
    assert first["label"] is not None
    _wait("the first ticket on the server", lambda: first["label"] in _server_tickets(bench))

    cut()
    assert not kiosk.call("sync")["ok"], "the kiosk no longer reaches the server"
    issued = [kiosk.call("issue", service="civil") for _ in range(3)]
    assert all(t["label"] is not None for t in issued)
    labels = [first["label"], *(t["label"] for t in issued)]
    _wait("the board learnt the cut kiosk's tickets", lambda: _waiting(board) == sorted(labels))

    # A later ticket from a kiosk that reaches the server.
    later = bench.server_ticket()

    presses = [board.call("press", counter="1", action="next") for _ in range(6)]
    assert [p["ticket"] for p in presses] == [*labels, later, None]
    assert [p["decided_by"] for p in presses] == ["server"] * 6
    assert presses[-1]["error"] == "EMPTY"
    assert not kiosk.call("sync")["ok"], "the kiosk stayed cut"

    # The server holds the cut kiosk's tickets under its name, though it never uploaded them.
    authors = dict(server_issued(bench))
    assert {label: authors[label] for label in labels} == dict.fromkeys(labels, "kiosk-a")
    return labels


def test_a_kiosk_cut_from_the_server_has_its_tickets_called_first_come_first_served(
    cut_site: tuple[Bench, Relay, DeviceProcess, DeviceProcess],
) -> None:
    bench, kiosk_link, kiosk, board = cut_site
    cut_kiosk_day(bench, kiosk, board, lambda: kiosk_link.set_mode("reset"))
    assert kiosk_link.cut > 0, "the relay cut the kiosk's connections"


def test_a_press_uploads_what_the_board_learnt_from_peers_before_the_server_decides(
    tmp_path: Path,
) -> None:
    """Step by step, without the board's sync worker: the press itself uploads the ticket the
    board learnt from a kiosk cut from the server, so the server calls it before a later one."""
    cfg = site_config()
    site = cfg.to_domain()
    today = site.day(time.time()).isoformat()
    with ServerThread(ServerSettings(database_url=f"sqlite:///{tmp_path}/s.db")) as server:
        tokens = server.load_site(cfg)
        kiosk = Journal(tmp_path / "k.sqlite3", SITE, "kiosk-a", key=peer_key(tokens["kiosk-a"]))
        board = Journal(tmp_path / "b.sqlite3", SITE, "board-a", key=peer_key(tokens["board-a"]))
        client = SyncClient(server.url, tokens["board-a"], "board-a", timeout=20.0)
        try:
            kiosk.grant_leases([Lease("civil", today, 1, 20)])
            cut, _ = kiosk.issue_ticket("civil", today, priority=None, lang="fr", prefix="A")
            board.store_remote([cut], relay=True)  # learnt from the kiosk over the LAN
            r = requests.post(
                f"{server.url}/api/v1/sites/{SITE}/tickets",
                json={"service": "civil"},
                headers={"Authorization": f"Bearer {tokens['kiosk-b']}"},
                timeout=10,
            )
            r.raise_for_status()
            core = BoardCore(site, board, client=client)
            first = core.press(Press("1", Action.NEXT))
            assert (first.decided_by, first.ticket) == ("server", cut.data["label"])
            assert board.backlog() == 0
            second = core.press(Press("1", Action.NEXT))
            assert (second.decided_by, second.ticket) == ("server", r.json()["ticket"]["label"])
        finally:
            client.session.close()
            kiosk.close()
            board.close()
