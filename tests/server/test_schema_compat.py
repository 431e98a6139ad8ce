"""Old and new servers on one database: the rule of server/migrations.py.

A step is additive (an older server runs on it unchanged) or contracting (servers that know
fewer steps than it names refuse to start). These tests hold the steps to their word and
show this program, as the "old" server of the next release, serving a database that
release expanded: what a rolling upgrade (docs/deployment.md) needs from both sides.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import sqlalchemy as sa

from config.server import ServerSettings
from server import migrations
from server.db import create_db_engine
from server.run import ServerThread
from tests.server.helpers import SITE, Srv, site_config

NEWEST = migrations.STEPS[-1].version
NEXT = NEWEST + 1


def record_step(engine: sa.Engine, version: int, oldest_server: int) -> None:
    """What a newer release's ``migrate`` writes once it applied step ``version``."""
    with engine.begin() as conn:
        conn.execute(
            sa.insert(sa.table("schema_version", *map(sa.column, Row))).values(
                version=version,
                description="from the next release",
                applied_at=0.0,
                oldest_server=oldest_server,
            )
        )


Row = ("version", "description", "applied_at", "oldest_server")


def test_a_contracting_step_of_a_newer_release_is_refused(tmp_path: Path) -> None:
    engine = create_db_engine(f"sqlite:///{tmp_path}/m.db")
    migrations.migrate(engine)
    record_step(engine, NEXT, oldest_server=NEXT)
    with pytest.raises(migrations.SchemaTooNew, match=f"know {NEXT}|knows version {NEXT}"):
        migrations.migrate(engine)
    engine.dispose()


def test_additive_steps_of_a_newer_release_are_served_as_they_are(tmp_path: Path) -> None:
    engine = create_db_engine(f"sqlite:///{tmp_path}/m.db")
    migrations.migrate(engine)
    record_step(engine, NEXT, oldest_server=0)
    record_step(engine, NEXT + 1, oldest_server=NEWEST)  # a contraction this program meets
    assert migrations.migrate(engine) == NEXT + 1
    with engine.connect() as conn:
        versions = conn.execute(sa.text("SELECT max(version) FROM schema_version")).scalar()
    assert versions == NEXT + 1  # nothing applied, nothing recorded by the older program
    engine.dispose()


def test_a_database_made_before_the_rule_gets_each_steps_bound(tmp_path: Path) -> None:
    """GIVEN a database whose ``schema_version`` an older program made (no ``oldest_server``)
    WHEN this program starts THEN the column is added and every known step's bound filled."""
    engine = create_db_engine(f"sqlite:///{tmp_path}/m.db")
    migrations.migrate(engine)
    with engine.begin() as conn:
        conn.execute(sa.text("ALTER TABLE schema_version DROP COLUMN oldest_server"))
    assert migrations.migrate(engine) == NEWEST
    with engine.connect() as conn:
        bounds: dict[int, int] = dict(
            conn.execute(sa.text("SELECT version, oldest_server FROM schema_version")).all()
        )
    assert bounds == {s.version: s.oldest_server for s in migrations.STEPS}
    engine.dispose()


def shape(conn: sa.Connection) -> dict[str, Any]:
    """Each table's columns (whether an insert may leave them out) and unique indexes."""
    inspector = sa.inspect(conn)
    out: dict[str, Any] = {}
    for table in inspector.get_table_names():
        columns = {
            c["name"]: bool(c["nullable"] or c.get("default") is not None or c.get("autoincrement"))
            for c in inspector.get_columns(table)
        }
        pk = set(inspector.get_pk_constraint(table)["constrained_columns"])
        unique = {
            tuple(i["column_names"]) for i in inspector.get_indexes(table) if i.get("unique")
        } | {tuple(u["column_names"]) for u in inspector.get_unique_constraints(table)}
        out[table] = {"columns": columns, "pk": pk, "unique": unique}
    return out


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/m.db"
    else:
        from tests.conftest import fresh_postgres_database

        with fresh_postgres_database() as url:
            yield url


def test_every_step_marked_additive_only_adds(
    empty_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN the database at each step in turn WHEN a step marked additive is applied THEN no
    table, column or key goes, no column an older server's inserts leave out becomes
    required, and no uniqueness an older server's rows could break is added to a table it
    knew."""
    engine = create_db_engine(empty_database)
    steps = migrations.STEPS
    try:
        before: dict[str, Any] = {}
        for i, step in enumerate(steps):
            monkeypatch.setattr(migrations, "STEPS", steps[: i + 1])
            migrations.migrate(engine)
            with engine.connect() as conn:
                after = shape(conn)
            if step.oldest_server == 0 and i > 0:
                for table, old in before.items():
                    new = after.get(table)
                    assert new is not None, f"step {step.version} drops table {table}"
                    assert set(old["columns"]) <= set(new["columns"]), (table, step.version)
                    added = set(new["columns"]) - set(old["columns"])
                    required = [c for c in added if not new["columns"][c]]
                    assert not required, f"step {step.version}: {table}.{required} NOT NULL"
                    assert new["pk"] == old["pk"], (table, step.version)
                    assert new["unique"] <= old["unique"], f"step {step.version}: {table}"
            before = after
    finally:
        engine.dispose()


def test_this_server_serves_a_database_the_next_release_expanded(postgres_url: str) -> None:
    """GIVEN a database the next release migrated with an additive step (a nullable column
    and one with a server-side default on the events, a new table) and rows that release
    wrote with them WHEN this program (the old release) serves it THEN it starts, says it is
    ready at the database's version, issues and calls tickets, and its rows take the new
    columns' defaults."""
    engine = create_db_engine(postgres_url)
    migrations.migrate(engine)
    with engine.begin() as conn:
        conn.execute(sa.text("ALTER TABLE events ADD COLUMN next_note TEXT"))
        conn.execute(
            sa.text("ALTER TABLE events ADD COLUMN next_flag BOOLEAN NOT NULL DEFAULT false")
        )
        conn.execute(sa.text("CREATE TABLE next_things (id TEXT PRIMARY KEY)"))
    record_step(engine, NEXT, oldest_server=0)
    engine.dispose()
    settings = ServerSettings(database_url=postgres_url, secret_key="compat")
    with ServerThread(settings) as thread:
        srv = Srv(thread, thread.load_site(site_config(counters=2)))
        ready = requests.get(f"{srv.url}/readyz", timeout=30)
        assert ready.status_code == 200 and ready.json()["schema_version"] == NEXT
        first = srv.issue("civil")
        with srv.engine.begin() as conn:  # the next release's server marks that event
            conn.execute(
                sa.text("UPDATE events SET next_note = 'new', next_flag = true WHERE site = :s"),
                {"s": SITE},
            )
        second = srv.issue("civil")
        called = srv.act("1", "next")["ticket"]
        assert called["id"] == first["ticket"]["id"]
        queue = srv.request("GET", f"/api/v1/sites/{SITE}/queue", device="board-a")
        assert queue.status_code == 200, queue.text
        assert second["ticket"]["label"] in queue.text
        with srv.engine.connect() as conn:
            mine = conn.execute(
                sa.text("SELECT next_note, next_flag FROM events WHERE site = :s AND seq > 1"),
                {"s": SITE},
            ).all()
        assert mine and {tuple(r) for r in mine} <= {(None, False), ("new", True)}
        assert (None, False) in {tuple(r) for r in mine}
        srv.http.close()
