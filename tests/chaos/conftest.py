"""Real processes killed with SIGKILL: kiosks and boards run by ``guichet.sim.device`` (the
real runtimes, headless), the server on loopback in the test process, the virtual printer
listening on TCP in the test process."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import requests

from config.server import ServerSettings
from guichet.firstboot import dumps
from guichet.sim.clock import SimClock
from guichet.sim.process import DeviceProcess
from printer.virtual import VirtualPrinter
from server.run import ServerThread
from tests.chaos.clocksite import Site
from tests.server.helpers import SITE, site_config
from tickets.hlc import HybridClock


def ten_in_the_morning(timezone: str) -> float:
    """Today at 10:00 in the site's time zone: the bench runs on that time of day whatever the
    hour of the run, so no service is stopping for the night half-way through a test."""
    zone = ZoneInfo(timezone)
    return datetime.combine(datetime.now(zone).date(), time(10, 0), tzinfo=zone).timestamp()


class Bench:
    """A server, a printer and device processes for one test."""

    def __init__(self, tmp: Path, server: ServerThread, printer: VirtualPrinter) -> None:
        self.tmp = tmp
        self.server = server
        self.printer = printer
        self.config = site_config()
        self.site_file = tmp / "site.toml"
        self.site_file.write_text(
            dumps(self.config.model_dump(mode="json", exclude_none=True)), encoding="utf-8"
        )
        self.tokens = server.load_site(self.config)
        # One clock for the server and every device process: real seconds from 10:00 today.
        self.clock = SimClock.starting(ten_in_the_morning(self.config.site.timezone), 1.0)
        server.ctx.wall = self.clock
        server.ctx.clock = HybridClock("server", self.clock)
        self.devices: list[DeviceProcess] = []

    def settings(self, device: str, *, server: str | None = None, **more: Any) -> dict[str, Any]:
        return {
            "site": SITE,
            "device_id": device,
            "journal_path": str(self.tmp / f"{device}.sqlite3"),
            "site_file": str(self.site_file),
            "server": {
                "url": server if server is not None else self.server.url,
                "token": self.tokens[device],
                "sync_interval_seconds": 0.1,
                "timeout_seconds": 1.0,
            },
            **more,
        }

    def kiosk(self, device: str = "kiosk-a", **more: Any) -> DeviceProcess:
        settings = self.settings(device, **more)
        settings.setdefault(
            "printer",
            {
                "transport": {"kind": "network", "host": "127.0.0.1", "port": self.printer.port},
                "timeout_seconds": 2.0,
            },
        )
        return self._device(device, "kiosk", settings)

    def board(self, device: str = "board-a", **more: Any) -> DeviceProcess:
        settings = self.settings(device, **more)
        settings.setdefault("buttons", {"virtual": True})
        settings.setdefault("audio", {"enabled": False, "cache_dir": str(self.tmp / "audio")})
        settings.setdefault("action_timeout_seconds", 0.5)
        settings.setdefault("offline_retry_seconds", 0.5)
        return self._device(device, "display", settings)

    def _device(self, name: str, role: str, settings: dict[str, Any]) -> DeviceProcess:
        spec = {"role": role, "settings": settings, "clock": self.clock.to_json()}
        d = DeviceProcess(name, spec, self.tmp / "devices")
        self.devices.append(d)
        return d

    def server_ticket(self, device: str = "kiosk-b") -> str:
        """A ticket the server issues for ``device`` (a kiosk that reaches it); its label."""
        r = requests.post(
            f"{self.server.url}/api/v1/sites/{SITE}/tickets",
            json={"service": "civil"},
            headers={"Authorization": f"Bearer {self.tokens[device]}"},
            timeout=10,
        )
        r.raise_for_status()
        label: str = r.json()["ticket"]["label"]
        return label

    def close(self) -> None:
        for d in self.devices:
            d.close()


@pytest.fixture
def server_and_printer(tmp_path: Path) -> Iterator[tuple[ServerThread, VirtualPrinter]]:
    """The server on loopback (SQLite in ``tmp_path``) and the virtual printer on TCP."""
    with (
        ServerThread(ServerSettings(database_url=f"sqlite:///{tmp_path}/server.db")) as server,
        VirtualPrinter(tmp_path / "printed") as printer,
    ):
        yield server, printer


@pytest.fixture
def bench(
    tmp_path: Path, server_and_printer: tuple[ServerThread, VirtualPrinter]
) -> Iterator[Bench]:
    b = Bench(tmp_path, *server_and_printer)
    yield b
    b.close()


@pytest.fixture
def site(tmp_path: Path, server_and_printer: tuple[ServerThread, VirtualPrinter]) -> Iterator[Site]:
    """A site whose devices' clocks the test sets (tests/chaos/clocksite.py)."""
    s = Site(tmp_path, *server_and_printer)
    yield s
    s.close()
