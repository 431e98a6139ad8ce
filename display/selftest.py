"""Driving the board without its main loop: the demo's self-test, the Kivy tests, the
screenshots of the documentation and the benchmarks all use :class:`BoardDriver`.

``run_selftest`` runs the board of a TOML configuration with a virtual button box on a
pseudo-terminal, sends it button lines (``3 NEXT``), saves a screenshot after each, and says
whether each call was shown.

    python -m display.selftest --config display.toml --out shots "3 NEXT" "1 NEXT" "3 RECALL"
"""

from __future__ import annotations

import argparse
import functools
import logging
import os
import re
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from config.display import DisplaySettings
from config.loader import load_settings
from display.protocol import Action, Press, parse_line
from display.runtime import Board, build_board

log = logging.getLogger(__name__)

LANDSCAPE = (1920, 1080)
PORTRAIT = (1080, 1920)


def prepare_test_kivy() -> None:
    """Kivy's environment for a board driven in this process (before the first Kivy import)."""
    os.environ.setdefault("KIVY_NO_ARGS", "1")
    os.environ.setdefault("KIVY_HOME", tempfile.mkdtemp(prefix="guichet-kivy-"))
    os.environ.setdefault("KIVY_NO_CONSOLELOG", "1")
    os.environ.setdefault("KIVY_NO_FILELOG", "1")
    os.environ.setdefault("KIVY_USE_DEFAULTCONFIG", "1")


class BoardDriver:
    """A board app in this process, advanced frame by frame."""

    def __init__(self, board: Board, size: tuple[int, int] = LANDSCAPE) -> None:
        from kivy.base import EventLoop
        from kivy.core.window import Window

        from display.app import BoardApp

        EventLoop.ensure_window()
        self._loop = EventLoop
        self.window = Window
        self.board = board
        self.resize(size)
        self.app = BoardApp(board, board.settings)
        _forget_previous_app()
        self.app._run_prepare()
        self.frames(3)

    def frames(self, n: int = 1) -> None:
        for _ in range(n):
            self._loop.idle()

    def wait_until(self, condition: Callable[[], bool], timeout: float = 10.0) -> bool:
        """Advances frames until ``condition()`` holds; False after ``timeout`` seconds."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            self.frames()
            if condition():
                return True
            time.sleep(0.002)
        return condition()

    def resize(self, size: tuple[int, int]) -> None:
        self.window.size = size
        self.frames(3)

    @property
    def call(self) -> Any:
        """The latest-call panel (its ``ticket``, ``counter``, ``flash``)."""
        return self.app.board_screen.ids.call

    def shows(self, ticket: str, counter_label: str) -> bool:
        call = self.call
        return bool(call.ticket == ticket and call.counter == counter_label)

    def hold_flash(self, on: bool) -> None:
        """Stops the blinking with the panel lit (or not), for a steady screenshot."""
        self.app._stop_flash()
        self.call.flash = on
        self.frames(2)

    def screenshot(self, path: Path) -> Path:
        """Saves the window as ``path`` (PNG), as the screen shows it; returns it."""
        self.frames(2)
        path.parent.mkdir(parents=True, exist_ok=True)
        if self.window.rotation in (90, 270):
            self._screenshot_turned(path)
            return path
        written = Path(self.window.screenshot(name=str(path.with_suffix("")) + "%(counter)s.png"))
        written.replace(path)
        return path

    def _screenshot_turned(self, path: Path) -> None:
        # Kivy's own screenshot reads the turned size (1080x1920) out of a 1920x1080 picture.
        from kivy.graphics.opengl import (
            GL_PACK_ALIGNMENT,
            GL_RGB,
            GL_UNSIGNED_BYTE,
            glPixelStorei,
            glReadPixels,
        )
        from PIL import Image

        width, height = (int(v) for v in self.window.system_size)
        glPixelStorei(GL_PACK_ALIGNMENT, 1)
        data = glReadPixels(0, 0, width, height, GL_RGB, GL_UNSIGNED_BYTE)
        image = Image.frombytes("RGB", (width, height), bytes(data))
        image.transpose(Image.Transpose.FLIP_TOP_BOTTOM).save(path)

    def key(self, codepoint: str) -> None:
        """A key typed on the board's keyboard (the virtual button box's keys)."""
        self.window.dispatch("on_key_down", ord(codepoint), 0, codepoint, [])
        self.frames(1)

    def close(self) -> None:
        # Dispatched, not called: Kivy's kv "app" proxy forgets this app only on the event.
        self.app.dispatch("on_stop")
        if self.app.root is not None:
            self.window.remove_widget(self.app.root)
        self.frames(1)


def _forget_previous_app() -> None:
    """Kivy's kv rules reach the app through a proxy that caches the first app it sees until
    that app dispatches on_stop; a frame drawn after that (a closing app's last one) caches
    it again. With several apps in one process (tests, the gallery, the demo's self-tests),
    the proxy must be told to look again before the next app builds its widgets."""
    from kivy.lang.parser import global_idmap

    object.__setattr__(global_idmap["app"], "_obj", None)


def _expected_label(board: Board, counter: str) -> str:
    core = board.core
    c = core.site.counter(counter) if core else None
    return c.label if c else counter


def run_selftest(
    config: Path,
    out_dir: Path,
    presses: Sequence[str],
    *,
    size: tuple[int, int] = LANDSCAPE,
    timeout: float = 5.0,
) -> bool:
    """Runs the board of ``config`` with a virtual button box, sends each line of
    ``presses`` (e.g. "3 NEXT") through the box's pseudo-terminal, saves a screenshot after
    each (``board-01-3-next.png``…), and returns True when every NEXT and RECALL showed its
    ticket at its counter and every other press got its answer on the box's line.

    Runs in the calling process: Kivy must not have been imported with another environment.
    """
    prepare_test_kivy()
    settings = load_settings(
        DisplaySettings,
        config,
        fullscreen=False,
        buttons={"virtual": True, "ports": []},
    )
    # The first window's size is the one that counts: Kivy's off-screen surface (no X display)
    # cannot grow afterwards, so a later resize would leave part of the screenshot black.
    from kivy.config import Config

    Config.set("graphics", "width", str(size[0]))
    Config.set("graphics", "height", str(size[1]))
    board = build_board(settings)
    driver = BoardDriver(board, size)
    box = board.virtual
    assert box is not None
    ok = True
    try:
        if not driver.wait_until(lambda: board.buttons.state.value == "connected", timeout):
            log.error("self-test: the virtual button box did not connect")
            return False
        for i, line in enumerate(presses, 1):
            parsed = parse_line(line.encode("ascii", "replace"))
            if not isinstance(parsed, Press):
                log.error("self-test: %r is not a button press", line)
                ok = False
                continue
            start = len(box.received)
            box.send(line.encode("ascii") + b"\n")
            counter = parsed.counter

            def answered_line(start: int = start, counter: str = counter) -> str | None:
                return next(
                    (r for r in box.received[start:] if r.startswith(f"{counter} SHOW")), None
                )

            shown = driver.wait_until(lambda: answered_line() is not None, timeout)
            if shown and parsed.action in (Action.NEXT, Action.RECALL):
                ticket = (answered_line() or "").split()[-1]
                label = _expected_label(board, counter)
                shown = ticket != "---" and driver.wait_until(
                    functools.partial(driver.shows, ticket, label), timeout
                )
            name = re.sub(r"[^a-z0-9]+", "-", line.lower()).strip("-")
            shot = driver.screenshot(out_dir / f"board-{i:02d}-{name}.png")
            log.info("self-test: %s -> %s (%s)", line, "shown" if shown else "NOT shown", shot)
            ok = ok and shown
        return ok
    finally:
        driver.close()


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Board self-test: button lines in, screenshots out.")
    p.add_argument("--config", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("presses", nargs="+", help='button lines, e.g. "3 NEXT"')
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    ok = run_selftest(args.config, args.out, args.presses)
    print("board self-test:", "OK" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
