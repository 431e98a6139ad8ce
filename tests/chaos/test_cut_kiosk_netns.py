"""A kiosk cut from the server but not from the LAN, on hosts of their own: network namespaces.

The same case as tests/chaos/test_cut_kiosk.py (an independent run found the server answering
"nobody waits" and calling a later kiosk's ticket first while the boards showed the cut kiosk's
customers waiting), cut as a site's network cuts it: the kiosk and the board are
``guichet.sim.device`` processes (the real runtimes, headless), each in a network namespace of
its own on a bridge (tests/multiworker/netns.py); they talk to each other over that bridge, and
to the server (in the test process, behind an address of the root namespace on the bridge).
The kiosk loses the server by a route in its namespace that refuses that address only: the
board, the virtual printer and the kiosk's peer link are untouched.

Needs root (``ip netns``); elsewhere the loopback variant (test_cut_kiosk.py) stands for it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from guichet.sim.process import DeviceProcess
from printer.virtual import VirtualPrinter
from tests.chaos.conftest import Bench
from tests.chaos.test_cut_kiosk import cut_kiosk_day, server_issued
from tests.conftest import PATIENCE, wait_until
from tests.kiosk.link import Link
from tests.multiworker import netns

_WHY_NOT = netns.unavailable()
pytestmark = pytest.mark.skipif(_WHY_NOT is not None, reason=str(_WHY_NOT))

PEER_PORT = 8700
"""Each host has its own ports: the devices answer their peers on this one."""


def _wait(what: str, predicate: Any) -> None:
    if not wait_until(predicate, PATIENCE):
        raise AssertionError(f"not within {PATIENCE:g} s: {what}")


@pytest.fixture
def hosts() -> Iterator[netns.Hosts]:
    netns.remove_leftovers()
    h = netns.Hosts(["kiosk", "board"])
    try:
        yield h
    finally:
        h.close()


@pytest.fixture
def site(
    bench: Bench, hosts: netns.Hosts, tmp_path: Path
) -> Iterator[tuple[str, DeviceProcess, DeviceProcess]]:
    """The kiosk and the board on their hosts; returns the server's address on the bridge."""
    server_address = hosts.add_address()
    link = Link(server_address)
    link.restore(int(bench.server.url.rsplit(":", 1)[1]))
    printer = VirtualPrinter(tmp_path / "printed-netns", host=hosts.gateway)
    printer.start()
    urls = {h: f"http://{hosts.address[h]}:{PEER_PORT}" for h in ("kiosk", "board")}

    def peers(host: str, other: str) -> dict[str, Any]:
        listen = f"{hosts.address[host]}:{PEER_PORT}"
        # A peer refused before the keys came is tried again within a second, not 30 s.
        return {
            "listen": listen,
            "urls": [urls[other]],
            "interval_seconds": 0.2,
            "max_backoff_seconds": 1.0,
        }

    try:
        kiosk = bench.kiosk(
            server=link.url,
            peers=peers("kiosk", "board"),
            printer={
                "transport": {"kind": "network", "host": hosts.gateway, "port": printer.port},
                "timeout_seconds": 2.0,
                "status_timeout_seconds": 2.0,
            },
        )
        # A loaded machine must not make the board decide alone: the case is the server's.
        board = bench.board(
            server=link.url, peers=peers("board", "kiosk"), action_timeout_seconds=10.0
        )
        kiosk.prefix = hosts.run_prefix("kiosk")
        board.prefix = hosts.run_prefix("board")
        kiosk.start()
        board.start()
        yield server_address, kiosk, board
    finally:
        bench.close()
        printer.stop()
        link.close()


def test_a_kiosk_cut_from_the_server_on_its_own_host_has_its_tickets_called_in_order(
    bench: Bench,
    hosts: netns.Hosts,
    site: tuple[str, DeviceProcess, DeviceProcess],
) -> None:
    """GIVEN a kiosk and a board on two hosts of a site's LAN, both reaching the server
    WHEN the kiosk's route to the server is cut (the LAN still up), it issues three tickets,
    and a later ticket comes from another kiosk that reaches the server
    THEN the board learns the cut kiosk's tickets over the LAN and uploads them: the server
    calls them first, in the order they were issued, then the later one, then answers EMPTY,
    every press decided by the server; the server holds them under the kiosk's name. Once
    the kiosk reaches the server again, nothing is stored twice."""
    server_address, kiosk, board = site
    labels = cut_kiosk_day(bench, kiosk, board, lambda: hosts.block("kiosk", server_address))

    hosts.unblock("kiosk", server_address)
    _wait(
        "the kiosk reached the server again, its outbox empty",
        lambda: bool(kiosk.call("sync")["ok"]) and kiosk.call("dump")["backlog"] == 0,
    )
    stored = server_issued(bench)
    assert len(stored) == len(labels) + 1, "each ticket stored once"
    assert sorted(label for label, _ in stored if label is not None) == sorted(labels)
