"""The simulator's handle on one device process (``guichet.sim.device``): start it, send it
commands, kill it with SIGKILL, start it again on the same journal."""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parents[2]


class DeviceDown(RuntimeError):
    """The device process is not running (killed, crashed, or not started)."""


class DeviceProcess:
    def __init__(
        self, name: str, spec: dict[str, Any], workdir: Path, prefix: list[str] | None = None
    ) -> None:
        self.name = name
        self.spec = spec
        self.workdir = workdir
        self.prefix = list(prefix or [])
        """Runs the process through this command (``ip netns exec NAME``: on another host)."""
        self.proc: subprocess.Popen[str] | None = None
        self.peer_url = ""
        self.starts = 0
        self.kills = 0
        self.on_event: Callable[[str, dict[str, Any]], None] | None = None
        """Called with (device name, event) for unsolicited lines (calls shown), reader thread."""
        self._ids = itertools.count(1)
        self._replies: dict[int, list[dict[str, Any]]] = {}
        self._cond = threading.Condition()
        self._log: IO[str] | None = None
        self._send = threading.Lock()
        self._reader: threading.Thread | None = None

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self, timeout: float = 60.0) -> None:
        """Starts the process (again) and waits until it is ready."""
        if self.alive:
            return
        self.workdir.mkdir(parents=True, exist_ok=True)
        spec_path = self.workdir / f"{self.name}.json"
        spec_path.write_text(json.dumps(self.spec, default=str), encoding="utf-8")
        if self._log is None:
            self._log = (self.workdir / f"{self.name}.log").open("a", encoding="utf-8")
        env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
        proc = subprocess.Popen(
            [*self.prefix, sys.executable, "-m", "guichet.sim.device", str(spec_path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
            env=env,
            cwd=self.workdir,
        )
        ready = threading.Event()
        with self._cond:
            self.proc = proc
            self._replies.clear()
        self._reader = threading.Thread(
            target=self._read, args=(proc, ready), name=f"sim-{self.name}", daemon=True
        )
        self._reader.start()
        if not ready.wait(timeout) or proc.poll() is not None:
            self.kill()
            raise DeviceDown(f"{self.name} did not start (see {self.workdir}/{self.name}.log)")
        self.starts += 1

    def _read(self, proc: subprocess.Popen[str], ready: threading.Event) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            try:
                msg = json.loads(line)
            except ValueError:
                continue
            if msg.get("event") == "ready":
                self.peer_url = msg.get("peer_url", "")
                ready.set()
            elif "event" in msg:
                if self.on_event is not None:
                    self.on_event(self.name, msg)
            else:
                with self._cond:
                    if self.proc is proc:
                        self._replies.setdefault(msg.get("re"), []).append(msg)
                    self._cond.notify_all()
        proc.stdout.close()
        with self._cond:
            self._cond.notify_all()

    def send(self, op: str, **args: Any) -> int:
        """Sends a command without waiting; returns its id."""
        proc = self.proc
        if proc is None or proc.poll() is not None or proc.stdin is None:
            raise DeviceDown(f"{self.name} is not running")
        n = next(self._ids)
        try:
            with self._send:
                proc.stdin.write(json.dumps({"id": n, "op": op, **args}) + "\n")
                proc.stdin.flush()
        except (BrokenPipeError, OSError, ValueError):
            raise DeviceDown(f"{self.name} is not running") from None
        return n

    def replies(self, n: int) -> list[dict[str, Any]]:
        with self._cond:
            return list(self._replies.get(n, []))

    def call(self, op: str, timeout: float = 60.0, **args: Any) -> dict[str, Any]:
        """Sends a command and waits for its answer; ``DeviceDown`` if the process dies."""
        n = self.send(op, **args)
        deadline = time.monotonic() + timeout
        with self._cond:
            while not self._replies.get(n):
                if not self.alive:
                    raise DeviceDown(f"{self.name} stopped before answering {op}")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"{self.name} did not answer {op} within {timeout} s")
                self._cond.wait(min(left, 0.2))
            return self._replies.pop(n)[0]

    def kill(self) -> None:
        """SIGKILL, as a power cut looks to the process."""
        proc = self.proc
        if proc is not None and proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            self.kills += 1
        if proc is not None:
            proc.wait()
            if proc.stdin is not None:
                with contextlib.suppress(OSError):
                    proc.stdin.close()
            if self._reader is not None:
                self._reader.join(5)
        with self._cond:
            self._cond.notify_all()

    def stop(self, timeout: float = 20.0) -> None:
        """Asks the device to stop cleanly; kills it if it does not."""
        proc = self.proc
        if proc is None:
            return
        if proc.poll() is None:
            try:
                self.send("quit")
                proc.wait(timeout)
            except (DeviceDown, subprocess.TimeoutExpired):
                pass
        self.kill()
        self.proc = None

    def close(self) -> None:
        self.stop()
        if self._log is not None:
            self._log.close()
            self._log = None
