"""A whole simulated site on this machine: the real server on loopback, kiosk and board
processes, a virtual printer per kiosk, a relay on every link, and the faults of the day.

Links: each device reaches the server through its own relay, and each of its peers through
a relay of the pair, so the simulator can stop the server, cut the LAN, or both. A device
that restarts listens on a new port; the relays towards it follow.
"""

from __future__ import annotations

import logging
import random
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from config.server import ServerSettings
from config.site import SiteConfig
from guichet.firstboot import dumps
from guichet.sim.clock import SimClock
from guichet.sim.config import SimConfig
from guichet.sim.process import DeviceDown, DeviceProcess
from guichet.sim.proxy import Relay
from guichet.sim.record import Record
from guichet.sim.site import board_ids, kiosk_ids, sim_site
from printer.virtual import VirtualPrinter
from server.context import SERVER_NODE
from server.run import ServerThread
from tickets.hlc import HybridClock

log = logging.getLogger(__name__)
MANAGER = ("simulateur", "simulateur-password")
SYNC_INTERVAL = 0.2
"""Real seconds between two syncs of a device (a day runs many times faster than real)."""
APPOINTMENTS_REFRESH = 86400.0
"""Real seconds between two fetches of the day's appointments by a kiosk's own timer: once at
start only. The simulator has each kiosk fetch them at the pace of a day on site, in simulated
time, on the kiosk's I/O worker (``guichet.sim.appointments``)."""


def _port(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


@dataclass
class Faults:
    kills: int = 0
    restarts: int = 0
    server_stops: int = 0
    lan_cuts: int = 0
    server_cuts: int = 0
    clock_boots: int = 0
    skewed: dict[str, float] = field(default_factory=dict)


class World:
    def __init__(self, cfg: SimConfig, out: Path | None = None) -> None:
        self.cfg = cfg
        self.out = out if out is not None else cfg.simulation.output
        self.site_config: SiteConfig = sim_site(cfg)
        self.site = self.site_config.to_domain()
        self.kiosk_names = kiosk_ids(cfg.simulation.kiosks)
        self.board_names = board_ids(cfg.simulation.boards)
        self.names = self.kiosk_names + self.board_names
        self.rng = random.Random(cfg.simulation.seed * 7919)
        self.faults = Faults(skewed=dict(cfg.chaos.skew_seconds))
        self.server: ServerThread | None = None
        self.tokens: dict[str, str] = {}
        self.wan: dict[str, Relay] = {}
        self.lan: dict[tuple[str, str], Relay] = {}
        self.printers: dict[str, VirtualPrinter] = {}
        self.devices: dict[str, DeviceProcess] = {}
        self._server_lock = threading.Lock()
        self._cut_from_server: set[str] = set()
        self.clock = SimClock.starting(0.0, cfg.simulation.speedup)  # set in prepare()
        self.device_starts: list[float] = []
        """How long starting the devices took (real seconds), each time it was done before
        the day (again when the day had begun before they were all up)."""
        self.record: Record | None = None
        self.counter_board: dict[str, str] = {}
        """Which board each staffed counter's button box is wired to."""

    # ---- building the site ----------------------------------------------------------------
    def prepare(
        self, lead_real_seconds: float = 5.0, before_devices: Callable[[], None] | None = None
    ) -> None:
        """Folders, server, relays, printers, device processes, all started; the simulated
        day begins ``lead_real_seconds`` after this is called (devices start meanwhile), or,
        when the devices were not all up by then, once they are started again with twice the
        time they took (``device_starts``).
        ``before_devices`` runs once the server is up, before any device starts (the
        appointments booked ahead)."""
        s = self.cfg.simulation
        if self.out.exists():
            for name in ("devices", "printed", "server.db", "server.db-wal", "server.db-shm"):
                target = self.out / name
                if target.is_dir():
                    shutil.rmtree(target)
                elif target.exists():
                    target.unlink()
        self.out.mkdir(parents=True, exist_ok=True)
        start = self.cfg.instant(s.start, self.site.tz)
        self.clock = SimClock.starting(start - lead_real_seconds * s.speedup, s.speedup)
        self.record = Record(self.out / "record.jsonl")
        site_file = self.out / "site.toml"
        site_file.write_text(
            dumps(self.site_config.model_dump(mode="json", exclude_none=True)), encoding="utf-8"
        )
        self.start_server()
        assert self.server is not None
        self.tokens = self.server.load_site(self.site_config)
        self.server.add_user(*MANAGER, "manager", [self.site.id])
        if before_devices is not None:
            before_devices()
            # The day starts ``lead_real_seconds`` from now, however long that took.
            self.clock = SimClock.starting(start - lead_real_seconds * s.speedup, s.speedup)
            self.server.ctx.wall = self.clock.true_time
            self.server.ctx.clock = HybridClock(SERVER_NODE, self.clock.true_time)
        for name in self.names:
            self.wan[name] = Relay(("127.0.0.1", _port(self.server.url)), f"wan-{name}").start()
        for a in self.names:
            for b in self.names:
                if a != b:
                    self.lan[(a, b)] = Relay(None, f"lan-{a}-{b}").start()
        for k in self.kiosk_names:
            vp = VirtualPrinter(self.out / "printed" / k)
            vp.start()
            self.printers[k] = vp
        lead = lead_real_seconds
        for attempt in range(3):
            took = self._start_devices(site_file)
            self.device_starts.append(round(took, 1))
            if self.clock.true_time() < start or attempt == 2:
                break
            # The day began before every device was up (a busy machine starts processes
            # slowly): its first minutes would be played without them. They start again, on a
            # day that begins long enough after this for them to be up.
            for d in self.devices.values():
                d.close()
            shutil.rmtree(self.out / "devices")
            lead = max(2 * lead, lead_real_seconds + 2 * took)
            self.clock = SimClock.starting(start - lead * s.speedup, s.speedup)
            self.server.ctx.wall = self.clock.true_time
            self.server.ctx.clock = HybridClock(SERVER_NODE, self.clock.true_time)
        missing = [n for n in self.names if not self.devices[n].alive]
        if missing:
            raise RuntimeError(f"devices did not start: {missing} (see {self.out}/devices)")

    def _start_devices(self, site_file: Path) -> float:
        """Starts every device process on the current clock; returns how long that took (real
        seconds)."""
        began = time.monotonic()
        for name in self.names:
            self.devices[name] = DeviceProcess(
                name, self._spec(name, site_file), self.out / "devices"
            )
        threads = [
            threading.Thread(target=self.start_device, args=(n,), daemon=True) for n in self.names
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return time.monotonic() - began

    def _spec(self, name: str, site_file: Path) -> dict[str, Any]:
        settings: dict[str, Any] = {
            "site": self.site.id,
            "device_id": name,
            "journal_path": str(self.out / "devices" / f"{name}.sqlite3"),
            "site_file": str(site_file),
            "server": {
                "url": self.wan[name].url,
                "token": self.tokens[name],
                "sync_interval_seconds": SYNC_INTERVAL,
                "timeout_seconds": 1.0,
                # A minute of backoff on site, in simulated time.
                "max_backoff_seconds": max(SYNC_INTERVAL, 60.0 / self.cfg.simulation.speedup),
            },
            "peers": {
                "listen": "127.0.0.1:0",
                "urls": [self.lan[(name, other)].url for other in self.names if other != name],
                "interval_seconds": 0.3,
                "timeout_seconds": 1.0,
                "keys_interval_seconds": 60.0,
                # Half a minute of backoff on site, in simulated time.
                "max_backoff_seconds": max(0.3, 30.0 / self.cfg.simulation.speedup),
            },
        }
        if name in self.printers:
            role = "kiosk"
            settings["appointments_refresh_seconds"] = APPOINTMENTS_REFRESH
            settings["printer"] = {
                "transport": {
                    "kind": "network",
                    "host": "127.0.0.1",
                    "port": self.printers[name].port,
                },
                "timeout_seconds": 2.0,
                # The virtual printer shares the simulator's process with the server: under
                # load it answers a status request in more than the default half second.
                "status_timeout_seconds": 2.0,
            }
        else:
            role = "display"
            settings["buttons"] = {"virtual": True}
            settings["audio"] = {"enabled": False, "cache_dir": str(self.out / "audio")}
            settings["action_timeout_seconds"] = 0.5
            settings["offline_retry_seconds"] = 1.0
        clock = self.clock.skewed(self.faults.skewed.get(name, 0.0))
        return {"role": role, "settings": settings, "clock": clock.to_json()}

    # ---- devices ----------------------------------------------------------------------------
    def start_device(self, name: str) -> None:
        d = self.devices[name]
        try:
            d.start()
        except DeviceDown as exc:
            log.error("%s", exc)
            return
        for other in self.names:
            if other != name:
                self.lan[(other, name)].set_target(("127.0.0.1", _port(d.peer_url)))

    def kill(self, name: str) -> None:
        d = self.devices[name]
        if not d.alive:
            return
        for other in self.names:
            if other != name:
                self.lan[(other, name)].set_target(None)
        d.kill()
        self.faults.kills += 1
        assert self.record is not None
        self.record.fault("kill", self.clock.true_time(), device=name)

    def restart(self, name: str) -> None:
        if self.devices[name].alive:
            return
        self.start_device(name)
        self.faults.restarts += 1
        assert self.record is not None
        self.record.fault("restart", self.clock.true_time(), device=name)

    def boot_with_clock(self, name: str, skew: float) -> None:
        """A power cut: ``name`` is killed and boots again at once with its wall clock
        ``skew`` seconds off (true time plus ``skew``; never before 01:00 on 1 January 1970,
        where a board without a saved time boots), until it is killed again."""
        skew = max(skew, 3600.0 - self.clock.true_time())
        self.kill(name)
        boot = f"boot-{self.faults.clock_boots + 1}"
        self.devices[name].spec["clock"] = self.clock.rebooted(skew, boot).to_json()
        self.faults.clock_boots += 1
        assert self.record is not None
        self.record.fault("clock_boot", self.clock.true_time(), device=name, skew=skew)
        self.restart(name)

    # ---- the server -------------------------------------------------------------------------
    def start_server(self) -> None:
        with self._server_lock:
            if self.server is not None:
                return
            db = self.out / "server.db"
            server = ServerThread(ServerSettings(database_url=f"sqlite:///{db}"))
            server.ctx.wall = self.clock.true_time
            server.ctx.clock = HybridClock(SERVER_NODE, self.clock.true_time)
            server.start()
            self.server = server
            for relay in self.wan.values():
                relay.set_target(("127.0.0.1", _port(server.url)))

    def stop_server(self) -> None:
        with self._server_lock:
            server, self.server = self.server, None
            for name, relay in self.wan.items():
                relay.set_target(None)
                relay.set_mode("reset")
                if name not in self._cut_from_server:
                    relay.set_mode("pass")
        if server is not None:
            server.stop()
            self.faults.server_stops += 1

    @property
    def engine(self) -> Any:
        assert self.server is not None
        return self.server.ctx.engine

    # ---- the LAN ----------------------------------------------------------------------------
    def cut_lan(self) -> None:
        for relay in self.lan.values():
            relay.set_mode("drop")
        self.faults.lan_cuts += 1

    def heal_lan(self) -> None:
        for relay in self.lan.values():
            relay.set_mode("pass")

    def cut_from_server(self, name: str) -> None:
        """``name`` no longer reaches the server (its peers it still does)."""
        with self._server_lock:
            self._cut_from_server.add(name)
            self.wan[name].set_mode("reset")
        self.faults.server_cuts += 1

    def reconnect_to_server(self, name: str) -> None:
        with self._server_lock:
            self._cut_from_server.discard(name)
            self.wan[name].set_mode("pass")

    # ---- the end ----------------------------------------------------------------------------
    def heal(self) -> None:
        """Every fault ends: server up, LAN up, every device running."""
        self.start_server()
        self.heal_lan()
        for name in list(self._cut_from_server):
            self.reconnect_to_server(name)
        for name in self.names:
            if not self.devices[name].alive:
                self.restart(name)

    def converge(self, timeout: float = 120.0) -> dict[str, dict[str, Any]]:
        """Syncs every device until all outboxes are empty and everyone holds the same
        events as the server; returns each device's dump (what it folded)."""
        from guichet.sim.checks import server_events

        deadline = time.monotonic() + timeout
        dumps_: dict[str, dict[str, Any]] = {}
        while time.monotonic() < deadline:
            dumps_ = {}
            for name in self.names:
                d = self.devices[name]
                try:
                    d.call("sync", timeout=30)
                    dumps_[name] = d.call("dump", timeout=30)
                except (DeviceDown, TimeoutError):
                    self.restart(name)
            count = len(server_events(self.engine, self.site.id))
            if len(dumps_) == len(self.names) and all(
                x["backlog"] == 0 and x["events"] == count for x in dumps_.values()
            ):
                digests = {x["digest"] for x in dumps_.values()}
                if len(digests) == 1:
                    return dumps_
            time.sleep(0.3)
        return dumps_

    def close(self) -> None:
        for d in self.devices.values():
            d.close()
        for relay in [*self.wan.values(), *self.lan.values()]:
            relay.stop()
        for vp in self.printers.values():
            vp.stop()
        with self._server_lock:
            server, self.server = self.server, None
        if server is not None:
            server.stop()
        if self.record is not None:
            self.record.close()
