"""Settings every appliance (kiosk, board) shares: who it is and how it reaches the server."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, Field, HttpUrl, field_validator

from config.loader import STRICT, GuichetSettings, loadable, writable_folder
from tickets.journal import DEFAULT_RETENTION_DAYS
from tickets.signing import peer_key

Pixels = Annotated[int, Field(ge=100, le=10_000)]
Position = Annotated[int, Field(ge=0, le=10_000)]


class ServerLink(BaseModel):
    model_config = STRICT

    url: HttpUrl | None = None
    """Base URL of the central server, e.g. http://guichet.local:8000. None: standalone."""
    token: str = ""
    """This device's token, issued by the server's admin (``guichet site load`` prints it)."""
    timeout_seconds: float = Field(default=2.0, gt=0, le=60)
    """Timeout of one request to the server (seconds)."""
    sync_interval_seconds: float = Field(default=300.0, gt=0, le=3600)
    """Time between two safety syncs while the push stream is open (seconds, +-20 % at random
    so that a fleet's devices do not sync in step). The stream brings the site's events; the
    device syncs at once when it has something to upload, when its number lease runs low and
    when the stream (re)opens, so this only bounds how long a lost push can go unnoticed. The
    server counts a device holding its stream as seen (the fleet page) between syncs."""
    poll_interval_seconds: float = Field(default=2.0, gt=0, le=3600)
    """Time between two syncs while the push stream is not open (seconds; a proxy that does
    not pass streams, a server too old to push). Never longer than ``sync_interval_seconds``."""
    stream_reconnect_seconds: float = Field(default=1.0, gt=0, le=60)
    """Wait before reopening the push stream after it drops (seconds, with jitter)."""
    stream_reconnect_max_seconds: float = Field(default=5.0, gt=0, le=300)
    """Longest wait between two attempts to reopen the push stream while the server does not
    answer (seconds): a device notices the server is back within about this long, whatever
    the sync's backoff (``max_backoff_seconds``) has grown to."""
    resync_interval_seconds: float = Field(default=300.0, gt=0, le=86400)
    """Time between two full re-reads of the site's state, whatever push said (seconds)."""
    max_backoff_seconds: float = Field(default=60.0, gt=0, le=3600)
    """Longest wait between two sync attempts while the server does not answer (seconds);
    the wait doubles from the interval up to this, with jitter. The push stream reopening
    ends the wait early."""

    @property
    def event_key(self) -> str | None:
        """The key this device signs its events with (from its token), None without one."""
        return peer_key(self.token) if self.token else None


class PeerSettings(BaseModel):
    """Direct exchange of events with the other devices of the site over the local network,
    so a board learns about the tickets a kiosk printed while the central server is
    unreachable (see docs/offline.md). Peers check each other with keys the server hands out
    (derived from each device's token): a device must have reached the server once."""

    model_config = STRICT

    listen: str | None = None
    """Address this device answers its peers on, "host:port" (e.g. "0.0.0.0:8765").
    None: it does not answer (it may still pull from others)."""
    urls: list[HttpUrl] = Field(default_factory=list, max_length=100)
    """Base URLs of the other devices of the site, e.g. ["http://10.0.0.12:8765"]."""
    interval_seconds: float = Field(default=2.0, gt=0, le=3600)
    """Time between two pulls from each peer when nothing wakes the exchange (seconds)."""
    timeout_seconds: float = Field(default=1.0, gt=0, le=60)
    """Timeout of one request to a peer (seconds)."""
    keys_interval_seconds: float = Field(default=600.0, gt=0, le=86400)
    """Time between two fetches of the site's peer keys from the server (seconds)."""
    max_backoff_seconds: float = Field(default=30.0, gt=0, le=3600)
    """Longest wait before trying again a peer that did not answer (seconds); the wait
    doubles from ``interval_seconds`` up to this, with jitter."""

    @field_validator("listen")
    @classmethod
    def _listen(cls, v: str | None) -> str | None:
        if v is None:
            return v
        host, sep, port = v.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
            raise ValueError(f"{v!r} is not host:port (port 0 to 65535)")
        return v

    @property
    def listen_address(self) -> tuple[str, int] | None:
        """``listen`` as (host, port), None when not listening."""
        if self.listen is None:
            return None
        host, _, port = self.listen.rpartition(":")
        return host.strip("[]"), int(port)


class DeviceSettings(GuichetSettings):
    site: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,62}$")
    """The site this device belongs to."""
    device_id: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,62}$")
    """This device's id, as declared in the site's devices."""
    server: ServerLink = Field(default_factory=ServerLink)
    """How this device reaches the central server ([server])."""
    peers: PeerSettings = Field(default_factory=PeerSettings)
    """The other devices of the site reached directly on the local network ([peers])."""
    journal_path: Path = Path("/var/lib/guichet/journal.sqlite3")
    """The local SQLite journal: every event is written here before it is acted on."""
    retention_days: int = Field(default=DEFAULT_RETENTION_DAYS, ge=1, le=3660)
    """Whole days before today the journal keeps (days): older events, number leases, offline
    counters and print states are pruned once a day, except events the server has not
    acknowledged yet. The kiosk's quieter-time advice reads the 4 weeks before today: keep at
    least 28 days on a kiosk for it."""
    site_file: Path | None = None
    """A site description (TOML) to start from before the first sync, or to run standalone."""
    fullscreen: bool = True
    """Run full screen (the appliance); false opens a window (demo, development)."""
    window_size: tuple[Pixels, Pixels] = (1024, 600)
    """Window size in pixels when not full screen (width, height)."""
    window_position: tuple[Position, Position] | None = None
    """Window position in pixels when not full screen (left, top); None: where the system
    puts it."""
    log_level: str = Field(default="INFO", pattern=r"^(DEBUG|INFO|WARNING|ERROR)$")
    """Lowest level of the messages logged: DEBUG, INFO, WARNING or ERROR."""

    def window_options(self) -> dict[str, str]:
        """Kivy's ``[graphics]`` options for the window: full screen without a cursor, or a
        window of ``window_size`` at ``window_position``."""
        if self.fullscreen:
            return {"fullscreen": "auto", "show_cursor": "0"}
        options = {
            "fullscreen": "0",
            "width": str(self.window_size[0]),
            "height": str(self.window_size[1]),
        }
        if self.window_position is not None:
            options |= {
                "position": "custom",
                "left": str(self.window_position[0]),
                "top": str(self.window_position[1]),
            }
        return options

    def prerequisites(self) -> list[str]:
        problems = writable_folder("journal_path", self.journal_path)
        if self.site_file is not None:
            from config.site import SiteConfig

            problems += loadable("site_file", self.site_file, SiteConfig)
        return problems
