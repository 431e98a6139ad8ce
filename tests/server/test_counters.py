"""Counter actions over real HTTP, and `next` under concurrency (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading
import uuid
from collections import Counter

import requests
import sqlalchemy as sa

from tests.server.helpers import AGENT, SITE, DeviceClock, Srv, site_config, wire
from tickets.events import EventKind


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
    assert srv.act("1", "recall") == {"ticket": None, "events": [], "issued": None}

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


def test_next_answers_with_the_called_tickets_issue(srv: Srv) -> None:
    """GIVEN a ticket a board may not have pulled yet WHEN its counter presses NEXT
    THEN the answer carries the ticket's TicketIssued (as stored) with the call."""
    a1 = srv.issue("civil")
    issued = a1["events"][0]
    called = srv.act("1", "next")
    assert called["issued"] == issued
    assert srv.act("1", "done")["issued"] is None
    assert srv.act("1", "next")["issued"] is None  # nobody waits: no call


def test_a_press_is_acted_on_once(srv: Srv) -> None:
    """GIVEN a press the server decided WHEN the same press comes again (a retry)
    THEN the answer is the same decision, and nothing new is stored."""
    srv.issue("civil")
    srv.issue("civil")
    press = {"press": str(uuid.uuid4()), "budget_seconds": 30}
    first = srv.act("1", "next", json=press)
    stored = srv.count()
    again = srv.act("1", "next", json=press)
    assert again == first
    assert srv.count() == stored
    assert {e["data"]["press"] for e in first["events"]} == {press["press"]}
    assert srv.act("1", "next")["ticket"]["number"] == 2  # another press: another decision


def test_a_press_decided_by_the_board_is_not_decided_again(srv: Srv) -> None:
    """GIVEN a board that stopped waiting, decided a press alone and uploaded its decision
    WHEN the server gets round to the request for that press
    THEN it answers with the board's decision and makes nothing."""
    first = srv.issue("civil")["ticket"]["id"]
    srv.issue("civil")
    board = DeviceClock("board-a")
    press = str(uuid.uuid4())
    own = [
        board.make(EventKind.COUNTER_OPENED, counter="1", press=press),
        board.make(EventKind.TICKET_CALLED, ticket=first, counter="1", press=press),
    ]
    assert srv.sync("board-a", events=wire(own)).status_code == 200
    stored = srv.count()
    answer = srv.act("1", "next", json={"press": press})
    assert [e["id"] for e in answer["events"]] == [e.id for e in own]
    assert answer["ticket"]["id"] == first
    assert srv.count() == stored


def test_a_press_past_its_budget_is_refused_and_nothing_is_made(srv: Srv) -> None:
    """GIVEN a press whose budget is already spent when the server is ready to act
    THEN 409 press_expired, and no event."""
    srv.issue("civil")
    stored = srv.count()
    r = srv.request(
        "POST",
        f"/api/v1/sites/{SITE}/counters/1/next",
        device="board-a",
        json={"press": str(uuid.uuid4()), "budget_seconds": 1e-9},
    )
    assert r.status_code == 409, r.text
    assert (r.json()["code"], r.json()["field"]) == ("press_expired", "budget_seconds")
    assert srv.count() == stored


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


def transfer(srv: Srv, service: str) -> requests.Response:
    """Counter 1's TRANSFER to ``service``, as the board forwards it."""
    return srv.request(
        "POST",
        f"/api/v1/sites/{SITE}/counters/1/transfer",
        device="board-a",
        json={"service": service},
    )


def test_unknown_counter_and_service_are_named(srv: Srv) -> None:
    r = srv.request("POST", f"/api/v1/sites/{SITE}/counters/99/next", device="board-a")
    assert (r.status_code, r.json()["code"]) == (404, "not_found")
    assert "99" in r.json()["message"]
    r = transfer(srv, "nope")
    assert (r.status_code, r.json()["field"]) == (422, "service")
    r = srv.request("POST", f"/api/v1/sites/{SITE}/counters/1/dance", device="board-a")
    assert r.status_code == 422


def test_transfer_only_to_a_service_an_open_counter_serves(srv: Srv) -> None:
    """GIVEN counter 1 takes civil status only, and no other counter is open WHEN its agent
    transfers the ticket to passports THEN the server refuses, naming the field, and the ticket
    stays at counter 1; once counter 2 (passports) is open, the transfer goes through."""
    config = site_config()
    counters = [
        c.model_copy(update={"services": ["civil"]}) if c.id == "1" else c for c in config.counters
    ]
    srv.tokens.update(srv.thread.load_site(config.model_copy(update={"counters": counters})))
    ticket = srv.issue("civil")["ticket"]
    assert srv.act("1", "next")["ticket"]["id"] == ticket["id"]
    r = transfer(srv, "passports")
    assert (r.status_code, r.json()["field"]) == (422, "service")
    assert "no open counter" in r.json()["message"]
    assert srv.act("1", "recall")["ticket"]["status"] == "called"
    srv.act("2", "open")
    moved = srv.act("1", "transfer", json={"service": "passports"})
    assert (moved["ticket"]["id"], moved["ticket"]["service"]) == (ticket["id"], "passports")
