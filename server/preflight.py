"""What the server needs before it can start, beyond its settings' own fields: the database
answers and exists (``check-config`` and ``guichet server`` say the same lines)."""

from __future__ import annotations

import sqlalchemy as sa

from config.server import ServerSettings
from server.db import sqlalchemy_url

CONNECT_TIMEOUT_SECONDS = 5
"""How long the check waits for PostgreSQL to answer (seconds)."""


def database_problems(settings: ServerSettings) -> list[str]:
    """Why the database of ``settings`` cannot be used (empty when it can). SQLite is checked
    by its folder (``ServerSettings.prerequisites``): the file is made at the first start."""
    if settings.is_sqlite:
        return []
    engine = sa.create_engine(
        sqlalchemy_url(settings.database_url),
        connect_args={"connect_timeout": CONNECT_TIMEOUT_SECONDS},
        poolclass=sa.pool.NullPool,
    )
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except sa.exc.SQLAlchemyError as exc:
        cause = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        why = cause[0] if cause else type(exc).__name__
        return [f"field 'database_url': PostgreSQL cannot be used: {why}"]
    finally:
        engine.dispose()
    return []
