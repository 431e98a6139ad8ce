"""Versioned schema migrations, applied in order at start-up.

``schema_version`` records every step applied. A new step is appended to ``STEPS`` with the
next number; steps already released are never edited. Applying takes the database's write
lock (SQLite) or a transaction-scoped advisory lock (PostgreSQL), so two processes starting
together apply each step once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from server import db, schema

log = logging.getLogger(__name__)

_ADVISORY_LOCK = 0x6775_6963_6865  # "guiche": any constant unique to this application


@dataclass(frozen=True)
class Step:
    version: int
    description: str
    apply: Callable[[Connection], None]


def _initial(conn: Connection) -> None:
    tables = [
        schema.sites,
        schema.events,
        schema.ticket_tokens,
        schema.numbering,
        schema.leases,
        schema.devices,
        schema.users,
    ]
    schema.metadata.create_all(conn, tables=tables)


def _shared_state(conn: Connection) -> None:
    schema.metadata.create_all(conn, tables=[schema.site_files, schema.server_keys])


def _add_column(conn: Connection, table: sa.Table, name: str) -> None:
    """Adds ``table.c[name]`` (nullable) unless it is there: step 1 creates the tables as
    ``schema`` has them now, so a database made since already has it."""
    if name in {c["name"] for c in sa.inspect(conn).get_columns(table.name)}:
        return
    column = table.c[name]
    kind = column.type.compile(dialect=conn.dialect)
    conn.execute(sa.text(f'ALTER TABLE {table.name} ADD COLUMN "{name}" {kind}'))


def _occurred_at(conn: Connection) -> None:
    # Events stored before keep NULL: their clock stands for their time, as it did.
    _add_column(conn, schema.events, "occurred_at")


def _api_tokens(conn: Connection) -> None:
    schema.metadata.create_all(conn, tables=[schema.api_tokens])


def _superadmins(conn: Connection) -> None:
    # An admin used to act on every site whatever sites they were given; now an admin works
    # for their sites. Those given none were meant for every site: they keep it, by the role
    # that says so. Those given sites keep exactly those.
    u = schema.users
    rows = conn.execute(sa.select(u.c.username, u.c.sites).where(u.c.role == "admin")).all()
    for row in rows:
        if not row.sites:
            conn.execute(sa.update(u).where(u.c.username == row.username).values(role="superadmin"))


def _signatures(conn: Connection) -> None:
    # Events stored before keep NULL: devices relay only signed events of others.
    _add_column(conn, schema.events, "sig")


def _appointments(conn: Connection) -> None:
    schema.metadata.create_all(conn, tables=[schema.appointments])


def _restamps_and_lease_requests(conn: Connection) -> None:
    _add_column(conn, schema.events, "original_hlc")
    _add_column(conn, schema.leases, "request")


def _reminded_at(conn: Connection) -> None:
    _add_column(conn, schema.appointments, "reminded_at")


def _feedback(conn: Connection) -> None:
    schema.metadata.create_all(conn, tables=[schema.feedback])


def _notices(conn: Connection) -> None:
    _add_column(conn, schema.appointments, "late_notice_at")
    _add_column(conn, schema.appointments, "late_choice")
    schema.metadata.create_all(conn, tables=[schema.ticket_contacts])


STEPS: tuple[Step, ...] = (
    Step(1, "sites, events, ticket tokens, numbering, leases, devices, users", _initial),
    Step(2, "site files' content hashes, shared server keys", _shared_state),
    Step(3, "events' times corrected by the device's clock error", _occurred_at),
    Step(4, "users' read-only API tokens", _api_tokens),
    Step(5, "administrators given no site become administrators of every site", _superadmins),
    Step(6, "events' author signatures", _signatures),
    Step(7, "appointments, at most one per place of a slot", _appointments),
    Step(8, "events re-stamped at receipt, lease request ids", _restamps_and_lease_requests),
    Step(9, "appointments' reminders sent", _reminded_at),
    Step(10, 'visitors\' answers to "how was your visit?"', _feedback),
    Step(11, "appointments running late told, walk-ins' contacts to tell", _notices),
)


def current_version(conn: Connection) -> int:
    if not sa.inspect(conn).has_table("schema_version"):
        return 0
    value = conn.execute(sa.select(sa.func.max(schema.schema_version.c.version))).scalar()
    return int(value or 0)


def migrate(engine: Engine) -> int:
    """Brings the database to the newest schema; returns its version."""
    with db.write(engine) as conn:
        if not db.is_sqlite(engine):
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _ADVISORY_LOCK})
        schema.schema_version.create(conn, checkfirst=True)
        version = current_version(conn)
        newest = STEPS[-1].version
        if version > newest:
            raise RuntimeError(
                f"the database is at schema version {version}, newer than this program "
                f"knows ({newest}): upgrade Guichet"
            )
        for step in STEPS:
            if step.version <= version:
                continue
            log.info("applying schema migration %d: %s", step.version, step.description)
            step.apply(conn)
            conn.execute(
                sa.insert(schema.schema_version).values(
                    version=step.version, description=step.description, applied_at=time.time()
                )
            )
            version = step.version
        return version
