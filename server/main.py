"""``guichet server``, ``guichet site load`` and ``guichet user add``."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from config.loader import ConfigError, load_model, load_ready
from config.server import ServerSettings
from config.site import SiteConfig

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

log = logging.getLogger(__name__)


def _settings(config: Path | None, **overrides: object) -> ServerSettings:
    """The server's settings once everything it needs is there (the database answers, its
    folders and site files exist); otherwise a ``ConfigError`` saying what is missing."""
    from server.preflight import database_problems

    settings = load_ready(ServerSettings, config, **overrides)
    problems = database_problems(settings)
    if problems:
        where = config or "<settings>"
        raise ConfigError(config, [f"{where}: {p}" for p in problems])
    return settings


SYSTEMD_VARIABLES = ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID")


def run_server(config: Path | None, workers: int | None) -> int:
    """Serves the API until SIGTERM or SIGINT: in this process, or with ``workers`` processes
    (PostgreSQL only) under this one. Exit 2 on a bad configuration."""
    import os

    from tickets.sdnotify import Notifier

    settings = _settings(config, **({} if workers is None else {"workers": workers}))
    count = settings.workers
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
        print(f"role {role!r}: must be one of agent, manager, admin, superadmin", file=sys.stderr)
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
    where = (
        ", ".join(sites) if sites else "every site" if user_role == UserRole.SUPERADMIN else "none"
    )
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
