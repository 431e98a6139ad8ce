"""``guichet server`` (one process) and systemd: READY=1 once the port listens, WATCHDOG=1
from the event loop at half WatchdogSec, STOPPING=1 and exit 0 on SIGTERM. systemd's side is
a notification socket the test owns (tests/multiworker/procs.py); several workers:
tests/multiworker/test_supervisor.py."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import requests

from tests.conftest import PATIENCE
from tests.multiworker.procs import ServerProcess

WATCHDOG_USEC = 600_000  # WatchdogSec=0.6s: a ping every 0.3 s


def test_one_process_says_ready_once_listening_then_pings_and_stops_cleanly(
    tmp_path: Path,
) -> None:
    server = ServerProcess(tmp_path, f"sqlite:///{tmp_path}/guichet.db")
    try:
        server.start(watchdog_usec=WATCHDOG_USEC)
        ready = server.messages[-1]
        assert ready.pid == server.pid
        assert ready.text.startswith("READY=1\nSTATUS=serving http://127.0.0.1:")
        # READY means listening: the port answers at once (no retry).
        r = requests.get(f"{server.url}/readyz", timeout=10)
        assert r.status_code == 200 and r.json()["status"] == "ok"
        pings = [server.wait_for("WATCHDOG=1", PATIENCE) for _ in range(4)]
        assert {p.pid for p in pings} == {server.pid}
        assert [m.text for m in server.messages].count("READY=1") == 0  # status rides along
        started = time.monotonic()
    finally:
        code = server.stop()
    assert code == 0, server.log()
    assert time.monotonic() - started < 60
    assert [m.pid for m in server.messages if m.text == "STOPPING=1"] == [server.pid]


def test_closing_the_terminal_stops_the_server_cleanly(tmp_path: Path) -> None:
    """SIGHUP (the terminal that started it closed) stops the server as SIGTERM does: exit 0,
    STOPPING=1, the port released."""
    server = ServerProcess(tmp_path, f"sqlite:///{tmp_path}/guichet.db")
    try:
        server.start(watchdog_usec=WATCHDOG_USEC)
    finally:
        code = server.stop(signal.SIGHUP)
    assert code == 0, server.log()
    assert [m.pid for m in server.messages if m.text == "STOPPING=1"] == [server.pid]
