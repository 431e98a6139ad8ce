"""Driving the kiosk by simulated touches, without its main loop: the demo's self-test, the
Kivy tests and the touch benchmark all use ``KioskDriver``.

``run_selftest`` takes tickets on a kiosk configured by a TOML file, saves a screenshot of
every screen it goes through, and says whether every step was seen.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from config.kiosk import KioskSettings
from config.loader import load_settings
from kiosk.main import prepare_kivy

log = logging.getLogger(__name__)


class KioskDriver:
    """A kiosk app in this process, advanced frame by frame and tapped like a finger would.

    Kivy's environment must be prepared (``prepare_kivy``) before the first Kivy import.
    """

    def __init__(self, runtime: Any, size: tuple[int, int] = (1024, 600)) -> None:
        from kivy.base import EventLoop
        from kivy.core.window import Window

        from kiosk.app import KioskApp

        EventLoop.ensure_window()
        self._loop = EventLoop
        self.read_window_events = False
        """Also read the window's own input (real X key and mouse events), as Kivy's main loop
        does after each frame; off by default: most tests touch by simulated touches only."""
        self.window = Window
        self.resize(size)
        self.runtime = runtime
        self.app = KioskApp(runtime)
        self.app._run_prepare()
        self.frames(3)

    # ---- time and frames ------------------------------------------------------------------
    def frames(self, n: int = 1) -> None:
        for _ in range(n):
            self._loop.idle()
            if self.read_window_events:
                self.window.mainloop()

    def wait_until(self, condition: Callable[[], bool], timeout: float = 5.0) -> bool:
        """Advances frames until ``condition()`` holds; False after ``timeout`` seconds."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            self.frames()
            if condition():
                return True
            time.sleep(0.005)
        return condition()

    def settle(self) -> None:
        """Lets the screen transition finish and the layout settle."""
        sm: Any = self.app.sm
        self.wait_until(lambda: not sm.transition.is_active, 2.0)
        self.frames(10)  # text textures, then the layouts that depend on their size

    def _ready_for_touch(self) -> None:
        """A screen manager ignores touches while a transition runs, as a finger would be."""
        sm: Any = self.app.sm
        self.wait_until(lambda: not sm.transition.is_active, 2.0)
        self.frames(1)

    def resize(self, size: tuple[int, int]) -> None:
        self.window.size = size
        self.frames(2)

    # ---- touching -------------------------------------------------------------------------
    def tap(self, widget: Any) -> None:
        from kivy.tests.common import UnitTestTouch

        self._ready_for_touch()
        x, y = widget.to_window(*widget.center)
        touch = UnitTestTouch(x, y)
        touch.touch_down()
        self.frames(1)
        touch.touch_up()
        self.frames(2)

    def tap_at(self, x: float, y: float) -> None:
        from kivy.tests.common import UnitTestTouch

        self._ready_for_touch()
        touch = UnitTestTouch(x, y)
        touch.touch_down()
        self.frames(1)
        touch.touch_up()
        self.frames(2)

    # ---- looking --------------------------------------------------------------------------
    @property
    def current(self) -> str:
        return str(self.app.current)

    def screen(self, name: str) -> Any:
        return self.app.screen(name)

    def card(self, service_id: str) -> Any:
        """The card of ``service_id``, on screen: turns to its page when the services need more
        than one."""
        card = self.screen("services").reveal(service_id)
        self.frames(2)
        return card

    def screenshot(self, path: Path) -> Path:
        """Saves the window to exactly ``path`` (PNG)."""
        self.settle()
        path.parent.mkdir(parents=True, exist_ok=True)
        written = self.window.screenshot(name=str(path.with_suffix("")) + "%(counter)s.png")
        shutil.move(written, path)
        return path

    def close(self) -> None:
        """Stops the app's clocks and removes its widgets; the window stays for the next app."""
        from kivy.clock import Clock

        app = self.app
        app.dispatch("on_stop")
        for event in list(Clock.get_events()):
            event.cancel()
        self.window.unbind(size=app._resized, on_touch_down=app._touched)
        for child in list(self.window.children):
            self.window.remove_widget(child)
        self.frames(1)


def take_ticket(driver: KioskDriver, service_id: str, shots: Callable[[str], None]) -> bool:
    """From the services screen, one ticket for ``service_id``; True when it printed."""
    driver.tap(driver.card(service_id))
    if not driver.wait_until(lambda: driver.current in ("ticket", "longwait"), 5):
        log.error("selftest: no screen after touching %s", service_id)
        return False
    if driver.current == "longwait":
        shots("longwait")
        driver.tap(driver.screen("longwait").ids.anyway)
        if not driver.wait_until(lambda: driver.current == "ticket", 5):
            return False
    ticket = driver.screen("ticket")
    shots("ticket-number")
    if not driver.wait_until(lambda: ticket.state != "printing", 15):
        log.error("selftest: the printer never answered")
        return False
    shots(f"ticket-{ticket.state}")
    result = driver.app.last_result
    ok = bool(ticket.state == "printed" and result is not None and result.printed)
    driver.tap(ticket.ids.done)
    return driver.wait_until(lambda: driver.current == "idle", 3) and ok


def run_selftest(
    config: Path,
    out_dir: Path,
    touches: int = 3,
    clock: Callable[[], float] | None = None,
) -> bool:
    """Runs the kiosk of ``config`` in a window, takes ``touches`` tickets by simulated taps on
    the open services in turn, saves ``kiosk-NN-<screen>.png`` into ``out_dir``, and returns
    True when every screen was reached and every ticket printed.

    Needs a display or Kivy's offscreen fallback, and must run in a process where Kivy has not
    started yet (one Kivy window per process). The kiosk must have open services at
    ``clock()`` (default: the real time).
    """
    settings = load_settings(KioskSettings, config).model_copy(update={"fullscreen": False})
    out_dir.mkdir(parents=True, exist_ok=True)
    kivy_home = Path(tempfile.mkdtemp(prefix="guichet-kivy-"))
    os.environ.setdefault("KIVY_NO_CONSOLELOG", "1")
    prepare_kivy(settings, kivy_home)
    from kiosk.runtime import KioskRuntime

    runtime = KioskRuntime(settings, clock=clock or time.time)
    step = 0

    def shot(name: str) -> None:
        nonlocal step
        step += 1
        driver.screenshot(out_dir / f"kiosk-{step:02d}-{name}.png")

    driver = KioskDriver(runtime, settings.window_size)
    ok = True
    try:
        shot("idle")
        # The services open when the test starts, taken in their order on screen; fixed once,
        # so a service that stops issuing half-way (closing time) cannot reorder the tickets.
        open_ids = [s.service.id for s in runtime.core.statuses() if s.can_issue]
        if not open_ids:
            log.error("selftest: no service is open now; nothing to take a ticket for")
            shot("services-closed")
            return False
        for i in range(touches):
            driver.tap(driver.screen("idle").ids.touch_area)
            if not driver.wait_until(lambda: driver.current == "services", 3):
                return False
            shot("services")
            ok = take_ticket(driver, open_ids[i % len(open_ids)], shot) and ok
        shot("idle-after")
        return ok
    finally:
        driver.close()
        runtime.close()
        shutil.rmtree(kivy_home, ignore_errors=True)
