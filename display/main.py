"""``guichet display --config FILE``: the board, full screen on the waiting-room TV."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

from config.display import DisplaySettings
from config.loader import load_ready
from tickets.stopping import stop_on_signals

log = logging.getLogger(__name__)


def prepare_kivy(settings: DisplaySettings) -> None:
    """Kivy's environment and settings, before its first import: no command-line parsing,
    its folder beside the journal, Python logging, no exit on Escape, full screen or not."""
    os.environ.setdefault("KIVY_NO_ARGS", "1")
    os.environ.setdefault("KIVY_LOG_MODE", "PYTHON")
    os.environ.setdefault("KIVY_HOME", str(settings.journal_path.parent / "kivy"))
    from kivy.config import Config

    Config.set("kivy", "exit_on_escape", "0")
    Config.set("kivy", "pause_on_minimize", "0")
    Config.set("graphics", "resizable", "1")
    for key, value in settings.window_options().items():
        Config.set("graphics", key, value)
    Config.set("input", "mouse", "mouse,disable_multitouch")


def run_display(config: Path) -> int:
    """Runs the board until the process is stopped; 2 for a configuration it cannot use."""
    settings = load_ready(DisplaySettings, config)
    logging.basicConfig(
        level=settings.log_level,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    from tickets.journal import JournalError

    prepare_kivy(settings)
    from display.app import BoardApp
    from display.runtime import build_board
    from tickets.sdnotify import Notifier

    try:
        board = build_board(settings)
    except JournalError as exc:
        print(exc, file=sys.stderr)
        return 2
    log.info("board %s of site %s starting", settings.device_id, settings.site)
    app = BoardApp(board, settings, Notifier.from_env())

    def stop(_signum: int, _frame: object) -> None:
        # systemd stops the board with SIGTERM: leave the UI loop so on_stop closes the
        # button ports, the sound and the journal cleanly.
        from kivy.clock import Clock

        Clock.schedule_once(lambda _dt: app.stop(), 0)

    stop_on_signals(stop)  # SIGTERM (systemd), SIGINT, SIGHUP: whatever was inherited
    app.run()
    log.info("board stopped")
    return 0
