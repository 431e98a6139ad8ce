"""The public endpoints (no credentials): waiting times per service, follow my ticket."""

from __future__ import annotations

from tests.server.helpers import SITE, DeviceClock, Srv, wire

WAIT = f"/api/v1/public/sites/{SITE}/wait"


def test_public_wait_counts_and_estimates_per_service(srv: Srv) -> None:
    for _ in range(3):
        srv.issue("civil")
    srv.issue("passports")
    srv.act("1", "open")
    srv.act("3", "open")
    r = srv.request("GET", WAIT)
    assert r.status_code == 200
    assert r.headers["Cache-Control"] == "public, max-age=10"
    services = {s["id"]: s for s in r.json()["services"]}
    # civil: 3 waiting x 5 min seed / 2 open counters taking civil (1 and 3)
    assert services["civil"]["waiting"] == 3
    assert services["civil"]["estimated_wait_seconds"] == 3 * 300 / 2
    assert services["civil"]["open_now"] is True
    # passports: 1 x 10 min / 2 open counters (1 and 3 take it too)
    assert services["passports"]["waiting"] == 1
    assert services["passports"]["estimated_wait_seconds"] == 600 / 2
    assert r.json()["name"] == "Test town hall"
    assert "Authorization" not in r.request.headers


def test_follow_my_ticket_from_waiting_to_called(srv: Srv) -> None:
    first = srv.issue("civil")
    second = srv.issue("civil")
    path = f"/api/v1/public/tickets/{second['token']}"
    waiting = srv.request("GET", path).json()
    assert waiting["status"] == "waiting"
    assert waiting["people_ahead"] == 1
    assert waiting["label"] == second["ticket"]["label"]
    assert waiting["estimated_wait_seconds"] == 300.0  # one ahead, 5 min, one counter at least
    assert waiting["counter"] is None
    assert srv.act("3", "next")["ticket"]["id"] == first["ticket"]["id"]
    assert srv.request("GET", path).json()["people_ahead"] == 0
    srv.act("3", "next")
    called = srv.request("GET", path).json()
    assert called["status"] == "called"
    assert (called["counter"], called["counter_label"]) == ("3", "Guichet 3")
    assert called["estimated_wait_seconds"] is None
    assert set(called) == {
        "label",
        "service",
        "service_names",
        "status",
        "day",
        "people_ahead",
        "estimated_wait_seconds",
        "counter",
        "counter_label",
        "priority",  # a yes/no: the reason is never published
        "recalls",
        "transferred_from",
        "transferred_from_names",
        "appointment_at",  # a checked-in appointment's time
        "late",  # an appointment told it runs late: times and the choice
        "step_out",  # a walk-in's contact left: the channel only, never the contact
    }  # nothing personal, no ids
    assert called["priority"] is False and called["transferred_from"] is None


def test_follow_page_of_a_ticket_printed_by_a_kiosk_offline(srv: Srv) -> None:
    """GIVEN a ticket from a kiosk's offline range, uploaded later with its token."""
    kiosk = DeviceClock("kiosk-a")
    event = kiosk.issued(901)
    srv.sync("kiosk-a", events=wire([event]))
    r = srv.request("GET", f"/api/v1/public/tickets/{event.data['token']}")
    assert r.status_code == 200
    assert (r.json()["label"], r.json()["status"]) == ("A901", "waiting")


def test_follow_page_of_an_old_ticket_outside_the_live_window(srv: Srv) -> None:
    """GIVEN a ticket issued and served ten days ago."""
    import time

    ago = time.time() - 10 * 86400
    kiosk, board = DeviceClock("kiosk-a", wall=ago), DeviceClock("board-a", wall=ago + 60)
    issued = kiosk.issued(905)
    from tickets.events import EventKind

    calls = [
        board.make(EventKind.TICKET_CALLED, ticket=issued.ticket, counter="2"),
        board.at(ago + 120).make(EventKind.TICKET_SERVED, ticket=issued.ticket, counter="2"),
    ]
    srv.sync("kiosk-a", events=wire([issued]))
    srv.sync("board-a", events=wire(calls))
    r = srv.request("GET", f"/api/v1/public/tickets/{issued.data['token']}")
    assert r.status_code == 200
    assert (r.json()["status"], r.json()["people_ahead"], r.json()["counter"]) == (
        "served",
        0,
        None,
    )
