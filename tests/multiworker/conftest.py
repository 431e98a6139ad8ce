"""Two real server processes (``guichet server``, each on its own loopback port) on one fresh
PostgreSQL database for the whole session: what two workers, or two machines behind a proxy,
look like to the devices. Skipped with the reason when PostgreSQL is unreachable.

Each test works on a site of its own (``pair.site()``), so tests do not see each other's events.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
import sqlalchemy as sa

from server import migrations
from server.db import create_db_engine
from server.sites import load_site
from tests.conftest import fresh_postgres_database
from tests.multiworker.procs import ServerProcess
from tests.server.helpers import site_config


@dataclass
class Site:
    id: str
    tokens: dict[str, str]

    def auth(self, device: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[device]}"}


@dataclass
class Pair:
    """Processes ``a`` and ``b`` serving one database (``engine``, for set-up and counting)."""

    database_url: str
    engine: sa.Engine
    a: ServerProcess
    b: ServerProcess
    http: requests.Session = field(default_factory=requests.Session)

    def site(self, counters: int = 16) -> Site:
        site_id = f"mw-{uuid.uuid4().hex[:10]}"
        tokens = load_site(self.engine, site_config(site_id, counters))
        return Site(site_id, tokens)

    def rows(self, sql: str, **params: Any) -> list[Any]:
        with self.engine.connect() as conn:
            return list(conn.execute(sa.text(sql), params))


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    with fresh_postgres_database() as url:
        yield url


@pytest.fixture(scope="session")
def pair(pg_database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    engine = create_db_engine(pg_database)
    migrations.migrate(engine)
    root: Path = tmp_path_factory.mktemp("multiworker")
    a = ServerProcess(root / "a", pg_database)
    b = ServerProcess(root / "b", pg_database)
    try:
        a.start()
        b.start()
        pair = Pair(pg_database, engine, a, b)
        yield pair
        pair.http.close()
    finally:
        a.stop()
        b.stop()
        engine.dispose()
