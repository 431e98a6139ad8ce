"""Settings of the central queue server (``guichet server --config FILE``)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator

from config.loader import GuichetSettings, loadable, writable_folder
from config.messages import MessageSettings
from tickets.hlc import MAX_DRIFT_SECONDS
from tickets.journal import DEFAULT_RETENTION_DAYS


class ServerSettings(GuichetSettings):
    role: Literal["server"] = "server"
    """What this file configures (check-config reads it)."""
    database_url: str = "sqlite:////var/lib/guichet/guichet.db"
    """sqlite:///relative.db, sqlite:////absolute/path.db, or postgresql://user@host/db."""
    host: str = "127.0.0.1"
    """Address to listen on."""
    port: int = Field(default=8000, ge=0, le=65535)
    """TCP port to listen on (0: a free port chosen at start, named in the log and in the
    readiness status sent to systemd)."""
    workers: int = Field(default=1, ge=1, le=64)
    """Server processes sharing the port. More than one needs PostgreSQL (docs/deployment.md)."""
    public_url: str = "http://localhost:8000"
    """Base URL citizens' phones reach: follow-my-ticket QR codes point below it."""
    site_files: list[Path] = Field(default_factory=list, max_length=100)
    """Site descriptions (TOML) loaded at start-up when their content changed since they were
    last loaded; existing sites are updated (edits made on the admin pages are then replaced)."""
    secret_key: str = Field(default="", max_length=512)
    """Secret for signing web sessions. Empty: a random key made once and kept in the database,
    shared by every server process of that database."""
    session_minutes: int = Field(default=480, ge=1, le=7 * 24 * 60)
    """Idle time after which a web session expires (minutes)."""
    max_clock_skew_seconds: float = Field(default=MAX_DRIFT_SECONDS, gt=0, le=7 * 86400)
    """The hybrid clocks' drift bound (seconds): an uploaded event stamped further ahead of the
    server's clock than this, or further than this from when it happened (its device's clock
    corrected), is re-stamped at receipt; the server's clock never follows it."""
    stream_keepalive_seconds: float = Field(default=30.0, gt=0, le=300)
    """Idle time after which a push stream sends a comment line (seconds): it keeps proxies
    from closing an idle stream, and devices take 75 s of silence for a dead link (older
    devices 45 s), so keep it well under both (nginx's
    ``proxy_read_timeout``, HAProxy's ``timeout tunnel``). Each comment costs the server a
    little CPU per open stream: a fleet at rest pays mostly for these."""
    device_history_days: int = Field(default=DEFAULT_RETENTION_DAYS, ge=1, le=3660)
    """Whole days before today a device syncing from scratch (a new device, a replaced SD
    card) receives (days): its first sync starts at the site's first event of those days,
    not at the site's first event ever. Keep it at least the devices' ``retention_days``."""
    max_body_bytes: int = Field(default=2_000_000, ge=1024, le=100_000_000)
    """Largest request body accepted (bytes)."""
    log_level: str = Field(default="INFO", pattern=r"^(DEBUG|INFO|WARNING|ERROR)$")
    """Lowest level of the messages logged: DEBUG, INFO, WARNING or ERROR."""
    appointment_retention_days: int = Field(default=90, ge=1, le=3660)
    """Days after an appointment when its personal data (name, e-mail, phone, note) is erased
    (days)."""
    messages: MessageSettings = Field(default_factory=MessageSettings)
    """E-mail and text messages about appointments (confirmation, reminder, cancellation)."""

    @field_validator("database_url")
    @classmethod
    def _url(cls, v: str) -> str:
        if not (v.startswith("sqlite://") or v.startswith(("postgresql://", "postgres://"))):
            raise ValueError("database_url must start with sqlite:// or postgresql://")
        return v

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def sqlite_path(self) -> Path | None:
        """The SQLite database file (None for PostgreSQL or an in-memory database)."""
        if not self.is_sqlite:
            return None
        rest = self.database_url.split("://", 1)[1].split("?", 1)[0]
        name = rest[1:] if rest.startswith("/") else rest
        return Path(name) if name and name != ":memory:" else None

    def prerequisites(self) -> list[str]:
        from config.site import SiteConfig

        problems: list[str] = []
        if self.workers > 1 and self.is_sqlite:
            problems.append(
                f"field 'workers': {self.workers} workers need PostgreSQL; SQLite is served by "
                "one process (set workers = 1 or use a postgresql:// database_url)"
            )
        path = self.sqlite_path
        if path is not None:
            problems += writable_folder("database_url", path)
        for site_file in self.site_files:
            problems += loadable("site_files", site_file, SiteConfig)
        return problems
