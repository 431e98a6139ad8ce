"""The reference for kiosk footprint figures: one window, one button, nothing else.

Says READY=1 on $NOTIFY_SOCKET once its first frame is drawn, as the kiosk does, so start-up
is measured the same way for both. Window size from MINIMAL_SIZE ("1024x600").
"""

from __future__ import annotations

import os
import socket

os.environ.setdefault("KIVY_NO_ARGS", "1")

from kivy.config import Config

_w, _h = os.environ.get("MINIMAL_SIZE", "1024x600").split("x")
Config.set("graphics", "width", _w)
Config.set("graphics", "height", _h)

from kivy.app import App  # noqa: E402
from kivy.clock import Clock  # noqa: E402
from kivy.uix.button import Button  # noqa: E402


def ready(_dt: float) -> None:
    address = os.environ.get("NOTIFY_SOCKET")
    if address:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
            s.sendto(b"READY=1", address)


class Minimal(App):
    def build(self) -> Button:
        return Button(text="Hello")

    def on_start(self) -> None:
        Clock.schedule_once(ready, 0)


if __name__ == "__main__":
    Minimal().run()
