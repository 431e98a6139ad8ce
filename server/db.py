"""The database: engine creation for SQLite and PostgreSQL, and the per-site write lock.

SQLite (the default) runs in WAL mode with foreign keys and a busy timeout; writes start with
``BEGIN IMMEDIATE`` so they serialise at the start of the transaction, not at its first write.
PostgreSQL (psycopg 3) serialises writers of one site with ``SELECT ... FOR UPDATE`` on the
site's row. Either way, every transaction that appends events to a site holds that site's lock
until it commits, so sequence numbers are gapless and ``next`` can never hand out a ticket twice.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import namedtuple
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from server import schema

_WRITE = "guichet_write"
_SINGLE = "guichet_single"
SQLITE_BUSY_TIMEOUT_SECONDS = 30.0
REQUEST_THREADS = 16
"""Threads of one server process that run requests' database work at once (counter actions,
live streams, pages, reads). More do not serve more: one process runs Python on one core, and
under load 40 threads served fewer requests than 8 or 16, contending for the interpreter."""
SYNC_THREADS = 8
"""Threads of one server process that run devices' syncs, apart from the others: a fleet's
syncs queue for these while calls and live streams go on (docs/performance.md)."""
POOL_SIZE = REQUEST_THREADS + SYNC_THREADS
"""Database connections of one server process, kept open once made (PostgreSQL: plus one
listening for notifications)."""
IDLE_PING_SECONDS = 10.0
"""A pooled PostgreSQL connection idle this long is checked before use (seconds)."""


def sqlalchemy_url(database_url: str) -> str:
    """Our settings say ``postgresql://``; SQLAlchemy needs the driver named (psycopg 3)."""
    for prefix in ("postgresql://", "postgres://"):
        if database_url.startswith(prefix):
            return "postgresql+psycopg://" + database_url[len(prefix) :]
    return database_url


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def create_db_engine(database_url: str) -> Engine:
    """An engine for ``database_url`` with the pragmas and locking Guichet relies on."""
    url = sqlalchemy_url(database_url)
    if url.startswith("sqlite"):
        engine = sa.create_engine(
            url,
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS, "check_same_thread": False},
            pool_size=POOL_SIZE,
            max_overflow=0,
        )
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    # As many connections as the threads that may run requests at once, kept open once made: a
    # pool that closes its overflow connections on return opens a new one (a PostgreSQL
    # backend process) for almost every request under load.
    engine = sa.create_engine(url, pool_size=POOL_SIZE, max_overflow=0, pool_timeout=30)
    event.listen(engine, "checkin", _remember_checkin)
    event.listen(engine, "checkout", _ping_if_idle)
    return engine


def _remember_checkin(_dbapi_connection: Any, record: Any) -> None:
    record.info["idle_since"] = time.monotonic()


def _ping_if_idle(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
    """Checks a connection that sat idle in the pool before handing it out (the database may
    have restarted meanwhile); the pool then replaces a dead one. A connection in steady use
    is not pinged: that would be one more round trip per request."""
    since = record.info.get("idle_since")
    if since is None or time.monotonic() - since < IDLE_PING_SECONDS:
        return
    try:
        with dbapi_connection.cursor() as cur:
            cur.execute("SELECT 1")
        if not dbapi_connection.autocommit:
            dbapi_connection.rollback()
    except Exception as exc:
        raise sa.exc.DisconnectionError(str(exc)) from exc


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy's "begin" event emit BEGIN itself (the sqlite3 module's implicit
    # transactions would start them lazily, after our BEGIN IMMEDIATE had no effect).
    dbapi_connection.isolation_level = None
    cur = dbapi_connection.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    # FULL: an acknowledged event survives a power cut (devices drop it from their outbox).
    cur.execute("PRAGMA synchronous=FULL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute(f"PRAGMA busy_timeout={int(SQLITE_BUSY_TIMEOUT_SECONDS * 1000)}")
    cur.close()


def _sqlite_begin(conn: Connection) -> None:
    options = conn.get_execution_options()
    if options.get(_SINGLE, False):
        return  # one statement: SQLite runs it atomically without BEGIN
    conn.exec_driver_sql("BEGIN IMMEDIATE" if options.get(_WRITE, False) else "BEGIN")


@contextmanager
def read(engine: Engine) -> Iterator[Connection]:
    """A connection for reading, outside any explicit transaction (each statement sees what
    was committed when it ran; no BEGIN/ROLLBACK round trips). Readers that combine several
    statements must not need them to agree (the event log's gapless ``seq`` makes that easy).
    """
    with engine.connect() as conn:
        if is_sqlite(engine):
            yield conn.execution_options(**{_SINGLE: True})
        else:
            yield conn.execution_options(isolation_level="AUTOCOMMIT")


_writer_locks: dict[int, threading.Lock] = {}
_writer_locks_guard = threading.Lock()


def _writer_lock(engine: Engine) -> threading.Lock:
    with _writer_locks_guard:
        return _writer_locks.setdefault(id(engine.pool), threading.Lock())


@contextmanager
def write(engine: Engine) -> Iterator[Connection]:
    """A write transaction; on SQLite it holds the database's write lock from the start.

    SQLite writers of this process first queue on a lock of their own: SQLite's busy handler
    makes waiting writers sleep and poll, which under contention lets some wait for seconds
    while others go through; the queue hands the database over as soon as it is free.
    ``BEGIN IMMEDIATE`` still guards against other processes (``guichet site load``)."""
    with contextlib.ExitStack() as stack:
        if is_sqlite(engine):
            stack.enter_context(_writer_lock(engine))
        conn = stack.enter_context(engine.connect()).execution_options(**{_WRITE: True})
        stack.enter_context(conn.begin())
        yield conn


@contextmanager
def write_one(engine: Engine) -> Iterator[Connection]:
    """A connection for one writing statement that needs no other (atomic on its own): no
    BEGIN/COMMIT round trips on PostgreSQL; SQLite still queues for its write lock."""
    if is_sqlite(engine):
        with write(engine) as conn:
            yield conn
    else:
        with engine.connect() as conn:
            yield conn.execution_options(isolation_level="AUTOCOMMIT")


@contextmanager
def transaction(conn: Connection) -> Iterator[Connection]:
    """A write transaction on a connection from ``read``: the request that read with it (a
    sync: its device, then maybe an upload) writes on it too, one connection from the pool
    instead of one per step. The transaction is explicit (``BEGIN``, ``COMMIT``, or
    ``ROLLBACK`` when the block raises), as ``write``'s: on SQLite it queues on the
    process's writer lock and takes the database's at ``BEGIN IMMEDIATE``."""
    sqlite_ = is_sqlite(conn.engine)
    with _writer_lock(conn.engine) if sqlite_ else contextlib.nullcontext():
        conn.exec_driver_sql("BEGIN IMMEDIATE" if sqlite_ else "BEGIN")
        try:
            yield conn
        except BaseException:
            with contextlib.suppress(Exception):  # a broken connection: the pool drops it
                conn.exec_driver_sql("ROLLBACK")
            raise
        conn.exec_driver_sql("COMMIT")


def commit_now(conn: Connection) -> None:
    """Commits a ``write`` transaction before its block ends (the block must then run no
    more statements): nothing when it was committed already (a statement sent with its
    ``COMMIT``, ``DriverQuery.rows``); SQLAlchemy's own commit at the block's end then finds
    nothing to do. Raises when the commit fails."""
    conn.connection.driver_connection.commit()  # type: ignore[union-attr]


def lock_site(conn: Connection, site: str) -> Any:
    """Takes the site's write lock (PostgreSQL; SQLite already holds the database's) and
    returns its ``id``, ``config_version`` and ``last_seq``, or None when the site does not
    exist."""
    query = _SITE_ROW if is_sqlite(conn.engine) else _LOCK_SITE
    rows = query.rows(conn, {"site": site})
    return rows[0] if rows else None


def insert(conn: Connection, table: sa.Table) -> Any:
    """An INSERT of the connection's dialect, which offers ``on_conflict_do_nothing``."""
    if is_sqlite(conn.engine):
        return sqlite.insert(table)
    return postgresql.insert(table)


class DriverQuery:
    """A statement of the busiest paths run on the driver's own cursor.

    The statement (a SELECT, or an INSERT, UPDATE or DELETE, with or without RETURNING) is written
    with SQLAlchemy and compiled once per dialect; each run skips SQLAlchemy's execution
    machinery (about 0.1 ms of CPU per statement here, as much as the query itself costs
    SQLite or PostgreSQL), keeping its type conversions both ways (JSON as text on SQLite,
    wrapped for psycopg on PostgreSQL). Rows have the same attribute names as SQLAlchemy's;
    a statement without RETURNING gives no rows. The statement runs in whatever transaction
    ``conn`` is in; listeners of ``before_cursor_execute`` and ``after_cursor_execute`` see
    it. Every parameter the statement binds must be given (no defaults are applied)."""

    def __init__(self, statement: sa.Select[Any] | sa.Insert | sa.Update | sa.Delete) -> None:
        self.statement = statement
        self._by_dialect: dict[str, _Compiled] = {}
        self._guard = threading.Lock()

    def rows(self, conn: Connection, params: dict[str, Any], *, commit: bool = False) -> list[Any]:
        """The statement's rows. With ``commit`` (PostgreSQL), the transaction is committed in
        the same round trip (the statement and ``COMMIT`` sent together in the driver's
        pipeline mode); an error of the statement then raises and nothing is committed."""
        compiled = self._by_dialect.get(conn.dialect.name)
        if compiled is None:
            with self._guard:
                compiled = self._by_dialect.setdefault(
                    conn.dialect.name, _Compiled(self.statement, conn.dialect)
                )
        return compiled.run(conn, params, commit)

    def run(self, conn: Connection, params: dict[str, Any]) -> None:
        """Runs a statement that returns nothing."""
        self.rows(conn, params)


class _Compiled:
    def __init__(
        self, statement: sa.Select[Any] | sa.Insert | sa.Update | sa.Delete, dialect: sa.Dialect
    ) -> None:
        self.compiled = statement.compile(dialect=dialect)
        self.sql = str(self.compiled)
        self.positions = self.compiled.positiontup
        self.binds: list[tuple[str, Callable[[Any], Any]]] = list(
            self.compiled._bind_processors.items()  # type: ignore[arg-type]
        )
        self.dialect = dialect
        self.columns = list(statement.exported_columns)
        self.row_type: Any = namedtuple("Row", [c.key for c in self.columns])  # type: ignore[misc]
        self.processors: list[Callable[[Any], Any] | None] | None = None

    def _processors(self, description: Any) -> list[Callable[[Any], Any] | None]:
        """SQLAlchemy's conversion of each column (None: none), for the driver's types."""
        dialect = self.dialect
        return [
            c.type.dialect_impl(dialect).result_processor(dialect, d[1])
            for c, d in zip(self.columns, description, strict=True)
        ]

    def run(self, conn: Connection, params: dict[str, Any], commit: bool = False) -> list[Any]:
        values = self.compiled.construct_params(params)
        for key, process in self.binds:  # as SQLAlchemy does, None included
            values[key] = process(values[key])
        args: Any = values if self.positions is None else [values[k] for k in self.positions]
        driver: Any = conn.connection.driver_connection
        cursor = driver.cursor()
        before, after = conn.dispatch.before_cursor_execute, conn.dispatch.after_cursor_execute
        try:
            if before:  # listeners of the engine's events see these statements too
                before(conn, cursor, self.sql, args, None, False)
            if commit and not is_sqlite(conn.engine):
                with driver.pipeline():
                    cursor.execute(self.sql, args)
                    driver.commit()  # SQLAlchemy's own commit then finds nothing to do
            else:
                cursor.execute(self.sql, args)
            if after:
                after(conn, cursor, self.sql, args, None, False)
            if not self.columns:
                return []
            fetched = cursor.fetchall()
            processors = self.processors
            if processors is None:
                processors = self.processors = self._processors(cursor.description)
        finally:
            cursor.close()
        make = self.row_type._make
        if not any(processors):
            return [make(r) for r in fetched]
        return [
            make([v if f is None else f(v) for f, v in zip(processors, r, strict=True)])
            for r in fetched
        ]


_S = schema.sites
_SITE_COLUMNS = sa.select(_S.c.id, _S.c.config_version, _S.c.last_seq).where(
    _S.c.id == sa.bindparam("site")
)
"""What the lock returns: not the configuration (``SiteRegistry.from_row`` holds it parsed, by
version; decoding its JSON at every action cost more than the rest of the row)."""
_SITE_ROW = DriverQuery(_SITE_COLUMNS)
_LOCK_SITE = DriverQuery(_SITE_COLUMNS.with_for_update())
