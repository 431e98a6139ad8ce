"""Fixtures of the kiosk's tests: a fixed site clock, a journal and a virtual printer on
loopback, kiosk settings and runtime, and the kiosk app driven under Xvfb.

Kivy reads its environment once, at its first import: it is set here, before any test module
imports it.
"""

from __future__ import annotations

import os
import tempfile

os.environ.setdefault("KIVY_NO_ARGS", "1")
os.environ.setdefault("KIVY_HOME", tempfile.mkdtemp(prefix="guichet-kivy-"))
os.environ.setdefault("KIVY_NO_CONSOLELOG", "1")
os.environ.setdefault("KIVY_NO_FILELOG", "1")
os.environ.setdefault("KIVY_USE_DEFAULTCONFIG", "1")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")

import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from kivy.config import Config

from config.kiosk import KioskSettings
from config.loader import load_model
from config.site import SiteConfig
from printer.virtual import VirtualPrinter
from tests.printer.conftest import STATUS_PATIENCE

# The tests advance Kivy frame by frame (KioskDriver / BoardDriver ``frames``): under Kivy's
# default 60 fps cap each frame first sleeps until its 1/60 s slot, time spent only waiting.
# Kivy reads the cap once, when kivy.clock is first imported, which no test module does at
# collection. A test that needs time to pass (nothing may happen within a window) paces its
# frames itself (tests/kiosk/test_listen.py, tests/kiosk/test_checkin_screen.py).
Config.set("graphics", "maxfps", "0")

ROOT = Path(__file__).resolve().parents[2]
SITE_FILE = ROOT / "config" / "examples" / "site-townhall.toml"
PARIS = ZoneInfo("Europe/Paris")
MONDAY_10 = datetime(2026, 11, 23, 10, 0, tzinfo=PARIS)
"""A Monday: état civil, passeports and CCAS open (8:30-12:00), urbanisme closed."""


class SiteClock:
    """Wall time for a kiosk: starts at a chosen instant and runs with real time, so the
    journal's clock still moves forward between two events."""

    def __init__(self, start: datetime = MONDAY_10) -> None:
        self.base = start.timestamp()
        self.t0 = time.monotonic()

    def __call__(self) -> float:
        return self.base + (time.monotonic() - self.t0)

    def set(self, at: datetime) -> None:
        self.base = at.timestamp()
        self.t0 = time.monotonic()


def paced_frames(driver: Any, n: int, fps: float = 60.0) -> None:
    """``n`` frames at most ``fps`` a second, as Kivy's own cap would pace them: for a test
    that something does not happen within a window (time and frames both pass)."""
    for _ in range(n):
        start = time.monotonic()
        driver.frames(1)
        time.sleep(max(0.0, 1 / fps - (time.monotonic() - start)))


@pytest.fixture(scope="session")
def site_config() -> SiteConfig:
    return load_model(SiteConfig, SITE_FILE)


@pytest.fixture
def site_clock() -> SiteClock:
    return SiteClock()


@pytest.fixture
def printer(tmp_path: Path) -> Iterator[VirtualPrinter]:
    """A virtual ESC/POS printer listening on 127.0.0.1 (a free port)."""
    with VirtualPrinter(tmp_path / "printed") as vp:
        yield vp


@pytest.fixture
def make_settings(tmp_path: Path, printer: VirtualPrinter) -> Callable[..., KioskSettings]:
    """Kiosk settings printing over TCP to the virtual printer; keyword overrides."""

    def make(**overrides: Any) -> KioskSettings:
        values: dict[str, Any] = {
            "site": "mairie",
            "device_id": "kiosk-entree",
            "journal_path": tmp_path / "kiosk.sqlite3",
            "site_file": SITE_FILE,
            "fullscreen": False,
            "appointment_url": "https://mairie-saint-exemple.fr/rendez-vous",
            "printer": {
                "transport": {"kind": "network", "host": "127.0.0.1", "port": printer.port},
                "timeout_seconds": STATUS_PATIENCE,
                # a loaded machine's slow answer is not a printer that does not answer
                "status_timeout_seconds": STATUS_PATIENCE,
            },
        }
        values.update(overrides)
        return KioskSettings(**values)

    return make


@pytest.fixture
def open_ui(
    make_settings: Callable[..., KioskSettings], site_clock: SiteClock
) -> Iterator[Callable[..., Any]]:
    """``open_ui(size, **settings overrides)``: a kiosk app driven in this process."""
    from kiosk.runtime import KioskRuntime
    from kiosk.selftest import KioskDriver

    opened: list[tuple[KioskDriver, KioskRuntime]] = []

    def open_(size: tuple[int, int] = (1024, 600), **overrides: Any) -> KioskDriver:
        runtime = KioskRuntime(make_settings(**overrides), clock=site_clock)
        driver = KioskDriver(runtime, size)
        opened.append((driver, runtime))
        return driver

    yield open_
    for driver, runtime in opened:
        driver.close()
        runtime.close()
