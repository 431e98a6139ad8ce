"""Fixtures shared by every package's tests. Package-specific ones live in tests/<pkg>/conftest.py.

``postgres_url``: a fresh, empty PostgreSQL database for one test, dropped afterwards; the test
is skipped (with the reason shown) when no PostgreSQL server answers. The server is
``GUICHET_TEST_PG`` (default postgresql://postgres@127.0.0.1:5432/test, the admin database
used to create and drop the test's own).
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    import psycopg

PATIENCE = float(os.environ.get("GUICHET_TEST_PATIENCE", "30"))
"""The one setting behind the tests' waits (seconds): how long something that should happen
may take on a loaded machine (a shared CI runner) before the test fails. Tests wait on
conditions, never for a fixed time, and derive every timeout from this one."""


def wait_until(
    predicate: Callable[[], bool], timeout: float = PATIENCE, step: float = 0.01
) -> bool:
    """Polls ``predicate`` until it is true or ``timeout`` seconds pass; returns its last value
    (no timing is asserted)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()


PG_ADMIN_URL = os.environ.get("GUICHET_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
_pg_unreachable: list[str] = []


def _pg_admin() -> psycopg.Connection[tuple[Any, ...]]:
    import psycopg

    return psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=3)


@contextmanager
def fresh_postgres_database() -> Iterator[str]:
    """Creates a uniquely named database, yields its URL, drops it; skips when unreachable."""
    if _pg_unreachable:
        pytest.skip(_pg_unreachable[0])
    import psycopg

    try:
        admin = _pg_admin()
    except psycopg.OperationalError as exc:
        _pg_unreachable.append(f"PostgreSQL unreachable at {PG_ADMIN_URL}: {exc}".strip())
        pytest.skip(_pg_unreachable[0])
    name = f"guichet_test_{uuid.uuid4().hex[:12]}"
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        with _pg_admin() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def postgres_url() -> Iterator[str]:
    with fresh_postgres_database() as url:
        yield url
