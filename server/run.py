"""``ServerThread``: the real server (uvicorn) in a thread on a free loopback port.

For tests and the demo of every package that talks to the server::

    settings = ServerSettings(database_url=f"sqlite:///{tmp_path}/guichet.db")
    with ServerThread(settings) as server:
        tokens = server.load_site(Path("config/examples/site-townhall.toml"))
        server.add_user("alice", "correct horse", "agent", ["mairie"])
        requests.post(f"{server.url}/api/v1/sync", headers=..., json=...)
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from types import TracebackType

import uvicorn

from config.loader import load_model
from config.server import ServerSettings
from config.site import SiteConfig
from server.app import create_app
from server.auth import UserRole, create_user
from server.context import ServerContext
from server.sites import load_site

START_TIMEOUT_SECONDS = 30.0


class ServerThread:
    """Runs the server on 127.0.0.1, port chosen by the system. ``url`` has no trailing /."""

    def __init__(self, settings: ServerSettings, *, log_level: str = "warning") -> None:
        self.settings = settings
        self.app = create_app(settings)
        config = uvicorn.Config(
            self.app,
            host="127.0.0.1",
            port=0,
            log_level=log_level,
            access_log=False,
            lifespan="on",
            timeout_graceful_shutdown=2,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="guichet-server", daemon=True)
        self.url = ""

    @property
    def ctx(self) -> ServerContext:
        ctx = self.app.state.ctx
        assert isinstance(ctx, ServerContext)
        return ctx

    def start(self) -> ServerThread:
        self._thread.start()
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while not self._server.started:
            if not self._thread.is_alive():
                raise RuntimeError("the server thread stopped during start-up (see the log)")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the server did not start in time")
            time.sleep(0.01)
        port = self._server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    def stop(self) -> None:
        """Ends open streams, stops serving and waits for the thread."""
        self.ctx.notifier.close()
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def __enter__(self) -> ServerThread:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # ---- set-up shortcuts for tests and demos -------------------------------------------
    def load_site(self, site: SiteConfig | Path | str) -> dict[str, str]:
        """Creates or updates a site (a SiteConfig or a TOML file); returns the new device
        tokens by device id."""
        cfg = site if isinstance(site, SiteConfig) else load_model(SiteConfig, site)
        return load_site(self.ctx.engine, cfg)

    def add_user(self, username: str, password: str, role: str, sites: list[str]) -> None:
        create_user(self.ctx.engine, username, password, UserRole(role), sites)
