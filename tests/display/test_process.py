"""``guichet display`` as systemd runs it: READY once drawn, watchdog pings from the UI loop,
the button box answered; a bad configuration exits 2 naming the field."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from display.virtual import VirtualButtonBox
from tests.conftest import PATIENCE
from tests.display.helpers import SITE_FILE

pytestmark = pytest.mark.kivy


@pytest.fixture
def notify(tmp_path: Path) -> Iterator[socket.socket]:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(tmp_path / "notify.sock"))
    sock.settimeout(30)
    yield sock
    sock.close()


def test_the_board_process_says_ready_pings_the_watchdog_and_answers_its_box(
    tmp_path: Path, notify: socket.socket
) -> None:
    box = VirtualButtonBox()
    cfg = tmp_path / "display.toml"
    cfg.write_text(
        'role = "display"\nsite = "mairie"\ndevice_id = "board-salle"\n'
        f'journal_path = "{tmp_path / "board.sqlite3"}"\nsite_file = "{SITE_FILE}"\n'
        "fullscreen = false\n"
        f'[buttons]\nports = ["{box.path}"]\n'
        f'[audio]\ncache_dir = "{tmp_path / "audio"}"\n'
    )
    env = dict(os.environ)
    env.update(
        NOTIFY_SOCKET=str(tmp_path / "notify.sock"),
        WATCHDOG_USEC="1000000",
        KIVY_HOME=str(tmp_path / "kivy"),
        KIVY_NO_FILELOG="1",
        SDL_AUDIODRIVER="dummy",
    )
    env.pop("WATCHDOG_PID", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "guichet", "display", "--config", str(cfg)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        messages = [notify.recv(4096).decode()]
        while not any("READY=1" in m for m in messages):
            messages.append(notify.recv(4096).decode())
        while not any("WATCHDOG=1" in m for m in messages):
            messages.append(notify.recv(4096).decode())
        box.press("2", "next")  # nobody waits yet: the counter is told so
        assert box.wait_for("2 SHOW ---", timeout=PATIENCE)
        assert box.received[0] == "2 ERR EMPTY"
        assert proc.poll() is None
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=PATIENCE)
        box.close()
    assert proc.returncode == 0  # SIGTERM ends the UI loop; the board stops cleanly
    assert b"board stopped" in err
    # Kivy prints one harmless traceback when libmtdev is missing; any other is a failure.
    tracebacks = err.decode(errors="replace").split("Traceback")[1:]
    assert all("mtdev" in t for t in tracebacks), tracebacks


def test_a_bad_configuration_exits_2_naming_the_file_and_field(tmp_path: Path) -> None:
    cfg = tmp_path / "display.toml"
    cfg.write_text('role = "display"\nsite = "mairie"\ndevice_id = "b"\nhistory = 99\n')
    done = subprocess.run(
        [sys.executable, "-m", "guichet", "display", "--config", str(cfg)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert f"{cfg}: field 'history'" in done.stderr
