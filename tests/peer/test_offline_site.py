"""The issue's scenario, end to end on loopback: the central server becomes unreachable, the
kiosk keeps printing, the board learns the tickets from the kiosk over the LAN and calls them;
when the server returns, every event reaches it exactly once and everyone folds the same queue.

Real parts: the server (uvicorn in a thread, SQLite file), the kiosk's core printing over TCP
to the virtual printer, the board's core, journals on disk, peers over HTTP. The server's link
goes through a relay the test switches off and on.
"""

from __future__ import annotations

import collections
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from config.kiosk import KioskSettings
from config.printer import PrinterSettings
from config.server import ServerSettings
from display.core import BoardCore
from display.protocol import Action, Press
from guichet.sim.checks import fold_dump, server_dump, server_events
from guichet.sim.proxy import Relay
from kiosk.core import KioskCore, Outcome
from printer import open_printer
from printer.virtual import VirtualPrinter
from server.run import ServerThread
from tests.conftest import PATIENCE
from tests.server.helpers import SITE, site_config
from tickets.hlc import HybridClock
from tickets.journal import Journal
from tickets.peer import PeerLink, PeerSync, fetch_peer_keys, peer_key
from tickets.sync import RequestRejected, SyncClient, SyncState, SyncWorker

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=ZoneInfo("Europe/Paris")).timestamp()


@dataclass
class Site:
    server: ServerThread
    relay: Relay
    tokens: dict[str, str]
    printer: VirtualPrinter
    kiosk: KioskCore
    kiosk_sync: SyncWorker
    kiosk_peer: PeerSync
    board: BoardCore
    board_sync: SyncWorker
    board_peer: PeerSync

    def exchange(self) -> None:
        self.board_peer.run_once()
        self.kiosk_peer.run_once()

    def sync_all(self) -> list[bool]:
        return [self.kiosk_sync.run_once(), self.board_sync.run_once()]


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    cfg = site_config()
    with (
        ServerThread(ServerSettings(database_url=f"sqlite:///{tmp_path}/server.db")) as server,
        Relay((("127.0.0.1", int(server.url.rsplit(":", 1)[1]))), "server") as relay,
        VirtualPrinter(tmp_path / "printed") as printer,
    ):
        tokens = server.load_site(cfg)
        wall = lambda: NOW  # noqa: E731 - one fixed instant is enough: the clocks' logic counts
        # The server on the same instant: the devices set their clocks by the server's.
        server.ctx.wall = wall
        server.ctx.clock = HybridClock("server", wall)

        clients: list[SyncClient] = []

        def client(device: str, timeout: float = 1.0) -> SyncClient:
            clients.append(SyncClient(relay.url, tokens[device], device, timeout=timeout))
            return clients[-1]

        def journal(device: str, name: str) -> Journal:
            key = peer_key(tokens[device])
            return Journal(tmp_path / name, SITE, device, wall=_moving(NOW), key=key)

        kj = journal("kiosk-a", "kiosk.sqlite3")
        bj = journal("board-a", "board.sqlite3")
        settings = KioskSettings(
            site=SITE,
            device_id="kiosk-a",
            journal_path=tmp_path / "kiosk.sqlite3",
            printer=PrinterSettings.model_validate(
                {
                    "transport": {"kind": "network", "host": "127.0.0.1", "port": printer.port},
                    "timeout_seconds": 1.0,
                }
            ),
        )
        kiosk = KioskCore(settings, kj, cfg, open_printer(settings.printer), kj.clock.wall_seconds)
        board = BoardCore(
            cfg.to_domain(), bj, client=client("board-a", 0.3), offline_retry=0.0, wall=wall
        )
        kiosk_peer = PeerSync(
            kj,
            token=tokens["kiosk-a"],
            listen=("127.0.0.1", 0),
            keys_source=lambda: fetch_peer_keys(client("kiosk-a"), SITE),
            on_events=kiosk.apply_events,
        )
        kiosk_peer.start_server()
        board_peer = PeerSync(
            bj,
            token=tokens["board-a"],
            listen=("127.0.0.1", 0),
            peers=[kiosk_peer.url],
            keys_source=lambda: fetch_peer_keys(client("board-a"), SITE),
            on_events=board.receive,
        )
        board_peer.start_server()
        kiosk_peer.links.append(PeerLink(board_peer.url))
        services = [s.id for s in cfg.to_domain().services]
        s = Site(
            server,
            relay,
            tokens,
            printer,
            kiosk,
            SyncWorker(
                kj, client("kiosk-a"), interval=1, services_for_leases=services, today=kiosk.today
            ),
            kiosk_peer,
            board,
            SyncWorker(bj, client("board-a"), interval=1, on_events=board.receive),
            board_peer,
        )
        yield s
        kiosk_peer.stop()
        board_peer.stop()
        kiosk.printer.close()
        for c in clients:
            c.session.close()
        kj.close()
        bj.close()


def _moving(start: float) -> collections.abc.Callable[[], float]:
    """A wall clock that ticks one millisecond per reading (events get distinct times)."""
    ticks = iter(range(10**9))
    return lambda: start + next(ticks) / 1000.0


def test_the_board_learns_offline_tickets_over_the_lan_and_the_server_gets_each_event_once(
    site: Site,
) -> None:
    # Online: leases, the site's peer keys.
    assert site.sync_all() == [True, True]
    site.exchange()
    assert site.board_peer.key_of("kiosk-a") == peer_key(site.tokens["kiosk-a"])
    issued_online = site.kiosk.issue("civil")
    assert issued_online.outcome is Outcome.PRINTED

    # The server becomes unreachable.
    site.relay.set_mode("reset")
    offline = [site.kiosk.issue("civil") for _ in range(4)]
    assert [r.outcome for r in offline] == [Outcome.PRINTED] * 4
    assert site.sync_all() == [False, False]
    assert site.kiosk_sync.state is SyncState.OFFLINE
    site.exchange()
    board_view = site.board.view()
    civil = next(v for v in board_view.services if v.id == "civil")
    assert civil.waiting == 5, "the board knows every ticket the kiosk printed"

    calls = [site.board.press(Press(c, Action.NEXT)) for c in ("1", "3")]
    assert [c.decided_by for c in calls] == ["board", "board"]
    assert [c.ticket for c in calls] == ["A001", "A002"]
    site.exchange()
    assert site.kiosk.waiting_count("civil") == 3, "the kiosk learns the board's calls too"

    # The server returns: each device uploads what it knows; the server stores each event
    # once, under its author's name.
    site.relay.set_mode("pass")
    for _ in range(3):
        assert site.sync_all() == [True, True]
    events = server_events(site.server.ctx.engine, SITE)
    by_device = collections.Counter(e.device for e in events)
    own = {
        name: [e for e in j.events_after(0, 10_000)[0] if e.device == name]
        for name, j in (("kiosk-a", site.kiosk.journal), ("board-a", site.board_peer.journal))
    }
    assert by_device == {"kiosk-a": len(own["kiosk-a"]), "board-a": len(own["board-a"])}
    assert len({e.id for e in events}) == len(events)
    assert site.kiosk.journal.backlog() == 0 and site.board_peer.journal.backlog() == 0

    # Everyone folds the same queue, the server included.
    domain = site_config().to_domain()
    expected = server_dump(site.server.ctx.engine, domain)
    assert fold_dump(site.kiosk.journal.state(domain)) == expected
    assert fold_dump(site.board.journal.state(domain)) == expected
    called = sorted(t["label"] for t in expected["tickets"] if t["status"] == "called")
    assert called == ["A001", "A002"]
    assert site.printer.wait_for_tickets(5, PATIENCE)

    # A device may upload what another made only as its author made it: signed by it.
    kiosk_event = own["kiosk-a"][0]
    forged = replace(kiosk_event, id=str(uuid.uuid4()), data={**kiosk_event.data, "number": 7})
    board_client = SyncClient(site.server.url, site.tokens["board-a"], "board-a")
    with board_client.session:
        assert board_client.sync(0, [kiosk_event], [], "").acks == [kiosk_event.id]
        with pytest.raises(RequestRejected) as refused:
            board_client.sync(0, [forged], [], "")
    assert refused.value.status_code == 403
    assert refused.value.field == "events.0.sig"
    assert refused.value.event == forged.id
