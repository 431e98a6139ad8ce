"""Several server processes on one PostgreSQL database: a small supervisor and its workers.

The supervising process (the one systemd starts, ``NotifyAccess=main``) prepares the database
once (``server.startup.prepare``), binds the listening socket, then starts ``count`` worker
processes (spawned: each imports the application and builds its own engine, caches and
notifier; nothing is shared but the socket). The kernel hands each new connection to one of
them. Nothing that decides anything lives in a worker's memory: numbers, leases and counter
actions are decided in the database under the site's row lock, and the live streams hear of
other workers' events through PostgreSQL notifications (``server.notify``).

The supervisor says READY=1 once every worker listens, then pings the systemd watchdog from its
own loop. Each worker sends it a heartbeat every second from its event loop; a worker that
exits, or whose heartbeat stops for ``WORKER_TIMEOUT_SECONDS`` (a blocked loop), is replaced.
A worker that fails before the service was ever ready stops the start (exit 1). SIGTERM or
SIGINT ends the workers gracefully (SIGKILL after ``STOP_TIMEOUT_SECONDS``).
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import signal
import socket
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from types import FrameType
from typing import Any

import sqlalchemy as sa

from config.server import ServerSettings
from server.serve import (
    GRACEFUL_SHUTDOWN_SECONDS,
    GuichetServer,
    listening_url,
    raise_open_files_limit,
    tune_garbage_collector,
    uvicorn_config,
)
from server.startup import Prepared
from tickets.sdnotify import Notifier
from tickets.stopping import STOP_SIGNALS

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 1.0
WORKER_TIMEOUT_SECONDS = 30.0
"""A worker silent this long (its event loop blocked) is killed and replaced."""
START_TIMEOUT_SECONDS = 300.0
"""A worker that has not said it is ready this long after its start is killed and replaced:
a start (imports, database connection) can take a minute on a busy small machine, and a
worker is only held to ``WORKER_TIMEOUT_SECONDS`` once it serves."""
STOP_TIMEOUT_SECONDS = GRACEFUL_SHUTDOWN_SECONDS + 5.0
QUICK_FAILURE_SECONDS = 30.0
RESTART_DELAYS = (0.5, 1.0, 2.0, 5.0, 10.0)
"""Waits before replacing a worker that exited within ``QUICK_FAILURE_SECONDS`` of its start,
the first time, the second... (seconds); one that ran longer is replaced at once."""
WORKER_HEADER = "X-Guichet-Worker"
"""Response header naming the worker (1..N) that answered: which process served a request,
for the logs behind a proxy and for the benchmarks."""

_LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s{who}: %(message)s"


def log_format(who: str = "") -> str:
    return _LOG_FORMAT.format(who=who)


def worker_main(
    number: int, settings: ServerSettings, prepared: Prepared, sock: socket.socket, pipe: Any
) -> None:
    """A worker process: serves the application on the inherited socket."""
    from server.app import create_app

    logging.basicConfig(level=settings.log_level, format=log_format(f" [worker {number}]"))
    raise_open_files_limit()
    app = create_app(settings, prepared)
    tune_garbage_collector()
    server: GuichetServer | None = None

    def tell(message: str) -> None:
        try:
            pipe.send(message)
        except OSError:  # the supervisor is gone: nobody restarts or stops us, so stop
            if server is not None:
                server.should_exit = True

    server = GuichetServer(
        uvicorn_config(app, settings, headers=[(WORKER_HEADER, str(number))]),
        on_ready=lambda _url: tell("ready"),
        heartbeat=(HEARTBEAT_SECONDS, lambda: tell("alive")),
        on_shutdown=app.state.ctx.notifier.close,
    )
    server.run(sockets=[sock])


@dataclass
class _Worker:
    number: int
    process: BaseProcess
    pipe: Connection
    started: float
    last_heard: float
    ready: bool = False


@dataclass
class Supervisor:
    settings: ServerSettings
    count: int
    prepared: Prepared
    systemd: Notifier
    workers: dict[int, _Worker] = field(default_factory=dict)
    failures: dict[int, int] = field(default_factory=dict)
    """Worker number -> how many times in a row it failed soon after starting."""
    pending: dict[int, float] = field(default_factory=dict)
    """Worker number -> when to start it again (monotonic seconds)."""
    stopping: bool = False
    ever_ready: bool = False

    def run(self) -> int:
        sock = uvicorn_config("server.app:create_app", self.settings).bind_socket()
        url = listening_url(self.settings, sock)
        spawn = multiprocessing.get_context("spawn")
        wake_r, wake_w = socket.socketpair()
        wake_w.setblocking(False)
        previous = {sig: signal.signal(sig, self._on_signal) for sig in _STOP_SIGNALS}
        old_wakeup = signal.set_wakeup_fd(wake_w.fileno())
        try:
            for number in range(1, self.count + 1):
                self._start(spawn, number, sock)
            return self._loop(spawn, sock, url, wake_r)
        finally:
            self._stop_all()
            signal.set_wakeup_fd(old_wakeup)
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            wake_r.close()
            wake_w.close()
            sock.close()

    def _on_signal(self, _sig: int, _frame: FrameType | None) -> None:
        self.stopping = True

    def _start(self, spawn: Any, number: int, sock: socket.socket) -> None:
        reader, writer = spawn.Pipe(duplex=False)
        process = spawn.Process(
            target=worker_main,
            args=(number, self.settings, self.prepared, sock, writer),
            name=f"guichet-worker-{number}",
        )
        process.start()
        writer.close()
        now = time.monotonic()
        self.workers[number] = _Worker(number, process, reader, now, now)
        log.info("worker %d started (pid %s)", number, process.pid)

    def _loop(self, spawn: Any, sock: socket.socket, url: str, wake: socket.socket) -> int:
        interval = self.systemd.watchdog_interval()
        next_ping = time.monotonic()
        while not self.stopping:
            now = time.monotonic()
            if interval and now >= next_ping:
                self.systemd.watchdog()
                next_ping = now + interval
            deadline = min([now + 1.0, *self.pending.values()])
            if interval:
                deadline = min(deadline, next_ping)
            objects: list[Any] = [wake]
            for w in self.workers.values():
                objects += [w.pipe, w.process.sentinel]
            ready = wait(objects, timeout=max(0.0, deadline - now))
            if wake in ready:
                with contextlib.suppress(OSError):
                    wake.recv(512)
            now = time.monotonic()
            for w in list(self.workers.values()):
                if w.pipe in ready:
                    self._hear(w, now)
                if not self._check(w, now, exited=w.process.sentinel in ready):
                    return 1
            for number, at in list(self.pending.items()):
                if now >= at and not self.stopping:
                    del self.pending[number]
                    self._start(spawn, number, sock)
            everyone = len(self.workers) == self.count
            if not self.ever_ready and everyone and all(w.ready for w in self.workers.values()):
                self.ever_ready = True
                self.systemd.ready(f"serving {url} with {self.count} workers")
                log.info("serving %s with %d workers", url, self.count)
        return 0

    def _hear(self, w: _Worker, now: float) -> None:
        try:
            while w.pipe.poll():
                message = w.pipe.recv()
                w.last_heard = now
                if message == "ready":
                    w.ready = True
        except (EOFError, OSError):
            pass  # the worker exited; its sentinel says so

    def _check(self, w: _Worker, now: float, exited: bool) -> bool:
        """Replaces a worker that exited or went silent; False when the start failed."""
        exited = exited or not w.process.is_alive()
        limit = WORKER_TIMEOUT_SECONDS if w.ready else START_TIMEOUT_SECONDS
        silent = now - w.last_heard > limit
        if not exited and not silent:
            return True
        if not exited:
            log.error(
                "worker %d (pid %s) silent for %.0f s: killing it",
                w.number,
                w.process.pid,
                now - w.last_heard,
            )
            w.process.kill()
        w.process.join(timeout=5)
        w.pipe.close()
        del self.workers[w.number]
        if self.stopping:
            return True
        if not self.ever_ready:
            log.error(
                "worker %d exited during start-up (code %s): stopping",
                w.number,
                w.process.exitcode,
            )
            return False
        log.error("worker %d exited (code %s): replacing it", w.number, w.process.exitcode)
        quick = now - w.started < QUICK_FAILURE_SECONDS
        failures = self.failures.get(w.number, 0) + 1 if quick else 0
        self.failures[w.number] = failures
        delay = RESTART_DELAYS[min(failures, len(RESTART_DELAYS)) - 1] if failures else 0.0
        self.pending[w.number] = now + delay
        return True

    def _stop_all(self) -> None:
        if not self.workers:
            return
        self.systemd.stopping()
        for w in self.workers.values():
            if w.process.is_alive() and w.process.pid is not None:
                with contextlib.suppress(OSError):
                    os.kill(w.process.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
        for w in self.workers.values():
            w.process.join(timeout=max(0.0, deadline - time.monotonic()))
            if w.process.is_alive():
                log.error("worker %d did not stop in time: killing it", w.number)
                w.process.kill()
                w.process.join(timeout=5)
            w.pipe.close()
        self.workers.clear()


_STOP_SIGNALS = STOP_SIGNALS


def run_workers(settings: ServerSettings, count: int, systemd: Notifier) -> int:
    """Prepares the database, then supervises ``count`` workers until SIGTERM or SIGINT."""
    from server.db import create_db_engine
    from server.startup import prepare

    raise_open_files_limit()
    engine = create_db_engine(settings.database_url)
    try:
        prepared = prepare(engine, settings)
    except sa.exc.OperationalError as exc:
        log.error("cannot prepare the database: %s", str(exc.orig or exc).strip())
        return 1
    finally:
        engine.dispose()
    return Supervisor(settings, count, prepared, systemd).run()
