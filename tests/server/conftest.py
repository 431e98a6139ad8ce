"""The real server on loopback (``ServerThread``) over SQLite files and PostgreSQL.

``srv`` runs the test site (tests/server/helpers.py) on SQLite; ``any_srv`` runs it once on
SQLite and once on PostgreSQL (skipped with the reason when PostgreSQL is unreachable).
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from config.server import ServerSettings
from server.auth import hash_password, store_user
from server.run import ServerThread
from tests.conftest import fresh_postgres_database
from tests.mailboxes import Gateway, Inbox, sms_gateway, smtp_server
from tests.server.helpers import (
    ADMIN,
    AGENT,
    MANAGER,
    OTHER_AGENT,
    SITE,
    SUPERADMIN,
    Srv,
    site_config,
)


@functools.cache
def hashed(password: str) -> str:
    return hash_password(password)  # once per test session: argon2 is slow by design


def start_server(database_url: str, **settings: Any) -> Iterator[Srv]:
    thread = ServerThread(ServerSettings(database_url=database_url, **settings))
    with thread:
        tokens = thread.load_site(site_config())
        engine = thread.ctx.engine
        for (name, password), role in ((AGENT, "agent"), (MANAGER, "manager"), (ADMIN, "admin")):
            store_user(engine, name, hashed(password), role, [SITE])
        store_user(engine, OTHER_AGENT[0], hashed(OTHER_AGENT[1]), "agent", ["elsewhere"])
        store_user(engine, SUPERADMIN[0], hashed(SUPERADMIN[1]), "superadmin", [])
        srv = Srv(thread, tokens)
        yield srv
        srv.http.close()


@pytest.fixture
def srv(tmp_path: Path) -> Iterator[Srv]:
    yield from start_server(f"sqlite:///{tmp_path}/guichet.db")


@pytest.fixture(params=["sqlite", "postgres"])
def any_srv(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Srv]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/guichet.db"
    else:
        url = request.getfixturevalue("postgres_url")
    yield from start_server(url)


@pytest.fixture(scope="module")
def shared_srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Srv]:
    """One server for a whole module of tests that do not depend on each other's events."""
    path = tmp_path_factory.mktemp("shared")
    yield from start_server(f"sqlite:///{path}/guichet.db")


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def shared_any_srv(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Srv]:
    """``shared_srv`` on SQLite, then on PostgreSQL."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("shared")
        yield from start_server(f"sqlite:///{path}/guichet.db")
        return
    with fresh_postgres_database() as url:
        yield from start_server(url)


@pytest.fixture
def smtp() -> Iterator[tuple[int, Inbox]]:
    """An SMTP server on loopback (aiosmtpd): its port, and what it received."""
    with smtp_server() as found:
        yield found


@pytest.fixture
def gateway() -> Iterator[Gateway]:
    """An HTTP SMS gateway on loopback, recording each message."""
    with sms_gateway() as found:
        yield found
