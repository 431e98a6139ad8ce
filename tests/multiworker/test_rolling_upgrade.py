"""A rolling upgrade with the previous release and this one side by side on one PostgreSQL.

Host A runs the previous release's code (``PREVIOUS_RELEASE``, extracted from this repository
with ``git archive``), host B this tree's, both behind HAProxy as in test_two_hosts.py. The
devices work through the proxy while both serve, then host A is taken out of the proxy,
upgraded to this tree's code and put back (the procedure of docs/deployment.md, "Rolling
upgrade"). Skipped with the reason when that commit is not in the repository (a shallow
clone). The schema rule that lets releases with additive steps do the same is checked by
tests/server/test_schema_compat.py.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tarfile
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa

from server.db import create_db_engine
from server.sites import load_site
from tests.conftest import fresh_postgres_database
from tests.multiworker.procs import REPO, ServerProcess
from tests.multiworker.test_two_hosts import (
    SITE,
    Proxy,
    configured,
    free_port,
    issue,
    kiosk_and_board,
    knows,
    ticket_ids,
    wait_for,
)
from tests.server.helpers import site_config
from tests.tickets.test_push import Device

PREVIOUS_RELEASE = os.environ.get(
    "GUICHET_PREVIOUS_RELEASE", "69e0f38ee7a033ae87cd5c5e2b4a57119a078236"
)
"""The release before this one: the first with the schema rule of server/migrations.py, at
schema version 11, where this tree has 12 (an additive step). Move it forward at each release."""

pytestmark = pytest.mark.skipif(
    shutil.which("haproxy") is None, reason="haproxy is not installed (scripts/apt-deps.sh test)"
)


@pytest.fixture
def pg_database() -> Iterator[str]:
    """A fresh database: the previous release makes its schema."""
    with fresh_postgres_database() as url:
        yield url


@pytest.fixture
def previous(tmp_path: Path) -> Path:
    """The previous release's source tree."""
    found = subprocess.run(
        ["git", "-C", str(REPO), "cat-file", "-e", f"{PREVIOUS_RELEASE}^{{commit}}"],
        capture_output=True,
        check=False,
    )
    if found.returncode != 0:
        pytest.skip(f"commit {PREVIOUS_RELEASE} is not in this repository (a shallow clone?)")
    folder = tmp_path / "previous"
    folder.mkdir()
    archive = tmp_path / "previous.tar"
    subprocess.run(
        ["git", "-C", str(REPO), "archive", f"--output={archive}", PREVIOUS_RELEASE],
        check=True,
        timeout=120,
    )
    with tarfile.open(archive) as tar:
        tar.extractall(folder, filter="data")
    return folder


@pytest.fixture
def hosts(pg_database: str, tmp_path: Path, previous: Path) -> Iterator[dict[str, ServerProcess]]:
    """``a`` (previous release), ``b`` and ``a2`` (this tree; ``a2`` is A upgraded: same
    address and port) on loopback addresses, not started."""
    made: dict[str, ServerProcess] = {}
    port_a = free_port("127.0.0.2")
    try:
        for name, address, port, code in (
            ("a", "127.0.0.2", port_a, previous),
            ("b", "127.0.0.3", free_port("127.0.0.3"), REPO),
            ("a2", "127.0.0.2", port_a, REPO),
        ):
            host = ServerProcess(tmp_path / name, pg_database, code=code)
            text = host.config.read_text(encoding="utf-8")
            text = text.replace('host = "127.0.0.1"', f'host = "{address}"')
            text = text.replace("port = 0", f"port = {port}")
            host.config.write_text(text, encoding="utf-8")
            made[name] = host
        yield made
    finally:
        for host in made.values():
            with contextlib.suppress(OSError):
                host.stop()


def ready(host: ServerProcess) -> int:
    r = requests.get(f"http://{configured(host)}/readyz", timeout=30)
    assert r.status_code == 200, r.text
    return int(r.json()["schema_version"])


def test_previous_and_current_release_serve_side_by_side_then_the_old_host_is_upgraded(
    hosts: dict[str, ServerProcess], pg_database: str, tmp_path: Path
) -> None:
    """GIVEN host A on the previous release (it made the schema) WHEN host B starts on this
    release, the kiosk issues and counters call through the proxy while both serve, then A is
    put in maintenance, restarted on this release and made ready again THEN every ticket is
    stored once, called first come first served, pushed to the board, and both hosts report
    the same schema version."""
    a, b, a2 = hosts["a"], hosts["b"], hosts["a2"]
    a.start()  # the previous release makes the schema of an empty database
    engine = create_db_engine(pg_database)
    config = site_config(SITE, counters=2)
    tokens = load_site(engine, config)
    proxy = Proxy(tmp_path, {"a": configured(a), "b": configured(b)})
    devices: list[Device] = []
    try:
        kiosk, board = kiosk_and_board(tmp_path, proxy.url, tokens, config, devices)
        for d in devices:
            d.worker.start()
            d.stream.start()
        wait_for(lambda: all(d.stream.connected for d in devices), "both streams open")
        wait_for(lambda: kiosk.journal.pool.held("civil", kiosk.journal.today()) > 0, "a lease")

        b.start()  # this release beside the previous one
        wait_for(lambda: proxy.status() == {"a": "UP", "b": "UP"}, "both hosts up")
        # A serves the schema as it found it at its start; B added this release's additive
        # steps beside it (the stored site configuration leaves settings A does not know out).
        assert ready(a) <= ready(b)
        made = [issue(kiosk) for _ in range(4)]
        # The counters call through the proxy, not through the board, so nothing holds a call
        # back until the server has the tickets (a board does: it knows them): wait for that.
        wait_for(lambda: kiosk.journal.backlog() == 0, "the kiosk's tickets uploaded")
        calls = [call(proxy, tokens, "1") for _ in range(4)]  # round robin: both hosts decide

        proxy.command("set server hosts/a state drain")
        proxy.command("set server hosts/a state maint")
        wait_for(lambda: proxy.status().get("a") == "MAINT", "host A in maintenance")
        a.stop()
        a2.start()  # host A upgraded to this release
        proxy.command("set server hosts/a state ready")
        wait_for(lambda: proxy.status() == {"a": "UP", "b": "UP"}, "host A back")
        assert ready(a2) == ready(b)
        made += [issue(kiosk) for _ in range(4)]
        wait_for(lambda: kiosk.journal.backlog() == 0, "the kiosk's tickets uploaded")
        calls += [call(proxy, tokens, "2") for _ in range(4)]

        for e in made:
            wait_for(partial(knows, board, e.id), "every ticket on the board")
        for c in calls:
            wait_for(partial(knows, board, c), "every call on the board")
        wait_for(lambda: kiosk.journal.backlog() == 0, "the kiosk's outbox empty")
        stored = ticket_ids(pg_database)
        assert sorted(stored) == sorted(set(stored)), "a ticket stored twice"
        assert sorted(stored) == sorted(e.data["ticket"] for e in made), "a ticket lost"
        with engine.connect() as conn:
            called = conn.execute(
                sa.text(
                    "SELECT data->>'ticket' FROM events WHERE site = :s "
                    "AND kind = 'TicketCalled' ORDER BY seq"
                ),
                {"s": SITE},
            ).scalars()
            assert list(called) == [e.data["ticket"] for e in made]  # once each, in order
    finally:
        for d in devices:
            d.stop()
        proxy.stop()
        engine.dispose()


def call(proxy: Proxy, tokens: dict[str, str], counter: str) -> str:
    """NEXT at ``counter`` (done with the ticket before); the call event's id."""
    r = requests.post(
        f"{proxy.url}/api/v1/sites/{SITE}/counters/{counter}/next",
        headers={"Authorization": f"Bearer {tokens['board-a']}"},
        timeout=30,
    )
    assert r.status_code == 200, r.text
    return str(next(e["id"] for e in r.json()["events"] if e["kind"] == "TicketCalled"))
