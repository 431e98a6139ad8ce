"""The event log's last line of defence: unique constraints, and the 409 instead of a gap."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace

import psycopg
import pytest
import requests
import sqlalchemy as sa

from config.server import ServerSettings
from server import db, migrations, store
from server.db import create_db_engine
from server.errors import ApiError
from server.run import ServerThread
from server.sites import load_site
from tests.server.helpers import DeviceClock, site_config


@pytest.fixture(params=["sqlite", "postgres"])
def engine(request: pytest.FixtureRequest, tmp_path: object) -> Iterator[sa.Engine]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/g.db"
    else:
        url = request.getfixturevalue("postgres_url")
    engine = create_db_engine(url)
    migrations.migrate(engine)
    load_site(engine, site_config("one"))
    load_site(engine, site_config("two"))
    yield engine
    engine.dispose()


def append(engine: sa.Engine, site: str, events: list[object]) -> None:
    with db.write(engine) as conn:
        row = db.lock_site(conn, site)
        assert row is not None
        store.append(conn, site, row.last_seq, events, time.time())  # type: ignore[arg-type]


def test_an_event_id_already_stored_for_another_site_refuses_the_whole_batch(
    engine: sa.Engine,
) -> None:
    """GIVEN an event stored for site one, WHEN site two's writer appends a batch holding the
    same id (committed by the other site meanwhile, so its own look-up missed it), THEN a 409,
    and nothing of the batch is stored: site two's sequence has no gap."""
    first = DeviceClock("kiosk-a", "one").issued(5)
    append(engine, "one", [first])
    clock = DeviceClock("kiosk-a", "two")
    fresh = clock.issued(6)
    copy = replace(clock.issued(7), id=first.id)
    with pytest.raises(ApiError) as refused:
        append(engine, "two", [fresh, copy])
    assert refused.value.status == 409 and refused.value.body.event == first.id
    with pytest.raises(ApiError) as alone:  # one event: PostgreSQL's one-statement append
        append(engine, "two", [copy])
    assert alone.value.status == 409 and alone.value.body.event == first.id
    with db.read(engine) as conn:
        assert store.last_seq(conn, "two") == 0
        assert store.since(conn, "two", 0, 10) == []
    append(engine, "two", [fresh])
    with db.read(engine) as conn:
        assert [r.seq for r in store.since(conn, "two", 0, 10)] == [1]


def test_a_follow_token_already_used_by_another_site_refuses_the_batch(engine: sa.Engine) -> None:
    first = DeviceClock("kiosk-a", "one").issued(5)
    append(engine, "one", [first])
    other = DeviceClock("kiosk-a", "two").issued(5)
    other = replace(other, data={**other.data, "token": first.data["token"]})
    with pytest.raises(ApiError) as refused:
        append(engine, "two", [other])
    assert refused.value.status == 409
    with db.read(engine) as conn:
        assert store.last_seq(conn, "two") == 0


@pytest.mark.postgres
def test_pooled_connections_that_died_while_idle_are_replaced_unseen(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN a server whose pooled connections were all cut (a database restart), WHEN the
    next requests come after the connections sat idle, THEN they are answered: each idle
    connection is checked before use and a dead one replaced."""
    with ServerThread(ServerSettings(database_url=postgres_url)) as server:
        server.load_site(site_config("one"))
        url = f"{server.url}/api/v1/public/sites/one/wait"
        with requests.Session() as http:
            assert all(http.get(url, timeout=10).status_code == 200 for _ in range(5))
            with psycopg.connect(postgres_url, autocommit=True) as admin:
                cut = admin.execute(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                    "AND application_name <> 'guichet-listen'"
                ).fetchone()
            assert cut is not None
            cut = cut[0]
            assert cut >= 1
            monkeypatch.setattr(db, "IDLE_PING_SECONDS", 0.0)
            assert [http.get(url, timeout=10).status_code for _ in range(5)] == [200] * 5
