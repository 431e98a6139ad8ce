"""Counter actions over real HTTP, and `next` under concurrency (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading
from collections import Counter

import requests
import sqlalchemy as sa

from tests.server.helpers import AGENT, SITE, Srv


def test_next_calls_in_order_and_serves_the_previous_ticket(srv: Srv) -> None:
    a1 = srv.issue("civil")["ticket"]
    a2 = srv.issue("civil")["ticket"]
    first = srv.act("1", "next")
    assert first["ticket"]["id"] == a1["id"]
    assert first["ticket"]["status"] == "called"
    assert first["ticket"]["counter"] == "1"
    assert [e["kind"] for e in first["events"]] == ["CounterOpened", "TicketCalled"]
    second = srv.act("1", "next")
    assert second["ticket"]["id"] == a2["id"]
    assert [e["kind"] for e in second["events"]] == ["TicketServed", "TicketCalled"]
    assert second["events"][0]["data"] == {"ticket": a1["id"], "counter": "1"}
    empty = srv.act("1", "next")
    assert empty["ticket"] is None
    assert [e["kind"] for e in empty["events"]] == ["TicketServed"]
    q = srv.request("GET", f"/api/v1/sites/{SITE}/queue", device="board-a").json()
    counter1 = next(c for c in q["counters"] if c["id"] == "1")
    assert counter1["open"] is True and counter1["ticket"] is None


def test_counter_prefers_its_first_service_and_priority_first(srv: Srv) -> None:
    """GIVEN counter 2 takes passports first, then civil."""
    civil = srv.issue("civil")["ticket"]
    passport = srv.issue("passports")["ticket"]
    priority = srv.issue("civil", priority="pregnancy")["ticket"]
    assert srv.act("2", "next")["ticket"]["id"] == priority["id"]
    assert srv.act("2", "next")["ticket"]["id"] == passport["id"]
    assert srv.act("2", "next")["ticket"]["id"] == civil["id"]


def test_recall_done_no_show_transfer_open_close(srv: Srv) -> None:
    t1 = srv.issue("civil")["ticket"]
    t2 = srv.issue("civil")["ticket"]
    t3 = srv.issue("civil")["ticket"]
    srv.act("1", "next")
    recalled = srv.act("1", "recall")
    assert recalled["ticket"]["id"] == t1["id"]
    assert recalled["ticket"]["recalls"] == 1
    assert [e["kind"] for e in recalled["events"]] == ["TicketRecalled"]
    done = srv.act("1", "done")
    assert done["ticket"]["status"] == "served"
    assert srv.act("1", "recall") == {"ticket": None, "events": []}

    srv.act("1", "next")  # t2
    absent = srv.act("1", "no-show")
    assert (absent["ticket"]["id"], absent["ticket"]["status"]) == (t2["id"], "no_show")

    srv.act("1", "next")  # t3
    moved = srv.act("1", "transfer", json={"service": "passports"})
    assert moved["ticket"]["id"] == t3["id"]
    assert moved["ticket"]["service"] == "passports"
    assert moved["ticket"]["status"] == "waiting"
    assert moved["events"][0]["data"] == {
        "ticket": t3["id"],
        "service": "passports",
        "counter": "1",
    }

    closed = srv.act("1", "close")
    assert [e["kind"] for e in closed["events"]] == ["CounterClosed"]
    assert srv.act("1", "close")["events"] == []  # already closed: nothing to record
    opened = srv.act("1", "open")
    assert [e["kind"] for e in opened["events"]] == ["CounterOpened"]


def test_agent_with_password_acts_as_agent_device(srv: Srv) -> None:
    srv.issue("civil")
    r = srv.request("POST", f"/api/v1/sites/{SITE}/counters/3/next", user=AGENT)
    assert r.status_code == 200, r.text
    assert {e["device"] for e in r.json()["events"]} == {f"agent:{AGENT[0]}"}


def test_concurrent_next_never_calls_a_ticket_twice(any_srv: Srv) -> None:
    """GIVEN 60 waiting tickets WHEN 16 counters press NEXT in a loop at the same time
    THEN each ticket is called exactly once (counted in the database)."""
    tickets = {any_srv.issue("civil" if i % 3 else "passports")["ticket"]["id"] for i in range(60)}
    got: dict[str, list[str]] = {}
    errors: list[str] = []
    start = threading.Barrier(16)

    def press(counter: str) -> None:
        mine: list[str] = []
        http = requests.Session()
        start.wait()
        while True:
            r = http.post(
                f"{any_srv.url}/api/v1/sites/{SITE}/counters/{counter}/next",
                headers=any_srv.device("board-a"),
                timeout=60,
            )
            if r.status_code != 200:
                errors.append(r.text)
                return
            ticket = r.json()["ticket"]
            if ticket is None:
                break
            mine.append(ticket["id"])
        got[counter] = mine
        http.close()

    threads = [threading.Thread(target=press, args=(str(c),)) for c in range(1, 17)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    called = [tid for ids in got.values() for tid in ids]
    assert sorted(called) == sorted(tickets)
    with any_srv.engine.connect() as conn:
        per_ticket = Counter(
            conn.execute(sa.text("SELECT ticket FROM events WHERE kind = 'TicketCalled'")).scalars()
        )
    assert set(per_ticket) == tickets
    assert set(per_ticket.values()) == {1}
    assert sum(1 for ids in got.values() if ids) > 1  # the counters really did run in parallel


def test_unknown_counter_and_service_are_named(srv: Srv) -> None:
    r = srv.request("POST", f"/api/v1/sites/{SITE}/counters/99/next", device="board-a")
    assert (r.status_code, r.json()["code"]) == (404, "not_found")
    assert "99" in r.json()["message"]
    r = srv.request(
        "POST",
        f"/api/v1/sites/{SITE}/counters/1/transfer",
        device="board-a",
        json={"service": "nope"},
    )
    assert (r.status_code, r.json()["field"]) == (422, "service")
    r = srv.request("POST", f"/api/v1/sites/{SITE}/counters/1/dance", device="board-a")
    assert r.status_code == 422
