"""``guichet kiosk`` as systemd runs it: READY once the idle screen is up, watchdog pings from
the UI loop, no way out with Escape, a clean stop on SIGTERM."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from printer.virtual import VirtualPrinter
from tests.conftest import PATIENCE
from tests.kiosk.conftest import SITE_FILE

pytestmark = [pytest.mark.kivy, pytest.mark.slow]


@pytest.fixture
def notify(tmp_path: Path) -> Iterator[tuple[socket.socket, Path]]:
    path = tmp_path / "notify.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.settimeout(1.0)
    yield sock, path
    sock.close()


def messages_until(sock: socket.socket, wanted: bytes, timeout: float) -> list[bytes]:
    got: list[bytes] = []
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            got.append(sock.recv(4096))
        except TimeoutError:
            continue
        if wanted in got[-1]:
            return got
    raise AssertionError(f"no {wanted!r} within {timeout} s (got {got})")


@pytest.mark.skipif(shutil.which("xdotool") is None, reason="xdotool is not installed")
def test_kiosk_process_notifies_pings_ignores_escape_and_stops_on_sigterm(
    tmp_path: Path, printer: VirtualPrinter, notify: tuple[socket.socket, Path]
) -> None:
    if not os.environ.get("DISPLAY"):
        pytest.skip("needs an X display (pytest-xvfb provides one)")
    sock, sock_path = notify
    config = tmp_path / "kiosk.toml"
    config.write_text(
        'role = "kiosk"\nsite = "mairie"\ndevice_id = "kiosk-entree"\n'
        f'journal_path = "{tmp_path / "journal.sqlite3"}"\nsite_file = "{SITE_FILE}"\n'
        "fullscreen = false\nwindow_size = [1024, 600]\n"
        f'[printer.transport]\nkind = "network"\nhost = "127.0.0.1"\nport = {printer.port}\n',
        encoding="utf-8",
    )
    env = dict(os.environ)
    env.update(
        NOTIFY_SOCKET=str(sock_path),
        WATCHDOG_USEC="1000000",
        KIVY_HOME=str(tmp_path / "kivy"),
        KIVY_NO_CONSOLELOG="1",
    )
    env.pop("WATCHDOG_PID", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "guichet", "kiosk", "--config", str(config)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        messages_until(sock, b"READY=1", PATIENCE)
        messages_until(sock, b"WATCHDOG=1", PATIENCE)
        found = subprocess.run(
            ["xdotool", "search", "--sync", "--onlyvisible", "--pid", str(proc.pid)],
            capture_output=True,
            text=True,
            timeout=PATIENCE,
            check=True,
        )
        window = found.stdout.split()[0]
        subprocess.run(["xdotool", "windowfocus", "--sync", window], timeout=PATIENCE, check=True)
        for key in (["--window", window, "Escape"], ["Escape"]):  # sent, then typed
            subprocess.run(["xdotool", "key", *key], timeout=PATIENCE, check=False)
        # Two pings from the UI loop after the keys were sent: it has handled them since.
        for _ in range(2):
            messages_until(sock, b"WATCHDOG=1", PATIENCE)
        assert proc.poll() is None, "Escape closed the kiosk"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(PATIENCE) == 0
        messages_until(sock, b"STOPPING=1", PATIENCE)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
