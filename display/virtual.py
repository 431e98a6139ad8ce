"""A virtual call button box on a pseudo-terminal, for demos, tests and the simulator.

It behaves like a real box plugged into a serial port: the board's reader opens
:attr:`VirtualButtonBox.path` like any other port and reads the lines :meth:`press` writes, so
presses take exactly the path real ones take. What the board writes back (``3 SHOW A042``) is
collected in :attr:`received`. :meth:`unplug` closes the box's end, as pulling the cable does.

On the board, keyboard keys drive it (see :data:`KEYS`): digits choose the counter, letters act.
"""

from __future__ import annotations

import contextlib
import os
import select
import threading
import time
import tty

from display.protocol import Action, Press

KEYS: dict[str, Action] = {
    "n": Action.NEXT,
    "r": Action.RECALL,
    "d": Action.DONE,
    "a": Action.NO_SHOW,
    "o": Action.OPEN,
    "c": Action.CLOSE,
}
"""Keyboard letter -> action, for the board window when the virtual box is on."""


class VirtualButtonBox:
    def __init__(self) -> None:
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)
        self.path = os.ttyname(self._slave)
        self.received: list[str] = []
        """Lines the board wrote back, in order, without their endings."""
        self._cond = threading.Condition()
        self._closed = False
        self._buffer = b""
        self._thread = threading.Thread(target=self._read, name="virtual-buttons", daemon=True)
        self._thread.start()

    def press(self, counter: str, action: Action | str, service: str | None = None) -> None:
        """Sends one press as the box would: ``<counter> <ACTION> [service]``."""
        act = action if isinstance(action, Action) else Action(action)
        self.send(Press(counter, act, service).line().encode() + b"\n")

    def send(self, raw: bytes) -> None:
        """Writes raw bytes on the line (tests send garbage with this)."""
        if self._closed:
            raise OSError("the virtual button box is unplugged")
        view = memoryview(raw)
        while view:
            n = os.write(self._master, view)
            view = view[n:]

    def wait_for(self, text: str, timeout: float = 10.0, start: int = 0) -> bool:
        """True once a received line from index ``start`` on equals ``text``."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while text not in self.received[start:]:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
        return True

    def unplug(self) -> None:
        """Closes both ends: the board's reader sees the port vanish."""
        if self._closed:
            return
        self._closed = True
        for fd in (self._master, self._slave):
            with contextlib.suppress(OSError):
                os.close(fd)
        self._thread.join(2.0)

    close = unplug

    def _read(self) -> None:
        while not self._closed:
            try:
                ready, _, _ = select.select([self._master], [], [], 0.2)
                if not ready:
                    continue
                data = os.read(self._master, 1024)
            except (OSError, ValueError):
                return
            if not data:
                return
            self._buffer += data
            *lines, self._buffer = self._buffer.split(b"\n")
            if lines:
                with self._cond:
                    self.received.extend(x.decode("ascii", "replace").rstrip("\r") for x in lines)
                    self._cond.notify_all()
