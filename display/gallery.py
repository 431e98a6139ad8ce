"""The board's screenshots in docs/screenshots, staged on a Tuesday morning at the town hall.

    xvfb-run -a -s "-screen 0 1920x1080x24" python -m display.gallery docs/screenshots

Tickets are issued and called through the board's own journal and core (no server), with a
fixed clock so the services are open and the pictures do not change from run to run.
"""

from __future__ import annotations

import logging
import sys
import tempfile
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from config.display import DisplaySettings
from config.loader import load_settings
from display.protocol import Action, Press
from display.runtime import build_board
from display.selftest import LANDSCAPE, PORTRAIT, BoardDriver, prepare_test_kivy
from tickets.events import EventKind
from tickets.journal import Journal

SITE_FILE = Path(__file__).resolve().parents[1] / "config" / "examples" / "site-townhall.toml"
MESSAGE = (
    "Bienvenue à la mairie de Saint-Exemple · Le service passeports ferme à 17 h · "
    "Welcome to Saint-Exemple town hall"
)
_START = datetime(2026, 11, 24, 10, 5, tzinfo=ZoneInfo("Europe/Paris")).timestamp()


def _stage(folder: Path, calls: int, orientation: str = "auto") -> BoardDriver:
    now = [_START]
    settings = load_settings(
        DisplaySettings,
        None,
        site="mairie",
        device_id="board-salle",
        journal_path=folder / "board.sqlite3",
        site_file=SITE_FILE,
        fullscreen=False,
        message=MESSAGE,
        orientation=orientation,
        history=6,
        audio={"enabled": False, "cache_dir": folder / "audio"},
    )
    journal = Journal(settings.journal_path, "mairie", "board-salle", wall=lambda: now[0])
    board = build_board(settings, journal=journal, wall=lambda: now[0])
    core = board.core
    assert core is not None
    day = core.today()
    mix = ["etat-civil", "passeports", "etat-civil", "ccas", "etat-civil", "urbanisme"]
    numbers: dict[str, int] = {}
    for i in range(40):
        service = mix[i % len(mix)]
        svc = core.site.service(service)
        assert svc is not None
        numbers[service] = numbers.get(service, 0) + 1
        journal.record(
            EventKind.TICKET_ISSUED,
            ticket=f"t{i}",
            service=service,
            number=numbers[service],
            day=day,
            label=f"{svc.prefix}{numbers[service]:03d}",
        )
        now[0] += 25
    core.resync()
    counters = ["1", "2", "3", "5", "4", "2", "1", "3", "4", "2", "5", "1"]
    for c in counters[:calls]:
        now[0] += 70
        core.press(Press(c, Action.NEXT))
    return BoardDriver(board, PORTRAIT if orientation == "portrait" else LANDSCAPE)


def render(out: Path) -> list[Path]:
    prepare_test_kivy()
    out.mkdir(parents=True, exist_ok=True)
    shots = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, calls, orientation, flash, sync in (
            ("board-landscape-call", 4, "landscape", True, "online"),
            ("board-landscape-history-offline", 12, "landscape", False, "offline"),
            ("board-portrait-history", 12, "portrait", False, "online"),
            ("board-portrait-call", 5, "portrait", True, "online"),
            ("board-landscape-morning", 0, "landscape", False, "online"),
        ):
            folder = Path(tmp) / name
            folder.mkdir()
            d = _stage(folder, calls, orientation)
            try:
                d.board.on_sync_state(sync)
                d.app.board_screen.ids.ticker.hold()
                d.app.refresh()
                d.app._tick(0)
                d.hold_flash(flash)
                shots.append(d.screenshot(out / f"{name}.png"))
            finally:
                d.close()
    return shots


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    for path in render(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshots")):
        print(path)
