"""Helpers of the display board's tests."""

from __future__ import annotations

import select
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from config.display import DisplaySettings
from config.loader import load_settings
from tests.conftest import wait_until as wait_until  # re-exported for the display tests
from tickets.events import Event, EventKind, new_event
from tickets.hlc import HybridClock
from tickets.model import Site

SITE_FILE = Path(__file__).resolve().parents[2] / "config" / "examples" / "site-townhall.toml"


def board_settings(tmp_path: Path, **overrides: Any) -> DisplaySettings:
    values: dict[str, Any] = {
        "site": "mairie",
        "device_id": "board-salle",
        "journal_path": tmp_path / "board.sqlite3",
        "fullscreen": False,
        "site_file": SITE_FILE,
        "audio": {"enabled": False, "cache_dir": tmp_path / "audio"},
    }
    values.update(overrides)
    return load_settings(DisplaySettings, None, **values)


class Kiosk:
    """Tickets as the entrance kiosk issues them: events the board receives by sync."""

    def __init__(self, site: Site, wall: Callable[[], float] = time.time) -> None:
        self.site = site
        self.clock = HybridClock("kiosk-entree", wall)
        self.numbers: dict[str, int] = {}

    def issue(self, service: str, priority: str | None = None) -> Event:
        svc = self.site.service(service)
        assert svc is not None
        n = self.numbers.get(service, 0) + 1
        self.numbers[service] = n
        ts = self.clock.now()
        return new_event(
            EventKind.TICKET_ISSUED,
            site=self.site.id,
            device="kiosk-entree",
            hlc=ts,
            wall_time=ts.seconds,
            ticket=f"{service}-{n}",
            service=service,
            number=n,
            day=self.site.day(ts.seconds).isoformat(),
            priority=priority,
            label=f"{svc.prefix}{n:03d}",
        )


class TcpRelay:
    """A fixed loopback address in front of a server that stops and restarts on new ports
    (a restarted ``ServerThread`` binds a new port; the board keeps its configured URL).
    While no server is behind it, connections are accepted and closed at once, as a
    reverse proxy does in front of a stopped server."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.target: tuple[str, int] | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def point_to(self, url: str | None) -> None:
        if url is None:
            self.target = None
            return
        host, port = url.removeprefix("http://").split(":")
        self.target = (host, int(port))

    def close(self) -> None:
        self._stop.set()
        self._listener.close()
        self._thread.join(2)

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            target = self.target
            try:
                if target is None:
                    raise OSError("no server behind the relay")
                upstream = socket.create_connection(target, timeout=2)
            except OSError:
                client.close()
                continue
            threading.Thread(target=self._pipe, args=(client, upstream), daemon=True).start()

    def _pipe(self, a: socket.socket, b: socket.socket) -> None:
        with a, b:
            socks = [a, b]
            while not self._stop.is_set():
                ready, _, _ = select.select(socks, [], [], 0.2)
                for s in ready:
                    try:
                        data = s.recv(65536)
                    except OSError:
                        data = b""
                    if not data:
                        return
                    (b if s is a else a).sendall(data)
