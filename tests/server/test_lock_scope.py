"""The site's lock is held for the decision only: what an action reads to decide is already in
memory when its state is current, and what its answer shows is read after the commit
(PostgreSQL, where the lock is ``SELECT ... FOR UPDATE`` on the site's row and other actions of
the site wait on it, from every server process)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
from sqlalchemy import event

from config.server import ServerSettings
from server.run import ServerThread
from tests.tickets.test_sync_server import CONFIG


@pytest.fixture
def server(postgres_url: str) -> Iterator[ServerThread]:
    with ServerThread(ServerSettings(database_url=postgres_url)) as s:
        yield s


def under_lock(server: ServerThread, locks: list[str]) -> list[list[str]]:
    """Records, for each transaction that locks the site's row, the statements run between
    the lock and the commit (and the statement taking the lock in ``locks``)."""
    spans: list[list[str]] = []
    locked = [False]

    def before(_c: Any, _cur: Any, statement: str, *_: Any) -> None:
        if "FOR UPDATE" in statement:
            locked[0] = True
            spans.append([])
            locks.append(" ".join(statement.split()))
        elif locked[0]:
            spans[-1].append(" ".join(statement.split()))

    def commit(_c: Any) -> None:
        locked[0] = False

    event.listen(server.ctx.engine, "before_cursor_execute", before)
    event.listen(server.ctx.engine, "commit", commit)
    return spans


def test_next_and_issue_read_nothing_under_the_lock_when_the_state_is_current(
    server: ServerThread,
) -> None:
    """GIVEN a site whose state this process holds current WHEN a ticket is issued and called
    THEN neither reads the event table under the site's lock (only writes there, in one
    statement), and the call's answer still shows the ticket and its TicketIssued (read
    after the commit)."""
    tokens = server.load_site(CONFIG)
    kiosk = {"Authorization": f"Bearer {tokens['kiosk']}"}
    board = {"Authorization": f"Bearer {tokens['board']}"}
    url = f"{server.url}/api/v1/sites/mairie"
    warm = requests.post(f"{url}/tickets", json={"service": "a"}, headers=kiosk, timeout=30)
    assert warm.status_code == 200, warm.text
    locks: list[str] = []
    spans = under_lock(server, locks)

    issued = requests.post(f"{url}/tickets", json={"service": "a"}, headers=kiosk, timeout=30)
    called = requests.post(f"{url}/counters/1/next", headers=board, timeout=30)

    assert issued.status_code == 200 and called.status_code == 200, (issued.text, called.text)
    assert len(spans) == 2
    for span in spans:
        reads = [s for s in span if s.startswith("SELECT") and "FROM events" in s]
        assert reads == [], span
        writes = [s for s in span if s.startswith("WITH inserted AS (INSERT INTO events")]
        assert len(writes) == 1, span
    # One round trip stores the action (the events, the follow token, the contacts erased,
    # the last seq and its notification); an issue took its number with the lock.
    assert [len(span) for span in spans] == [1, 1], spans
    assert "UPDATE numbering" in locks[0] and "UPDATE numbering" not in locks[1], locks
    answer = called.json()
    first = warm.json()["ticket"]
    assert answer["ticket"]["id"] == first["id"]
    assert answer["issued"]["data"]["ticket"] == first["id"]
