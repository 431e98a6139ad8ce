"""The watchdog contract between the units (Type=notify, WatchdogSec) and our processes, through
tickets.sdnotify at its real boundary: a unix datagram socket this test owns stands in for
systemd's NOTIFY_SOCKET, WATCHDOG_USEC is set as systemd sets it, and real processes (a plain
loop, a Kivy app) send READY then WATCHDOG pings, which stop when their loop is stuck."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import PATIENCE
from tickets.sdnotify import Notifier

from .conftest import REPO

WATCHDOG_USEC = 400_000  # WatchdogSec=0.4s: one ping every 0.2 s
PING = WATCHDOG_USEC / 2_000_000


@pytest.fixture()
def notify_socket() -> Iterator[tuple[socket.socket, str]]:
    # A short folder: unix socket paths are limited to 108 bytes.
    folder = tempfile.mkdtemp(prefix="gn-")
    path = os.path.join(folder, "notify")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    try:
        yield sock, path
    finally:
        sock.close()
        os.unlink(path)
        os.rmdir(folder)


def receive(sock: socket.socket, deadline: float) -> str | None:
    """The next message, or None if none came within `deadline` seconds."""
    sock.settimeout(deadline)
    try:
        return sock.recv(4096).decode()
    except TimeoutError:
        return None


def start(script: str, notify_path: str, freeze_flag: Path, **env: str) -> subprocess.Popen[str]:
    # A file rather than `python -c`: Kivy looks up the app's folder from its module's file.
    program = freeze_flag.with_name("program.py")
    program.write_text(textwrap.dedent(script))
    full_env = {
        **os.environ,
        "NOTIFY_SOCKET": notify_path,
        "WATCHDOG_USEC": str(WATCHDOG_USEC),
        "PYTHONPATH": str(REPO),
        **env,
    }
    full_env.pop("WATCHDOG_PID", None)
    return subprocess.Popen(
        [sys.executable, str(program), str(freeze_flag)],
        env=full_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def check_ready_pings_then_silence(
    sock: socket.socket, proc: subprocess.Popen[str], freeze_flag: Path, ready: str
) -> None:
    try:
        first = receive(sock, 60)
        if first is None:
            proc.kill()
            output = proc.communicate()[0]
            pytest.fail(f"no READY from the process: {output[-2000:]}")
        assert first == ready
        pings = [receive(sock, 20 * PING) for _ in range(3)]
        assert pings == ["WATCHDOG=1"] * 3
        freeze_flag.touch()
        # Pings may still be queued before the loop notices the flag; the process says when it
        # is stuck, and from then on nothing may come.
        for _ in range(20):
            message = receive(sock, 20 * PING)
            if message == "STATUS=frozen":
                break
            assert message == "WATCHDOG=1"
        else:
            pytest.fail("the process never reported being frozen")
        assert receive(sock, 10 * PING) is None
        assert proc.poll() is None  # stuck, not dead: only the missing pings tell systemd
    finally:
        if proc.returncode is None:
            proc.kill()
            proc.communicate()


LOOP_PROCESS = """
    import sys, time
    from pathlib import Path
    from tickets.sdnotify import Notifier

    notifier = Notifier.from_env()
    interval = notifier.watchdog_interval()
    notifier.ready("serving")
    while True:
        if Path(sys.argv[1]).exists():
            notifier.status("frozen")
            time.sleep(3600)  # a request handler that never returns
        notifier.watchdog()
        time.sleep(interval)
"""


def test_a_plain_loop_pings_until_it_blocks(
    notify_socket: tuple[socket.socket, str], tmp_path: Path
) -> None:
    sock, path = notify_socket
    flag = tmp_path / "freeze"
    proc = start(LOOP_PROCESS, path, flag)
    check_ready_pings_then_silence(sock, proc, flag, "READY=1\nSTATUS=serving")


KIVY_APP = """
    import sys, time
    from pathlib import Path
    from kivy.config import Config
    Config.set("kivy", "exit_on_escape", "0")
    from kivy.app import App
    from kivy.clock import Clock
    from kivy.uix.label import Label
    from tickets.sdnotify import Notifier

    class WatchdogApp(App):
        def build(self):
            return Label(text="Guichet")

        def on_start(self):
            self.notifier = Notifier.from_env()
            # READY once the first frame is drawn, pings from the UI clock.
            Clock.schedule_once(lambda dt: self.notifier.ready("first screen up"), 0)
            interval = self.notifier.watchdog_interval()
            if interval:
                Clock.schedule_interval(lambda dt: self.notifier.watchdog(), interval)
            Clock.schedule_interval(self.freeze_when_asked, 0.05)

        def freeze_when_asked(self, dt):
            if Path(sys.argv[1]).exists():
                self.notifier.status("frozen")
                time.sleep(3600)  # a blocking call on the UI thread

    WatchdogApp().run()
"""


@pytest.mark.kivy
def test_a_kivy_app_pings_from_its_clock_until_the_ui_freezes(
    notify_socket: tuple[socket.socket, str], tmp_path: Path
) -> None:
    sock, path = notify_socket
    flag = tmp_path / "freeze"
    kivy_env = {
        "KIVY_NO_ARGS": "1",
        "KIVY_HOME": str(tmp_path / "kivy"),
        "KIVY_NO_CONSOLELOG": "1",
        "KIVY_NO_FILELOG": "1",
        "SDL_AUDIODRIVER": "dummy",
    }
    proc = start(KIVY_APP, path, flag, **kivy_env)
    check_ready_pings_then_silence(sock, proc, flag, "READY=1\nSTATUS=first screen up")


def test_notifier_without_systemd_does_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    monkeypatch.delenv("WATCHDOG_USEC", raising=False)
    notifier = Notifier.from_env()
    assert not notifier.enabled
    assert notifier.watchdog_interval() is None
    assert notifier.ready() is False
    assert notifier.watchdog() is False


def test_watchdog_meant_for_another_process_is_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    """systemd sets WATCHDOG_PID to the main process; a child that inherited it must not ping."""
    monkeypatch.setenv("NOTIFY_SOCKET", "/run/systemd/notify")
    monkeypatch.setenv("WATCHDOG_USEC", "20000000")
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid() + 1))
    assert Notifier.from_env().watchdog_interval() is None
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid()))
    assert Notifier.from_env().watchdog_interval() == 10.0


def test_abstract_socket_address() -> None:
    """NOTIFY_SOCKET may name a socket in the abstract namespace, written with a leading @."""
    name = f"guichet-test-{os.getpid()}"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind("\0" + name)
    try:
        notifier = Notifier("@" + name)
        assert notifier.status("syncing") is True
        assert notifier.stopping() is True
        notifier.close()
        assert receive(sock, 5) == "STATUS=syncing"
        assert receive(sock, 5) == "STOPPING=1"
    finally:
        sock.close()


def test_a_missing_socket_is_reported_not_raised(tmp_path: Path) -> None:
    notifier = Notifier(str(tmp_path / "gone"))
    try:
        assert notifier.watchdog() is False
    finally:
        notifier.close()


def test_a_manager_that_does_not_read_never_blocks_the_pings(
    notify_socket: tuple[socket.socket, str],
) -> None:
    """GIVEN a notification socket nobody reads (a busy service manager: the kernel queues
    only a few datagrams) WHEN a process pings it many times THEN every call returns: the
    pings that do not fit are lost and said so, the loop that pings is never held up."""
    sock, path = notify_socket
    notifier = Notifier(path, WATCHDOG_USEC)
    sent: list[bool] = []
    pinger = threading.Thread(
        target=lambda: sent.extend(notifier.watchdog() for _ in range(200)), daemon=True
    )
    pinger.start()
    pinger.join(PATIENCE)
    notifier.close()
    assert not pinger.is_alive(), "a ping blocked on a full queue"
    assert len(sent) == 200 and sent[0] is True and sent[-1] is False
    assert receive(sock, PATIENCE) == "WATCHDOG=1"  # what fitted is there to read
