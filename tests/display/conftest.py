"""Fixtures of the display board's tests: a site, a journal on disk, board settings, Kivy.

Kivy reads its environment once, at its first import: it is set here, before any test module
imports it (no command-line parsing, settings and logs in a temporary folder, no sound).
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

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kivy.config import Config

from config.loader import load_model
from config.site import SiteConfig
from tests.display.helpers import Kiosk
from tickets.journal import Journal
from tickets.model import Site

# The tests advance Kivy frame by frame (KioskDriver / BoardDriver ``frames``): under Kivy's
# default 60 fps cap each frame first sleeps until its 1/60 s slot, time spent only waiting.
# Kivy reads the cap once, when kivy.clock is first imported, which no test module does at
# collection. A test that needs time to pass (nothing may happen within a window) paces its
# frames itself (tests/kiosk/test_listen.py, tests/kiosk/test_checkin_screen.py).
Config.set("graphics", "maxfps", "0")

ROOT = Path(__file__).resolve().parents[2]
SITE_FILE = ROOT / "config" / "examples" / "site-townhall.toml"


@pytest.fixture(scope="session")
def site() -> Site:
    return load_model(SiteConfig, SITE_FILE).to_domain()


@pytest.fixture
def journal(tmp_path: Path, site: Site) -> Iterator[Journal]:
    j = Journal(tmp_path / "board.sqlite3", site.id, "board-salle")
    yield j
    j.close()


@pytest.fixture
def kiosk(site: Site) -> Kiosk:
    return Kiosk(site)


@pytest.fixture
def drivers() -> Iterator[list[Any]]:
    """Boards driven in this process (``display.selftest.BoardDriver``), closed after."""
    made: list[Any] = []
    yield made
    for d in made:
        d.close()
