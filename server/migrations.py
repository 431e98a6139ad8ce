"""Versioned schema migrations, applied in order at start-up.

``schema_version`` records every step applied. A new step is appended to ``STEPS`` with the
next number; steps already released are never edited. Applying takes the database's write
lock (SQLite) or a transaction-scoped advisory lock (PostgreSQL), so two processes starting
together apply each step once.

Old and new servers side by side (a rolling upgrade, docs/deployment.md): a step is either

- **additive** (``oldest_server=0``, the default): a new table, a new nullable column (or one
  with a server-side default), a new index that refuses nothing an older server writes. An
  older server never names what it does not know (every statement lists its columns), so it
  runs on the newer schema unchanged; the newer server must take NULL in its new columns and
  no rows in its new tables for what older servers store meanwhile. Or
- **contracting** (``oldest_server=N``): it drops, renames or tightens something (NOT NULL, a
  new constraint) or rewrites data older code would misread. Servers that know fewer than N
  steps refuse to start on it. Contract in a later release than the one that stopped using
  what goes (expand, then contract), so that the release before runs beside it.

``schema_version.oldest_server`` records each step's bound; a server that knows fewer steps
than the database has starts when the largest bound is within what it knows, and refuses
otherwise.
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
    oldest_server: int = 0
    """The oldest program (by the newest step it knows) that may serve the database once this
    step is applied: 0 when the step is additive (any older program ignores it safely)."""


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


def _first_free(conn: Connection) -> None:
    schema.metadata.create_all(conn, tables=[schema.first_free])


def _notices(conn: Connection) -> None:
    _add_column(conn, schema.appointments, "late_notice_at")
    _add_column(conn, schema.appointments, "late_choice")
    schema.metadata.create_all(conn, tables=[schema.ticket_contacts])


STEPS: tuple[Step, ...] = (
    Step(1, "sites, events, ticket tokens, numbering, leases, devices, users", _initial),
    Step(2, "site files' content hashes, shared server keys", _shared_state),
    Step(3, "events' times corrected by the device's clock error", _occurred_at),
    Step(4, "users' read-only API tokens", _api_tokens),
    # Rewrites roles: an older server would read a "superadmin" it does not know.
    Step(
        5,
        "administrators given no site become administrators of every site",
        _superadmins,
        oldest_server=5,
    ),
    Step(6, "events' author signatures", _signatures),
    Step(7, "appointments, at most one per place of a slot", _appointments),
    Step(8, "events re-stamped at receipt, lease request ids", _restamps_and_lease_requests),
    Step(9, "appointments' reminders sent", _reminded_at),
    Step(10, 'visitors\' answers to "how was your visit?"', _feedback),
    Step(11, "each service's first free appointment slot, day by day", _first_free),
    Step(12, "appointments running late told, walk-ins' contacts to tell", _notices),
)


def current_version(conn: Connection) -> int:
    if not sa.inspect(conn).has_table("schema_version"):
        return 0
    value = conn.execute(sa.select(sa.func.max(schema.schema_version.c.version))).scalar()
    return int(value or 0)


class SchemaTooNew(RuntimeError):
    """The database has a step that needs a newer program than this one."""


def _record_bounds(conn: Connection) -> None:
    """Adds ``schema_version.oldest_server`` where a program older than this rule made the
    table, and fills it in for the steps this program knows (rows older programs wrote)."""
    sv = schema.schema_version
    _add_column(conn, sv, "oldest_server")
    for step in STEPS:
        conn.execute(
            sa.update(sv)
            .where(sv.c.version == step.version, sv.c.oldest_server.is_(None))
            .values(oldest_server=step.oldest_server)
        )


def oldest_server(conn: Connection) -> int:
    """The oldest program (by the newest step it knows) the database may be served by."""
    value = conn.execute(sa.select(sa.func.max(schema.schema_version.c.oldest_server))).scalar()
    return int(value or 0)


def migrate(engine: Engine) -> int:
    """Brings the database to the newest schema; returns its version, which is beyond this
    program's when a newer one migrated it with additive steps only (``SchemaTooNew`` when a
    step needs a newer program)."""
    with db.write(engine) as conn:
        if not db.is_sqlite(engine):
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _ADVISORY_LOCK})
        schema.schema_version.create(conn, checkfirst=True)
        _record_bounds(conn)
        version = current_version(conn)
        newest = STEPS[-1].version
        if version > newest:
            needed = oldest_server(conn)
            if needed > newest:
                raise SchemaTooNew(
                    f"the database is at schema version {version}, and its steps need a "
                    f"program that knows version {needed} at least; this one knows "
                    f"{newest}: upgrade Guichet"
                )
            log.warning(
                "the database is at schema version %d, newer than this program knows (%d); "
                "its newer steps are additive, so this program serves it as it is: upgrade "
                "it soon (a rolling upgrade, docs/deployment.md)",
                version,
                newest,
            )
            return version
        for step in STEPS:
            if step.version <= version:
                continue
            log.info("applying schema migration %d: %s", step.version, step.description)
            step.apply(conn)
            conn.execute(
                sa.insert(schema.schema_version).values(
                    version=step.version,
                    description=step.description,
                    applied_at=time.time(),
                    oldest_server=step.oldest_server,
                )
            )
            version = step.version
        return version
