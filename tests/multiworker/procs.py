"""Real ``guichet server`` processes for the tests, and the systemd notification socket they
talk to.

Each process gets ``port = 0`` and a ``NOTIFY_SOCKET`` this test owns: the READY=1 datagram's
status names the address it listens on, and the kernel's sender credentials (SO_PASSCRED) name
the process that sent it (with ``NotifyAccess=main``, systemd only accepts the main process).
"""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from server.workers import STOP_TIMEOUT_SECONDS
from tests.conftest import PATIENCE

REPO = Path(__file__).resolve().parents[2]
START_TIMEOUT_SECONDS = max(60.0, 4 * PATIENCE)
"""A server start on a loaded machine (load average 16 here) took up to a minute."""
_CREDENTIALS = struct.Struct("3i")


@dataclass
class Notification:
    text: str
    pid: int
    """The sending process (from the kernel, not from the message)."""


class NotifySocket:
    """A unix datagram socket standing in for systemd's NOTIFY_SOCKET, drained at once as
    systemd drains its own: the kernel queues only a few datagrams (net.unix.max_dgram_qlen,
    10 here) and a sender blocks once they are left unread, so a test busy elsewhere for a few
    seconds of watchdog pings would freeze the process it watches."""

    def __init__(self) -> None:
        # A short folder: unix socket paths are limited to 108 bytes.
        self.folder = tempfile.mkdtemp(prefix="gm-")
        self.path = os.path.join(self.folder, "notify")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        self.sock.bind(self.path)
        self.sock.settimeout(0.1)
        self._received: queue.Queue[Notification] = queue.Queue()
        self._closed = threading.Event()
        self._reader = threading.Thread(target=self._drain, name="notify-socket", daemon=True)
        self._reader.start()

    def _drain(self) -> None:
        while not self._closed.is_set():
            try:
                data, ancillary, _flags, _addr = self.sock.recvmsg(4096, socket.CMSG_SPACE(12))
            except TimeoutError:
                continue
            except OSError:
                return
            pid = -1
            for level, kind, payload in ancillary:
                if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                    pid = _CREDENTIALS.unpack(payload[: _CREDENTIALS.size])[0]
            self._received.put(Notification(data.decode(), pid))

    def receive(self, timeout: float) -> Notification | None:
        """The next notification in arrival order, or None after ``timeout`` seconds."""
        try:
            return self._received.get(timeout=timeout)
        except queue.Empty:
            return None

    def close(self) -> None:
        self._closed.set()
        self._reader.join(PATIENCE)
        self.sock.close()
        os.unlink(self.path)
        os.rmdir(self.folder)


def server_toml(folder: Path, database_url: str, **extra: Any) -> Path:
    lines = [
        'role = "server"',
        f'database_url = "{database_url}"',
        'host = "127.0.0.1"',
        "port = 0",
        'log_level = "WARNING"',
        'secret_key = ""',
    ]
    lines += [f"{key} = {json.dumps(value)}" for key, value in extra.items()]
    path = folder / "server.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


class ServerProcess:
    """``python -m guichet server --config CONFIG [--workers N]`` until ``stop()``."""

    def __init__(
        self,
        folder: Path,
        database_url: str,
        workers: int = 1,
        run_prefix: list[str] | None = None,
        code: Path = REPO,
        **extra: Any,
    ) -> None:
        """``run_prefix`` goes before the command (``ip netns exec NAME`` runs it on a test
        machine of tests/multiworker/netns.py); ``code`` is the source tree it runs (another
        release's, for a rolling upgrade)."""
        folder.mkdir(parents=True, exist_ok=True)
        self.run_prefix = run_prefix or []
        self.code = code
        self.folder = folder
        self.config = server_toml(folder, database_url, **extra)
        self.workers = workers
        self.notify = NotifySocket()
        self.log_path = folder / "server.log"
        self.messages: list[Notification] = []
        self.url = ""
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, watchdog_usec: int | None = None) -> ServerProcess:
        env = {**os.environ, "NOTIFY_SOCKET": self.notify.path, "PYTHONPATH": str(self.code)}
        env.pop("WATCHDOG_PID", None)
        env.pop("WATCHDOG_USEC", None)
        if watchdog_usec is not None:
            env["WATCHDOG_USEC"] = str(watchdog_usec)
        args = [*self.run_prefix, sys.executable, "-m", "guichet", "server"]
        args += ["--config", str(self.config)]
        args += ["--workers", str(self.workers)]
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(args, cwd=self.code, env=env, stdout=log, stderr=log)
        ready = self.wait_for("READY=1", START_TIMEOUT_SECONDS)
        found = re.search(r"serving (http://\S+)", ready.text)
        assert found, ready.text
        self.url = found.group(1)
        return self

    def wait_for(self, prefix: str, timeout: float) -> Notification:
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            note = self.notify.receive(min(left, 0.5))
            if note is not None:
                self.messages.append(note)
                if note.text.startswith(prefix):
                    return note
            elif self.proc is not None and self.proc.poll() is not None:
                break
        raise AssertionError(f"no {prefix} from the server; its log:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def stop(self, how: signal.Signals = signal.SIGTERM) -> int | None:
        """SIGTERM (or ``how``), then the exit code (SIGKILL after the supervisor's own stop
        budget for its workers plus the tests' patience)."""
        code = None
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(how)
            try:
                code = self.proc.wait(timeout=STOP_TIMEOUT_SECONDS + PATIENCE)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        elif self.proc is not None:
            code = self.proc.returncode
        while (note := self.notify.receive(0.05)) is not None:  # what it said while stopping
            self.messages.append(note)
        self.notify.close()
        return code
