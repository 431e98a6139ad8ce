"""``guichet kiosk --config FILE``: the ticket kiosk, full screen, with no way out."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from config.kiosk import KioskSettings
from config.loader import load_ready
from tickets.stopping import stop_on_signals

log = logging.getLogger(__name__)


def prepare_kivy(settings: KioskSettings, kivy_home: Path | None = None) -> None:
    """Kivy's environment and configuration; must run before the first ``import kivy``.

    No command-line parsing by Kivy, no log file or config file written to a home directory
    (the appliance's root is read-only), Kivy's messages through Python logging at the
    configured level (its own console logger would print every line twice and lower the level
    to DEBUG for every library), no exit on Escape, the window size or full screen.
    """
    os.environ.setdefault("KIVY_NO_ARGS", "1")
    os.environ.setdefault("KIVY_LOG_MODE", "PYTHON")
    os.environ.setdefault("KIVY_NO_FILELOG", "1")
    os.environ.setdefault("KIVY_USE_DEFAULTCONFIG", "1")
    home = kivy_home or settings.journal_path.parent / "kivy"
    if "KIVY_HOME" not in os.environ:
        home.mkdir(parents=True, exist_ok=True)
        os.environ["KIVY_HOME"] = str(home)
    from kivy.config import Config

    Config.set("kivy", "exit_on_escape", "0")
    Config.set("kivy", "keyboard_mode", "system")
    Config.set("input", "mouse", "mouse,disable_multitouch")
    Config.set("graphics", "resizable", "0")
    for key, value in settings.window_options().items():
        Config.set("graphics", key, value)


def run_kiosk(config: Path) -> int:
    settings = load_ready(KioskSettings, config)
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    prepare_kivy(settings)
    from kivy.clock import Clock

    from kiosk.app import KioskApp
    from kiosk.runtime import KioskRuntime
    from tickets.sdnotify import Notifier

    runtime = KioskRuntime(settings)
    notifier = Notifier.from_env()
    app = KioskApp(runtime, notifier)

    def stop(_signum: int, _frame: object) -> None:  # systemd's SIGTERM: close cleanly
        Clock.schedule_once(lambda _dt: app.stop())

    stop_on_signals(stop)  # SIGTERM (systemd), SIGINT, SIGHUP: whatever was inherited
    try:
        app.run()
    finally:
        notifier.stopping()
        runtime.close()
    return 0
