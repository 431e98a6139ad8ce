"""The real kiosk and board runtimes start their LAN exchange from their [peers] settings:
with the server unreachable, a ticket the kiosk prints shows on the board."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from config.display import DisplaySettings
from config.kiosk import KioskSettings
from config.server import ServerSettings
from display.runtime import Board, build_board
from guichet.firstboot import dumps
from guichet.sim.proxy import Relay
from kiosk.core import Outcome
from kiosk.runtime import KioskRuntime
from printer.virtual import VirtualPrinter
from server.run import ServerThread
from tests.conftest import PATIENCE, wait_until
from tests.server.helpers import SITE, site_config


def _wait(predicate: Callable[[], bool], timeout: float = PATIENCE) -> bool:
    return wait_until(predicate, timeout, step=0.02)


@pytest.fixture
def running(tmp_path: Path) -> Iterator[tuple[KioskRuntime, Board, Relay]]:
    cfg = site_config()
    site_file = tmp_path / "site.toml"
    site_file.write_text(dumps(cfg.model_dump(mode="json", exclude_none=True)), encoding="utf-8")
    with (
        ServerThread(ServerSettings(database_url=f"sqlite:///{tmp_path}/s.db")) as server,
        Relay(("127.0.0.1", int(server.url.rsplit(":", 1)[1])), "server") as relay,
        VirtualPrinter(tmp_path / "printed") as printer,
    ):
        tokens = server.load_site(cfg)

        def link(device: str) -> dict[str, Any]:
            # A sync in flight when the relay starts resetting gets no answer: the device gives
            # up after its read timeout, five times this (the default's 10 s would take a third
            # of the waits below, a loaded machine the rest).
            return {
                "url": relay.url,
                "token": tokens[device],
                "sync_interval_seconds": 0.2,
                "timeout_seconds": 0.5,
            }

        kiosk = KioskRuntime(
            KioskSettings.model_validate(
                {
                    "site": SITE,
                    "device_id": "kiosk-a",
                    "journal_path": tmp_path / "kiosk.sqlite3",
                    "site_file": site_file,
                    "server": link("kiosk-a"),
                    "peers": {"listen": "127.0.0.1:0", "interval_seconds": 0.2},
                    "printer": {
                        "transport": {"kind": "network", "host": "127.0.0.1", "port": printer.port}
                    },
                }
            )
        )
        kiosk.start_sync()
        assert kiosk.peers is not None
        board = build_board(
            DisplaySettings.model_validate(
                {
                    "site": SITE,
                    "device_id": "board-a",
                    "journal_path": tmp_path / "board.sqlite3",
                    "site_file": site_file,
                    "server": link("board-a"),
                    "peers": {"urls": [kiosk.peers.url], "interval_seconds": 0.2},
                    "audio": {"enabled": False, "cache_dir": tmp_path / "audio"},
                    "action_timeout_seconds": 0.3,
                }
            )
        )
        board.start()
        yield kiosk, board, relay
        board.stop()
        kiosk.close()


def test_tickets_printed_during_an_outage_show_on_the_board(
    running: tuple[KioskRuntime, Board, Relay],
) -> None:
    kiosk, board, relay = running
    kiosk_peers, board_peers = kiosk.peers, board.peers
    assert kiosk_peers is not None and board_peers is not None
    assert _wait(lambda: board.core is not None and board.sync_state == "online")
    assert _wait(lambda: kiosk.sync_state == "online" and kiosk_peers.key_of("board-a") is not None)
    assert _wait(lambda: next(iter(board_peers.status().values()))["state"] == "ok")

    relay.set_mode("reset")
    assert _wait(lambda: kiosk.sync_state == "offline" and board.sync_state == "offline")
    result = kiosk.submit(kiosk.core.issue, "civil").result(10)
    assert result.outcome is Outcome.PRINTED and result.ticket is not None
    kiosk.wake_sync()

    def shown() -> bool:
        assert board.core is not None
        civil = [s for s in board.core.view().services if s.id == "civil"]
        return bool(civil) and civil[0].waiting == 1

    assert _wait(shown), "the board learnt the ticket from the kiosk over the LAN"
    assert board.journal.backlog() == 1, "the board relays it"  # type: ignore[attr-defined]
