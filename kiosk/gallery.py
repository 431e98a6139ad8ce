"""Screenshots of every kiosk screen, for the documentation and design reviews.

``python -m kiosk.gallery docs/screenshots`` runs a demo kiosk (the example town hall, a Monday
at 10:00, four weeks of made-up history, a virtual printer on loopback) in a window of each
size and language, walks through every screen by simulated touches, and saves
``kiosk-<screen>-<W>x<H>-<lang>.png``. Needs a display (Xvfb) or Kivy's offscreen fallback.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

SITE_FILE = Path(__file__).resolve().parents[1] / "config" / "examples" / "site-townhall.toml"
SIZES = ((1024, 600), (1920, 1080), (600, 1024))
DEMO_START = datetime(2026, 11, 23, 10, 0, tzinfo=ZoneInfo("Europe/Paris"))


class DemoClock:
    """A wall clock set to a chosen instant that then runs with real time."""

    def __init__(self, at: datetime) -> None:
        self.set(at)

    def set(self, at: datetime) -> None:
        self.base, self.t0 = at.timestamp(), time.monotonic()

    def __call__(self) -> float:
        return self.base + time.monotonic() - self.t0


def make_history(core: Any, clock: DemoClock, start: datetime) -> None:
    """Four weeks of passport tickets, busy mornings and a quiet early afternoon."""
    for day in range(28, 0, -1):
        date = start - timedelta(days=day)
        for hour, count in ((9, 3), (10, 4), (11, 2), (14, 1), (15, 2), (16, 3)):
            for k in range(count):
                clock.set(date.replace(hour=hour, minute=5 + 10 * k))
                core.take_number("passeports", None, "fr")
    clock.set(start)


def tour(driver: Any, shot: Callable[[str], None], simulate: Callable[[str | None], None]) -> None:
    """Every screen once: idle, services, priority, long wait, ticket, check-in, printer
    fault."""
    d = driver
    shot("idle")
    d.tap(d.screen("idle").ids.touch_area)
    d.wait_until(lambda: d.current == "services")
    shot("services")
    d.tap(d.screen("services").ids.priority_button)
    d.wait_until(lambda: d.current == "priority")
    shot("priority")
    d.tap(d.screen("priority").ids.reasons.children[-1])
    d.wait_until(lambda: d.current == "services")
    shot("services-priority")
    d.tap(d.screen("services").ids.priority_button)  # back to a standard ticket
    d.tap(d.card("passeports"))
    d.wait_until(lambda: d.current == "longwait")
    shot("longwait")
    d.tap(d.screen("longwait").ids.anyway)
    ticket = d.screen("ticket")
    d.wait_until(lambda: d.current == "ticket" and ticket.state != "printing", 10)
    shot("ticket")
    d.tap(ticket.ids.done)
    d.wait_until(lambda: d.current == "idle")
    d.app.open_check_in()  # the idle screen's button, on a site that takes appointments
    d.wait_until(lambda: d.current == "checkin")
    shot("checkin")
    d.tap(d.screen("checkin").key("back"))
    d.wait_until(lambda: d.current == "idle")
    simulate("paper_out")
    d.app.check_printer()
    d.wait_until(lambda: d.app.printer_state == "paper_out", 5)
    d.tap(d.screen("idle").ids.touch_area)
    d.wait_until(lambda: d.current == "services")
    shot("services-printer-fault")
    d.tap(d.card("ccas"))  # no wait there: straight to the ticket
    d.wait_until(lambda: d.current == "ticket" and ticket.state != "printing", 10)
    shot("printer-fault")
    simulate(None)
    d.app.check_printer()
    d.wait_until(lambda: d.app.printer_state == "ready", 5)
    d.tap(ticket.ids.done)
    d.wait_until(lambda: d.current == "idle")


def render(out: Path, size: tuple[int, int], lang: str) -> list[Path]:
    """One window size and language, in this process (Kivy not started yet)."""
    work = Path(tempfile.mkdtemp(prefix="kiosk-gallery-"))
    os.environ.setdefault("KIVY_NO_CONSOLELOG", "1")
    os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
    from config.kiosk import KioskSettings
    from config.printer import NetworkTransport, PrinterSettings
    from kiosk.main import prepare_kivy
    from printer.virtual import VirtualPrinter

    saved: list[Path] = []
    with VirtualPrinter(work / "printed") as printer:
        settings = KioskSettings(
            site="mairie",
            device_id="kiosk-entree",
            journal_path=work / "journal.sqlite3",
            site_file=SITE_FILE,
            fullscreen=False,
            window_size=size,
            appointment_url="https://mairie-saint-exemple.fr/rendez-vous",
            printer=PrinterSettings(
                transport=NetworkTransport(host="127.0.0.1", port=printer.port)
            ),
        )
        prepare_kivy(settings, work / "kivy")
        from kiosk.runtime import KioskRuntime
        from kiosk.selftest import KioskDriver

        clock = DemoClock(DEMO_START - timedelta(days=29))
        runtime = KioskRuntime(settings, clock=clock)
        make_history(runtime.core, clock, DEMO_START)
        for service, n in (("etat-civil", 3), ("passeports", 4)):
            for _ in range(n):
                runtime.core.take_number(service, None, "fr")
        driver = KioskDriver(runtime, size)
        try:
            driver.app.default_language = lang
            driver.app.set_language(lang)
            tag = f"{size[0]}x{size[1]}-{lang}"

            def shot(name: str) -> None:
                saved.append(driver.screenshot(out / f"kiosk-{name}-{tag}.png"))

            tour(driver, shot, printer.simulate)
        finally:
            driver.close()
            runtime.close()
    return saved


def main(argv: Sequence[str] | None = None) -> int:
    """``OUT`` renders every size in its own process (a Kivy window keeps its first size when
    drawn offscreen); ``OUT WxH LANG`` renders one."""
    args = list(sys.argv[1:] if argv is None else argv)
    out = Path(args[0] if args else "docs/screenshots")
    if len(args) == 3:
        w, h = (int(v) for v in args[1].split("x"))
        for path in render(out, (w, h), args[2]):
            print(path)
        return 0
    runs = [
        (size, lang) for size in SIZES for lang in (("fr", "en") if size == SIZES[0] else ("fr",))
    ]
    for size, lang in runs:
        cmd = [sys.executable, "-m", "kiosk.gallery", str(out), f"{size[0]}x{size[1]}", lang]
        done = subprocess.run(cmd, check=False)
        if done.returncode != 0:
            return done.returncode
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
