"""Idle syncs answered from memory (``server.quiet``, PostgreSQL): what they answer is what the
database says, with two server processes sharing the database (two servers in this process,
each with its own memory and listening connection)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
import sqlalchemy as sa

from config.server import ServerSettings
from server import quiet, sync
from server.notify import PgNotifier
from server.quiet import QuietSyncs
from server.run import ServerThread
from server.web.devices import rotate_token
from tests.conftest import wait_until
from tests.server.conftest import start_server
from tests.server.helpers import SITE, DeviceClock, Srv, site_config, wire

pytestmark = pytest.mark.postgres


@pytest.fixture
def a(postgres_url: str) -> Iterator[Srv]:
    for srv in start_server(postgres_url):
        hearing(srv.thread)
        yield srv


@pytest.fixture
def b(a: Srv, postgres_url: str) -> Iterator[ServerThread]:
    """A second server process on the same database."""
    with ServerThread(ServerSettings(database_url=postgres_url)) as thread:
        yield hearing(thread)


def memory(thread: ServerThread) -> QuietSyncs:
    assert thread.ctx.quiet is not None
    return thread.ctx.quiet


def hearing(thread: ServerThread) -> ServerThread:
    """``thread`` once its listening connection is up: until then (as after a lost connection)
    every sync goes to the database, and what memory held is forgotten when it comes up."""
    notifier = thread.ctx.notifier
    assert isinstance(notifier, PgNotifier)
    assert wait_until(notifier.listening.is_set), "the process never heard the database"
    return thread


def sync_on(url: str, token: str, device: str, **body: Any) -> requests.Response:
    return requests.post(
        f"{url}/api/v1/sync",
        json={"device": device, **body},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )


def current(url: str, token: str, device: str) -> dict[str, Any]:
    """The device's sync from scratch, then caught up: its cursor and version are current."""
    out: dict[str, Any] = sync_on(url, token, device).json()
    while out["more"]:
        out = sync_on(url, token, device, cursor=out["cursor"]).json()
    return out


def test_an_idle_sync_is_answered_from_memory_as_the_database_would(a: Srv) -> None:
    token = a.tokens["board-a"]
    first = current(a.url, token, "board-a")
    answered = memory(a.thread).answered
    idle = sync_on(
        a.url, token, "board-a", cursor=first["cursor"], config_version=first["config_version"]
    )
    assert idle.status_code == 200, idle.text
    out = idle.json()
    assert memory(a.thread).answered == answered + 1
    assert out["events"] == [] and out["acks"] == [] and out["leases"] == []
    assert out["cursor"] == first["cursor"] and out["more"] is False
    assert out["config_version"] == first["config_version"] and out["config"] is None
    assert out["server_hlc"] > first["server_hlc"]


def test_an_event_stored_by_the_other_process_is_sent_at_once(a: Srv, b: ServerThread) -> None:
    """GIVEN a board whose idle syncs the second process answers from memory. WHEN a kiosk's
    upload is stored by the first process, each time just before the board syncs. THEN the
    board's sync brings it every time (the barrier: nothing committed before a sync is
    missed)."""
    token = a.tokens["board-a"]
    board = current(b.url, token, "board-a")
    kiosk = DeviceClock("kiosk-a")
    version = board["config_version"]
    for n in range(20):
        issued = kiosk.issued(901 + n)
        up = a.sync("kiosk-a", events=wire([issued]))
        assert up.status_code == 200, up.text
        out = sync_on(b.url, token, "board-a", cursor=board["cursor"], config_version=version)
        assert [e["id"] for e in out.json()["events"]] == [issued.id]
        board = out.json()
        idle = sync_on(b.url, token, "board-a", cursor=board["cursor"], config_version=version)
        assert idle.json()["events"] == [] and idle.json()["cursor"] == board["cursor"]
    assert memory(b).answered >= 20


def test_a_token_changed_by_the_other_process_is_refused_at_once(a: Srv, b: ServerThread) -> None:
    token = a.tokens["board-a"]
    board = current(b.url, token, "board-a")
    body = {"cursor": board["cursor"], "config_version": board["config_version"]}
    assert sync_on(b.url, token, "board-a", **body).status_code == 200
    new = rotate_token(a.thread.ctx, SITE, "board-a")
    assert new is not None
    assert sync_on(b.url, token, "board-a", **body).status_code == 401
    assert sync_on(b.url, new, "board-a", **body).status_code == 200


def test_a_configuration_changed_by_the_other_process_is_sent(a: Srv, b: ServerThread) -> None:
    token = a.tokens["board-a"]
    board = current(b.url, token, "board-a")
    body = {"cursor": board["cursor"], "config_version": board["config_version"]}
    assert sync_on(b.url, token, "board-a", **body).json()["config"] is None
    cfg = site_config()
    a.thread.load_site(cfg.model_copy(update={"site": cfg.site.model_copy(update={"name": "X"})}))
    out = sync_on(b.url, token, "board-a", **body).json()
    assert out["config_version"] != board["config_version"]
    assert out["config"] is not None and out["config"]["site"]["name"] == "X"


def test_an_event_stored_while_the_listening_connection_is_lost_is_sent(
    a: Srv, b: ServerThread
) -> None:
    """GIVEN a board whose idle syncs the second process answers from memory. WHEN the
    processes' listening connections are cut and an event is stored meanwhile (its
    notification never heard). THEN the board's next sync brings it (memory forgotten, or the
    barrier never heard: the sync goes to the database), and idle syncs are answered from
    memory again once the connection is back."""
    token = a.tokens["board-a"]
    board = current(b.url, token, "board-a")
    body = {"cursor": board["cursor"], "config_version": board["config_version"]}
    answered = memory(b).answered
    assert sync_on(b.url, token, "board-a", **body).json()["events"] == []
    assert memory(b).answered == answered + 1
    with a.engine.connect() as conn:
        cut = conn.execute(
            sa.text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE application_name = 'guichet-listen' AND datname = current_database()"
            )
        ).all()
    assert len(cut) == 2
    issued = DeviceClock("kiosk-a").issued(901)
    assert a.sync("kiosk-a", events=wire([issued])).status_code == 200
    out = sync_on(b.url, token, "board-a", **body).json()
    assert [e["id"] for e in out["events"]] == [issued.id]
    body["cursor"] = out["cursor"]
    notifier = b.ctx.notifier
    assert isinstance(notifier, PgNotifier)
    wait_until(notifier.listening.is_set)
    answered = memory(b).answered

    def from_memory() -> bool:
        assert sync_on(b.url, token, "board-a", **body).json()["events"] == []
        return memory(b).answered > answered

    wait_until(from_memory)


def test_a_device_answered_from_memory_stays_seen(a: Srv) -> None:
    """GIVEN a board whose last_seen was stored more than 30 s ago (the server's clock moved
    on). WHEN its idle sync is answered from memory. THEN its last_seen is stored anyway."""
    token = a.tokens["board-a"]
    board = current(a.url, token, "board-a")
    ctx = a.thread.ctx
    real = ctx.wall
    ctx.wall = lambda: real() + 3600.0
    try:
        answered = memory(a.thread).answered
        body = {"cursor": board["cursor"], "config_version": board["config_version"]}
        assert sync_on(a.url, token, "board-a", **body).status_code == 200
        assert memory(a.thread).answered == answered + 1
        later = ctx.now() - 60

        def seen() -> bool:
            with a.engine.connect() as conn:
                value = conn.execute(
                    sa.text("SELECT last_seen FROM devices WHERE id = 'board-a'")
                ).scalar_one()
            return value is not None and value > later

        wait_until(seen)
    finally:
        ctx.wall = real


def test_the_refresh_interval_of_last_seen_is_the_syncs() -> None:
    assert quiet.LAST_SEEN_EVERY_SECONDS == sync.LAST_SEEN_EVERY_SECONDS
