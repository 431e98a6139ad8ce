"""The demo's own behaviour around its processes: no display, a window or process ending, and
ports a quick re-run finds again."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from guichet import demo
from tests.conftest import PATIENCE, wait_until

ROOT = Path(__file__).resolve().parents[2]


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


def children_of(pid: int) -> set[int]:
    """The processes ``pid`` started (Linux /proc)."""
    with open(f"/proc/{pid}/task/{pid}/children", encoding="ascii") as fh:
        return {int(p) for p in fh.read().split()}


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            return fh.read().split(") ", 1)[1][0] != "Z"  # a zombie counts as gone
    except FileNotFoundError:
        return False


def windows(besides: frozenset[str] = frozenset()) -> dict[str, tuple[str, int, int, int, int]]:
    """Guichet's top-level windows on the X display but those ``besides`` (this test process
    may hold a kiosk window of its own, of the same title): id -> (title, x, y, width,
    height)."""
    tree = subprocess.run(
        ["xwininfo", "-root", "-tree"], capture_output=True, text=True, timeout=PATIENCE
    ).stdout
    found = {}
    pattern = r'(0x[0-9a-f]+) "(Guichet [^"]*)":.*?(\d+)x(\d+)\+(-?\d+)\+(-?\d+)'
    for m in re.finditer(pattern, tree):
        if m.group(1) not in besides:
            w, h, x, y = (int(v) for v in m.group(3, 4, 5, 6))
            found[m.group(1)] = (m.group(2), x, y, w, h)
    return found


def port_free(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # as a script's background job (`&`) starts


@pytest.mark.skipif(shutil.which("xwininfo") is None, reason="xwininfo (x11-utils) missing")
def test_the_demo_stops_on_every_signal_with_all_it_started_and_keeps_its_ports(
    tmp_path: Path,
) -> None:
    """GIVEN `guichet demo` started with SIGINT ignored (as from a script's background job)
    WHEN it is stopped by Ctrl-C, then re-run at once and stopped by SIGTERM, then again by
    SIGHUP (its terminal closed) THEN each time it prints where its pages are, shows two
    windows with their own titles side by side, exits 0 and takes the server, the virtual
    printer, the kiosk and the board with it, releasing their ports; and each quick re-run
    finds the same ports again."""
    if not demo.has_display():
        pytest.skip("needs an X display (pytest-xvfb provides one)")
    ports: list[tuple[int, int]] = []
    for stop in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        root = tmp_path / stop.name
        before = frozenset(windows())
        # the last run had the demo's ports, free again (nobody else on this machine took them
        # meanwhile): the re-run must take them again, in TIME_WAIT as they are
        same_ports = ports[-1:] == [demo.PREFERRED_PORTS] and all(map(port_free, ports[-1]))
        with subprocess.Popen(
            [sys.executable, "-m", "guichet", "demo", "--dir", str(root)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1", "KIVY_HOME": str(tmp_path / "kivy")},
            preexec_fn=ignore_sigint,
        ) as proc:
            started: set[int] = set()
            try:
                assert proc.stdout is not None
                said = ""
                while "Ctrl-C stops everything" not in said:
                    line = proc.stdout.readline()
                    assert line, f"the demo ended before it ran:\n{said}"
                    said += line
                url = re.search(r"server and web pages +(http://127\.0\.0\.1:(\d+))/", said)
                assert url, said
                for page in ("/stats/mairie", "/wait/mairie", "/t/", "/console", "/admin"):
                    assert f"{url.group(1)}{page}" in said, page
                printer = re.search(r"port = (\d+)", (root / "kiosk.toml").read_text("utf-8"))
                assert printer
                ports.append((int(url.group(2)), int(printer.group(1))))
                if same_ports:
                    assert ports[-1] == demo.PREFERRED_PORTS, ports
                assert wait_until(lambda b=before: len(windows(b)) == 2), windows(before)
                shown = sorted(windows(before).values())
                assert [title for title, *_ in shown] == [
                    "Guichet board board-salle",
                    "Guichet kiosk kiosk-entree",
                ]
                (_, ax, ay, aw, ah), (_, bx, by, bw, bh) = shown
                overlap = ax < bx + bw and bx < ax + aw and ay < by + bh and by < ay + ah
                assert not overlap, shown
                started = children_of(proc.pid)
                assert len(started) == 4, started  # server, printer, kiosk, board
                proc.send_signal(stop)
                assert proc.wait(timeout=2 * PATIENCE) == 0
                assert wait_until(lambda s=started: not any(alive(p) for p in s))
                assert port_free(ports[-1][0]) and port_free(ports[-1][1])
            finally:
                if proc.poll() is None:
                    proc.kill()
                for pid in started:
                    if alive(pid):
                        os.kill(pid, signal.SIGKILL)
