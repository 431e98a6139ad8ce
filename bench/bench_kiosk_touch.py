"""Touch to first byte at the printer: how long after a finger leaves a service button the
printer starts receiving.

The kiosk app runs in this process (Kivy window under Xvfb or Kivy's offscreen fallback) and is
tapped with Kivy's test touches; the virtual ESC/POS printer listens on loopback behind a relay
that timestamps every chunk the kiosk sends. For each touch: the time from the touch's release
(when the button fires) to the first byte at the printer (the status query that precedes every
ticket) and to the paper cut command (the whole ticket received). In between, the kiosk has
journaled the ticket (SQLite, synchronous=FULL). Two runs: with the server on loopback (the
sync worker pushing every ticket) and with the server unreachable.

Targets: first byte p50 <= 30 ms, p99 <= 100 ms, with the server reachable or not.

    python bench/bench_kiosk_touch.py [--touches 100]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import sys
import tempfile
import threading
import time
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
for key, value in (
    ("KIVY_NO_ARGS", "1"),
    ("KIVY_NO_CONSOLELOG", "1"),
    ("KIVY_NO_FILELOG", "1"),
    ("KIVY_USE_DEFAULTCONFIG", "1"),
    ("SDL_AUDIODRIVER", "dummy"),
):
    os.environ.setdefault(key, value)

from config.device import ServerLink  # noqa: E402
from config.kiosk import KioskSettings  # noqa: E402
from config.printer import NetworkTransport, PrinterSettings  # noqa: E402
from config.server import ServerSettings  # noqa: E402
from printer.virtual import VirtualPrinter  # noqa: E402

SITE = """
[site]
id = "mairie"
name = "Mairie de Saint-Exemple"
lease_block = 50
[[services]]
id = "etat-civil"
prefix = "A"
names = { fr = "État civil", en = "Civil status" }
mean_service_minutes = 0.01
[services.hours]
mon = ["00:00-24:00"]
tue = ["00:00-24:00"]
wed = ["00:00-24:00"]
thu = ["00:00-24:00"]
fri = ["00:00-24:00"]
sat = ["00:00-24:00"]
sun = ["00:00-24:00"]
[[devices]]
id = "kiosk-entree"
role = "kiosk"
offline_range = [5000, 9999]
"""
CUT = b"\x1dV"


class Relay:
    """Forwards 127.0.0.1:port to the printer and notes when each chunk from the kiosk left."""

    def __init__(self, target_port: int) -> None:
        self.target = target_port
        self.chunks: list[tuple[float, bytes]] = []
        self.lock = threading.Lock()
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            up = socket.create_connection(("127.0.0.1", self.target))
            threading.Thread(target=self._up, args=(conn, up), daemon=True).start()
            threading.Thread(target=self._down, args=(up, conn), daemon=True).start()

    def _up(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                with self.lock:
                    self.chunks.append((time.perf_counter(), data))
                dst.sendall(data)
        except OSError:
            pass

    def _down(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass

    def after(self, t0: float) -> tuple[float | None, float | None]:
        """(first byte, cut) times after t0, as seconds from t0."""
        with self.lock:
            chunks = [(t, d) for t, d in self.chunks if t >= t0]
        first = chunks[0][0] - t0 if chunks else None
        cut = next((t - t0 for t, d in chunks if CUT in d), None)
        return first, cut


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def run(driver: Any, relay: Relay, touches: int) -> tuple[list[float], list[float]]:
    from kivy.tests.common import UnitTestTouch

    firsts: list[float] = []
    cuts: list[float] = []
    ticket = driver.screen("ticket")
    for _ in range(touches):
        driver.tap(driver.screen("idle").ids.touch_area)
        driver.wait_until(lambda: driver.current == "services")
        driver.settle()
        card = driver.card("etat-civil")
        touch = UnitTestTouch(*card.to_window(*card.center))
        touch.touch_down()
        driver.frames(1)
        t0 = time.perf_counter()
        touch.touch_up()  # the button fires on release
        if not driver.wait_until(
            lambda: ticket.state != "printing" and driver.current == "ticket", 10
        ):
            raise RuntimeError("no ticket")
        first, cut = relay.after(t0)
        if first is None or cut is None:
            raise RuntimeError("the printer received nothing")
        firsts.append(first * 1000)
        cuts.append(cut * 1000)
        driver.tap(ticket.ids.done)
        driver.wait_until(lambda: driver.current == "idle")
    return firsts, cuts


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--touches", type=int, default=100)
    args = p.parse_args()
    from kiosk.main import prepare_kivy

    results: dict[str, tuple[list[float], list[float]]] = {}
    with tempfile.TemporaryDirectory() as tmp, VirtualPrinter(Path(tmp) / "printed") as printer:
        folder = Path(tmp)
        site_file = folder / "site.toml"
        site_file.write_text(SITE, encoding="utf-8")
        relay = Relay(printer.port)
        from server.run import ServerThread

        server = ServerThread(ServerSettings(database_url=f"sqlite:///{folder}/server.db")).start()
        token = server.load_site(site_file)["kiosk-entree"]
        dead = socket.socket()
        dead.bind(("127.0.0.1", 0))  # a port nobody listens on: the server unreachable
        dead_url = f"http://127.0.0.1:{dead.getsockname()[1]}"
        try:
            for name, url in (("server reachable", server.url), ("server unreachable", dead_url)):
                settings = KioskSettings(
                    site="mairie",
                    device_id="kiosk-entree",
                    journal_path=folder / f"{name.split()[1]}.sqlite3",
                    site_file=site_file,
                    fullscreen=False,
                    long_wait_minutes=1440,  # the longest allowed: never the long-wait screen here
                    server=ServerLink.model_validate(
                        {"url": url, "token": token, "sync_interval_seconds": 1.0}
                    ),
                    printer=PrinterSettings(
                        transport=NetworkTransport(host="127.0.0.1", port=relay.port)
                    ),
                )
                prepare_kivy(settings, folder / "kivy")
                from kiosk.runtime import KioskRuntime
                from kiosk.selftest import KioskDriver

                runtime = KioskRuntime(settings)
                driver = KioskDriver(runtime, (1024, 600))
                try:
                    if name == "server reachable":
                        driver.wait_until(partial(lambda a: a.sync_state == "online", driver.app))
                    run(driver, relay, 5)  # warm-up: first connection, first renders
                    results[name] = run(driver, relay, args.touches)
                    print(f"  ({name}: sync state {driver.app.sync_state})")
                finally:
                    driver.close()
                    runtime.close()
        finally:
            server.stop()
            dead.close()
    print(f"Kiosk touch to printer, {args.touches} touches each (milliseconds)")
    for name, (firsts, cuts) in results.items():
        print(
            f"  {name:<19} first byte median {statistics.median(firsts):6.1f}"
            f"  p99 {percentile(firsts, 0.99):6.1f}"
            f"   | whole ticket median {statistics.median(cuts):6.1f}"
            f"  p99 {percentile(cuts, 0.99):6.1f}"
        )
    print("  targets: first byte p50 <= 30 ms, p99 <= 100 ms")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception:  # Kivy routes stderr to its (silenced) logger: say it plainly
        import traceback

        traceback.print_exc(file=sys.__stderr__)
        sys.exit(1)
