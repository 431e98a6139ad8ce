"""``guichet server``, ``guichet site load`` and ``guichet user add``."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from config.loader import load_model, load_settings
from config.server import ServerSettings
from config.site import SiteConfig

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

log = logging.getLogger(__name__)


def _settings(config: Path | None) -> ServerSettings:
    return load_settings(ServerSettings, config)


SYSTEMD_VARIABLES = ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID")


def run_server(config: Path | None, workers: int | None) -> int:
    """Serves the API until SIGTERM or SIGINT: in this process, or with ``workers`` processes
    (PostgreSQL only) under this one. Exit 2 on a bad configuration."""
    import os

    from tickets.sdnotify import Notifier

    settings = _settings(config)
    count = workers if workers is not None else settings.workers
    where = config or "settings"
    if count < 1:
        print(f"{where}: field 'workers': must be at least 1 (got {count})", file=sys.stderr)
        return 2
    if count > 1 and settings.is_sqlite:
        print(
            f"{where}: field 'workers': {count} workers need PostgreSQL; SQLite is served by "
            "one process (set workers = 1 or use a postgresql:// database_url)",
            file=sys.stderr,
        )
        return 2
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # This process alone talks to systemd (NotifyAccess=main); the workers must not inherit
    # the socket's address.
    systemd = Notifier.from_env()
    for name in SYSTEMD_VARIABLES:
        os.environ.pop(name, None)
    if count == 1:
        from server.serve import serve_single

        return serve_single(settings, systemd)
    from server.workers import run_workers

    return run_workers(settings, count, systemd)


def _engine(config: Path | None) -> Engine:
    from server import migrations
    from server.db import create_db_engine

    engine = create_db_engine(_settings(config).database_url)
    migrations.migrate(engine)
    return engine


def load_site_command(file: Path, config: Path | None, token_file: Path | None) -> int:
    """Creates or updates the site described in ``file``; prints new device tokens or writes
    them to ``token_file`` (TOML ``[tokens]``)."""
    from server.sites import load_site

    cfg = load_model(SiteConfig, file)
    engine = _engine(config)
    try:
        tokens = load_site(engine, cfg)
    except ValueError as exc:
        print(f"{file}: {exc}", file=sys.stderr)
        return 2
    finally:
        engine.dispose()
    print(
        f"site {cfg.site.id!r} loaded from {file}: {len(cfg.services)} services, "
        f"{len(cfg.counters)} counters, {len(cfg.devices)} devices"
    )
    if not tokens:
        print("every device already has a token")
        return 0
    lines = ["[tokens]", *(f'"{dev}" = "{tok}"' for dev, tok in sorted(tokens.items()))]
    if token_file is not None:
        token_file.parent.mkdir(parents=True, exist_ok=True)
        token_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
        token_file.chmod(0o600)
        print(f"{len(tokens)} new device tokens written to {token_file}")
    else:
        print("new device tokens (shown once; put each in its device's [server] token):")
        print("\n".join(lines))
    return 0


def add_user_command(
    username: str,
    role: str,
    sites: list[str],
    config: Path | None,
    password_file: Path | None,
) -> int:
    """Creates a user (or resets one); the password comes from ``password_file`` or stdin."""
    from server.auth import UserRole, create_user

    try:
        user_role = UserRole(role)
    except ValueError:
        print(f"role {role!r}: must be one of agent, manager, admin", file=sys.stderr)
        return 2
    if password_file is not None:
        try:
            password = password_file.read_text(encoding="utf-8").rstrip("\r\n")
        except OSError as exc:
            print(f"{password_file}: {exc.strerror}", file=sys.stderr)
            return 2
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    engine = _engine(config)
    try:
        create_user(engine, username, password, user_role, sites)
    except ValueError as exc:
        print(f"user {username!r}: {exc}", file=sys.stderr)
        return 2
    finally:
        engine.dispose()
    where = ", ".join(sites) if sites else "no site" if user_role != UserRole.ADMIN else "all"
    print(f"user {username!r} ({user_role.value}) saved; sites: {where}")
    return 0


def user_token_command(username: str, revoke: bool, config: Path | None) -> int:
    """Prints a new read-only API token for a manager or admin, or revokes their tokens."""
    from server import apitokens

    engine = _engine(config)
    try:
        if revoke:
            print(f"user {username!r}: {apitokens.revoke(engine, username)} API tokens revoked")
            return 0
        token = apitokens.create(engine, username)
    except ValueError as exc:
        print(f"user {username!r}: {exc}", file=sys.stderr)
        return 2
    finally:
        engine.dispose()
    print(f"API token of {username!r} (read only; shown once, send as 'Authorization: Bearer'):")
    print(token)
    return 0
