"""A site whose devices' wall clocks the test sets: the real server on loopback whose clock is
the test's "true time"; kiosks (KioskCore printing to the virtual printer) and boards
(BoardCore) whose wall clocks are the true time plus a skew; journals on disk; sync rounds run
by hand, so the order of things is exact. The ``site`` fixture (conftest.py) gives one."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import requests

from config.kiosk import KioskSettings
from config.printer import PrinterSettings
from display.core import BoardCore
from display.protocol import Action, Press
from kiosk.core import KioskCore
from printer import open_printer
from printer.virtual import VirtualPrinter
from server.run import ServerThread
from tests.server.helpers import SITE, site_config
from tickets.events import Event
from tickets.hlc import HybridClock
from tickets.journal import Journal
from tickets.signing import peer_key
from tickets.sync import SyncClient, SyncWorker

HOUR, DAY = 3600.0, 86400.0
MONDAY_10 = datetime(2026, 11, 23, 10, 0, tzinfo=ZoneInfo("Europe/Paris")).timestamp()


class Truth:
    """The true time, moved by the test."""

    def __init__(self) -> None:
        self.t = MONDAY_10

    def __call__(self) -> float:
        return self.t


class Machine:
    """A device's machine: its wall clock (the true time plus ``skew``), its monotonic clock
    (true seconds since it booted) and its boot id. NTP steps its wall clock (``step``); a
    power cut reboots it on another clock (``reboot``)."""

    def __init__(self, truth: Truth, skew: float = 0.0) -> None:
        self.truth, self.skew = truth, skew
        self.booted = truth()
        self.boot = uuid.uuid4().hex

    def wall(self) -> float:
        return self.truth() + self.skew

    def monotonic(self) -> float:
        return self.truth() - self.booted

    def step(self, seconds: float) -> None:
        self.skew += seconds

    def reboot(self, skew: float) -> None:
        self.skew, self.booted, self.boot = skew, self.truth(), uuid.uuid4().hex


@dataclass
class Kiosk:
    core: KioskCore
    sync: SyncWorker
    journal: Journal

    def issue(self) -> str:
        result = self.core.issue("civil")
        assert result.ticket is not None
        self.sync.run_once()
        return result.ticket.label


@dataclass
class Board:
    core: BoardCore
    sync: SyncWorker
    journal: Journal


class Site:
    def __init__(self, tmp: Path, server: ServerThread, printer: VirtualPrinter) -> None:
        self.tmp, self.server, self.printer = tmp, server, printer
        self.truth = Truth()
        server.ctx.wall = self.truth
        server.ctx.clock = HybridClock("server", self.truth)
        self.config = site_config()
        self.tokens = server.load_site(self.config)
        server.add_user("manon", "manager-password", "manager", [SITE])
        self.journals: list[Journal] = []
        self.closers: list[Callable[[], object]] = []

    def journal(self, device: str, skew: float, machine: Machine | None = None) -> Journal:
        path = self.tmp / f"{device}.sqlite3"
        if machine is None:
            j = Journal(path, SITE, device, wall=self._wall(skew))
        else:
            j = Journal(
                path,
                SITE,
                device,
                wall=machine.wall,
                monotonic=machine.monotonic,
                boot_id=machine.boot,
                key=peer_key(self.tokens[device]),  # signed, as a device's: others relay them
            )
        self.journals.append(j)
        return j

    def _wall(self, skew: float) -> Callable[[], float]:
        return lambda: self.truth() + skew

    def client(self, device: str) -> SyncClient:
        c = SyncClient(self.server.url, self.tokens[device], device)
        self.closers.append(c.session.close)
        return c

    def kiosk(
        self,
        device: str,
        skew: float = 0.0,
        *,
        synced: bool = True,
        machine: Machine | None = None,
    ) -> Kiosk:
        """A kiosk whose wall clock is the true time plus ``skew``; on ``machine``, that
        machine's clocks (its steps found by its journal)."""
        j = self.journal(device, skew, machine)
        settings = KioskSettings(
            site=SITE,
            device_id=device,
            journal_path=j.path,
            printer=PrinterSettings.model_validate(
                {"transport": {"kind": "network", "host": "127.0.0.1", "port": self.printer.port}}
            ),
        )
        wall = j.clock.wall_seconds
        core = KioskCore(settings, j, self.config, open_printer(settings.printer), wall)
        self.closers.append(core.printer.close)

        def learnt(events: list[Event]) -> None:
            core.apply_events(events)

        sync = SyncWorker(
            j,
            self.client(device),
            interval=1,
            services_for_leases=["civil"],
            today=core.today,
            on_events=learnt,
        )
        if synced:
            sync.run_once()
        return Kiosk(core, sync, j)

    def board(self, device: str, skew: float = 0.0, *, online: bool = True) -> Board:
        j = self.journal(device, skew)
        core = BoardCore(
            self.config.to_domain(),
            j,
            client=self.client(device) if online else None,
            wall=j.clock.wall_seconds,
        )
        sync = SyncWorker(j, self.client(device), interval=1, on_events=core.receive)
        sync.run_once()
        return Board(core, sync, j)

    def press_next(self, board: Board, counter: str) -> str | None:
        board.sync.run_once()
        outcome = board.core.press(Press(counter, Action.NEXT))
        return outcome.ticket

    def stats_answer(self, first: str, last: str) -> Any:
        """The server's statistics API answer for these days (a manager's)."""
        r = requests.get(
            f"{self.server.url}/api/v1/sites/{SITE}/stats",
            params={"from": first, "to": last},
            auth=("manon", "manager-password"),
            timeout=10,
        )
        r.raise_for_status()
        return r.json()

    def stats(self, first: str = "2026-11-22", last: str = "2026-11-24") -> dict[str, object]:
        """The one day of service "civil" these days hold."""
        days = [d for d in self.stats_answer(first, last)["days"] if d["service"] == "civil"]
        assert len(days) == 1, days
        out: dict[str, object] = days[0]
        return out

    def close(self) -> None:
        for close in self.closers:
            close()
        for j in self.journals:
            j.close()

    def server_queue(self) -> Any:
        """The server's queue API answer (``GET /api/v1/sites/{site}/queue``)."""
        r = requests.get(
            f"{self.server.url}/api/v1/sites/{SITE}/queue",
            headers={"Authorization": f"Bearer {self.tokens['board-a']}"},
            timeout=10,
        )
        r.raise_for_status()
        return r.json()

    def queue_labels(self) -> list[str]:
        return [t["label"] for t in self.server_queue()["waiting"] if t["service"] == "civil"]
