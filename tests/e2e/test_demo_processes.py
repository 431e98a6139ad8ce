"""The demo's own behaviour around its processes: no display, a window or process ending, and
ports a quick re-run finds again."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from guichet import demo
from tests.conftest import PATIENCE


def test_without_a_display_the_demo_says_how_to_run_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    assert demo.run_demo(tmp_path / "demo") == 2
    err = capsys.readouterr().err
    assert "no display" in err
    assert "xvfb-run -a" in err and "guichet demo --selftest" in err
    assert not (tmp_path / "demo").exists()  # nothing was started


def exiting(code: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen([sys.executable, "-c", f"raise SystemExit({code})"])
    proc.wait(timeout=PATIENCE)
    return proc


def running() -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])


@pytest.mark.parametrize(
    ("ended", "code", "answer", "said"),
    [
        ("kiosk", 0, 0, "The kiosk window was closed: stopping the demo site."),
        ("display", 1, 1, "display stopped (exit code 1; see "),
        ("server", 3, 1, "server stopped (exit code 3; see "),
    ],
)
def test_the_demo_notices_a_window_or_a_process_ending(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    ended: str,
    code: int,
    answer: int,
    said: str,
) -> None:
    site = demo.Site(tmp_path, windows=True)
    others = [running() for _ in range(3)]
    names = [n for n in ("server", "printer", "kiosk", "display") if n != ended]
    site.procs = [*zip(names, others, strict=True), (ended, exiting(code))]
    try:
        assert demo.watch(site) == answer
    finally:
        for proc in others:
            proc.kill()
            proc.wait(timeout=PATIENCE)
    assert said in capsys.readouterr().out


def test_a_port_left_in_time_wait_by_the_last_run_is_taken_again() -> None:
    """GIVEN the demo's port just closed by the side that held it (TIME_WAIT, as after a
    quick re-run) WHEN the demo chooses its ports THEN it takes the same one again."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        client = socket.create_connection(("127.0.0.1", port))
        conn, _ = server.accept()
        conn.close()  # the server's side closes first: its address goes to TIME_WAIT
        client.recv(1)
        client.close()
    with socket.socket() as plain, pytest.raises(OSError):
        plain.bind(("127.0.0.1", port))  # what the demo met before: a random port instead
    assert demo.free_port(port) == port
