"""Serving the application with uvicorn, and telling systemd how it goes.

``GuichetServer`` is uvicorn's server with two hooks: ``on_ready`` once the socket listens (the
application's lifespan start-up runs before that, so it cannot say it), and a heartbeat from
the event loop (a blocked loop stops it). A single server process sends systemd READY=1 and
WATCHDOG=1 itself (``serve_single``); with several workers the supervising process does
(``server.workers``) and each worker's heartbeat goes to the supervisor.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import resource
import signal
import socket
import threading
from collections.abc import Callable, Iterator

import uvicorn
from fastapi import FastAPI

from config.server import ServerSettings
from server.context import ServerContext
from tickets.sdnotify import Notifier

log = logging.getLogger(__name__)

GRACEFUL_SHUTDOWN_SECONDS = 5
KEEP_ALIVE_SECONDS = 75
"""How long an idle keep-alive connection stays open (seconds): longer than a reverse proxy
keeps its idle upstream connections (nginx: 60 s), so the proxy never reuses one the server
has just closed (a 502 for a POST, which it does not retry)."""
OPEN_FILES_WANTED = 65_536
"""Every open stream is a socket: a worker holding thousands of boards' streams needs more
than the usual soft limit of 1,024 open files."""


GC_THRESHOLDS = (20_000, 20, 20)
"""Python's collector thresholds in a serving process (default 700, 10, 10): collections of
the young objects 28 times rarer, and so far fewer full ones."""


def tune_garbage_collector() -> None:
    """Keeps the cyclic garbage collector from pausing the process for long.

    A process serving a thousand sites holds their queue states: half a million objects, which
    every full collection walks (0.4 to 0.7 s here, during which nothing is served: the p99 of
    every request and push). What exists once the application is built (modules, routes) is
    frozen out of all collections, and collections are made rarer; garbage without cycles is
    freed at once by reference counting either way."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def raise_open_files_limit() -> int:
    """Raises this process's soft limit of open files towards the hard limit; returns it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = OPEN_FILES_WANTED if hard == resource.RLIM_INFINITY else min(hard, OPEN_FILES_WANTED)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
            return wanted
    return soft


def uvicorn_config(
    app: FastAPI | str, settings: ServerSettings, headers: list[tuple[str, str]] | None = None
) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
        proxy_headers=True,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
        headers=headers,
    )


def listening_url(settings: ServerSettings, sock: socket.socket) -> str:
    host = settings.host if ":" not in settings.host else f"[{settings.host}]"
    return f"http://{host}:{sock.getsockname()[1]}"


class GuichetServer(uvicorn.Server):
    def __init__(
        self,
        config: uvicorn.Config,
        *,
        on_ready: Callable[[str], None] | None = None,
        heartbeat: tuple[float, Callable[[], object]] | None = None,
        on_shutdown: Callable[[], None] | None = None,
    ) -> None:
        super().__init__(config)
        self.on_ready = on_ready
        self.heartbeat = heartbeat
        self.on_shutdown = on_shutdown
        self._beating: asyncio.Task[None] | None = None

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if not self.started or self.should_exit:
            return
        if self.on_ready is not None:
            self.on_ready(self.url())
        if self.heartbeat is not None:
            self._beating = asyncio.create_task(self._beat(*self.heartbeat))

    def url(self) -> str:
        sock = self.servers[0].sockets[0]
        host, port = sock.getsockname()[:2]
        return f"http://{host}:{port}" if ":" not in host else f"http://[{host}]:{port}"

    async def _beat(self, interval: float, beat: Callable[[], object]) -> None:
        while True:
            beat()
            await asyncio.sleep(interval)

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        """uvicorn's graceful stop on SIGINT and SIGTERM, and on SIGHUP too (the terminal that
        started the server closed), whatever the process inherited."""
        if threading.current_thread() is not threading.main_thread():
            with super().capture_signals():
                yield
            return
        previous = signal.signal(signal.SIGHUP, self.handle_exit)
        try:
            with super().capture_signals():
                yield
        finally:
            signal.signal(signal.SIGHUP, previous)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        if self._beating is not None:
            self._beating.cancel()
        # Live streams end now; they would otherwise hold the graceful shutdown to its end.
        if self.on_shutdown is not None:
            self.on_shutdown()
        await super().shutdown(sockets)
        # A stop asked by SIGTERM or SIGINT is complete: exit 0 rather than be killed by the
        # signal uvicorn would raise again.
        self._captured_signals.clear()


def serve_single(settings: ServerSettings, systemd: Notifier) -> int:
    """Serves in this process until SIGTERM or SIGINT; READY=1 once listening."""
    from server.app import create_app

    raise_open_files_limit()
    app = create_app(settings)
    tune_garbage_collector()
    ctx: ServerContext = app.state.ctx
    interval = systemd.watchdog_interval()

    def ready(url: str) -> None:
        systemd.ready(f"serving {url}")

    def stopping() -> None:
        systemd.stopping()
        ctx.notifier.close()

    server = GuichetServer(
        uvicorn_config(app, settings),
        on_ready=ready,
        heartbeat=(interval, systemd.watchdog) if interval else None,
        on_shutdown=stopping,
    )
    server.run()
    return 0 if server.started else 1
