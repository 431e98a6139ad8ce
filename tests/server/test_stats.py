"""GET /api/v1/sites/{site}/stats against a day seeded and computed by hand."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from server.stats import percentile
from tests.server.helpers import AGENT, MANAGER, SITE, DeviceClock, Srv, wire
from tickets.events import Event, EventKind

PARIS = ZoneInfo("Europe/Paris")


def at(day: str, hhmmss: str) -> float:
    return datetime.fromisoformat(f"{day}T{hhmmss}").replace(tzinfo=PARIS).timestamp()


def seed(srv: Srv) -> None:
    """2026-03-10, site time (Europe/Paris):

    civil  T1 issued 09:00:00, called 09:05 at counter 1, done 09:15   wait  300 s, service 600 s
           T2 issued 09:02:00, called 09:20 at counter 1, no-show 09:22 wait 1080 s
           T3 issued 09:10:00, called 09:25 at counter 1, served by the
              next call 09:30 (TicketServed)                         wait  900 s, service 300 s
           T4 issued 10:30:00, cancelled 11:00                       never called
           T5 issued 10:45:00                                         never called, still waiting
    passports P1 issued 14:00:00, called 14:01 at counter 2, done 14:21  wait 60 s, service 1200 s
    2026-03-11: civil U1 issued 09:00, called 09:40 at counter 1, done 09:50
                (wait 2400 s, service 600 s)
    """
    kiosk, board = DeviceClock("kiosk-a"), DeviceClock("board-a")
    d = "2026-03-10"
    issued: dict[str, Event] = {}
    kiosk_events: list[Event] = []
    for name, hhmm, service in (
        ("T1", "09:00:00", "civil"),
        ("T2", "09:02:00", "civil"),
        ("T3", "09:10:00", "civil"),
        ("T4", "10:30:00", "civil"),
        ("T5", "10:45:00", "civil"),
        ("cancel T4", "11:00:00", ""),
        ("P1", "14:00:00", "passports"),
    ):
        kiosk.at(at(d, hhmm))
        if name == "cancel T4":
            kiosk_events.append(kiosk.make(EventKind.TICKET_CANCELLED, ticket=issued["T4"].ticket))
            continue
        issued[name] = kiosk.issued(900 + len(issued), service=service)
        kiosk_events.append(issued[name])
    issued["U1"] = kiosk.at(at("2026-03-11", "09:00:00")).issued(950)
    kiosk_events.append(issued["U1"])

    def ev(day: str, time: str, kind: EventKind, name: str, counter: str) -> Event:
        return board.at(at(day, time)).make(kind, ticket=issued[name].ticket, counter=counter)

    board_events = [
        ev(d, "09:05:00", EventKind.TICKET_CALLED, "T1", "1"),
        ev(d, "09:15:00", EventKind.TICKET_SERVED, "T1", "1"),
        ev(d, "09:20:00", EventKind.TICKET_CALLED, "T2", "1"),
        ev(d, "09:22:00", EventKind.TICKET_NO_SHOW, "T2", "1"),
        ev(d, "09:25:00", EventKind.TICKET_CALLED, "T3", "1"),
        ev(d, "09:30:00", EventKind.TICKET_SERVED, "T3", "1"),
        ev(d, "14:01:00", EventKind.TICKET_CALLED, "P1", "2"),
        ev(d, "14:21:00", EventKind.TICKET_SERVED, "P1", "2"),
        ev("2026-03-11", "09:40:00", EventKind.TICKET_CALLED, "U1", "1"),
        ev("2026-03-11", "09:50:00", EventKind.TICKET_SERVED, "U1", "1"),
    ]
    # The board uploads first: the fold orders by clock, not by arrival.
    assert srv.sync("board-a", events=wire(board_events)).status_code == 200
    assert srv.sync("kiosk-a", events=wire(kiosk_events)).status_code == 200


def test_stats_of_a_seeded_day_match_the_hand_computation(srv: Srv) -> None:
    seed(srv)
    r = srv.request(
        "GET",
        f"/api/v1/sites/{SITE}/stats",
        params={"from": "2026-03-10", "to": "2026-03-10"},
        user=MANAGER,
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["from"], body["to"]) == ("2026-03-10", "2026-03-10")
    civil, passports = body["days"]
    assert civil == {
        "day": "2026-03-10",
        "service": "civil",
        "tickets": 5,
        "passages": 5,
        "transferred_in": 0,
        "transferred_out": 0,
        "called": 3,
        "never_called": 2,
        "served": 2,
        "no_shows": 1,
        "cancelled": 1,
        "waits": 3,
        # waits 300, 900, 1080 (T4 and T5 never called: counted above, not here)
        "waiting_p50_seconds": 900.0,
        "waiting_p90_seconds": pytest.approx(900 + 0.8 * 180),
        "share_waited_15_min": pytest.approx(2 / 3),
        "mean_service_seconds": 450.0,
    }
    assert passports == {
        "day": "2026-03-10",
        "service": "passports",
        "tickets": 1,
        "passages": 1,
        "transferred_in": 0,
        "transferred_out": 0,
        "called": 1,
        "never_called": 0,
        "served": 1,
        "no_shows": 0,
        "cancelled": 0,
        "waits": 1,
        "waiting_p50_seconds": 60.0,
        "waiting_p90_seconds": 60.0,
        "share_waited_15_min": 1.0,
        "mean_service_seconds": 1200.0,
    }
    assert body["arrivals_by_hour"] == [
        {"hour": 9, "tickets": 3, "by_service": {"civil": 3}},
        {"hour": 10, "tickets": 2, "by_service": {"civil": 2}},
        {"hour": 14, "tickets": 1, "by_service": {"passports": 1}},
    ]


def test_stats_range_covers_each_day_separately(srv: Srv) -> None:
    seed(srv)
    r = srv.request(
        "GET",
        f"/api/v1/sites/{SITE}/stats",
        params={"from": "2026-03-10", "to": "2026-03-11"},
        user=MANAGER,
    )
    days = [(d["day"], d["service"], d["tickets"]) for d in r.json()["days"]]
    assert days == [
        ("2026-03-10", "civil", 5),
        ("2026-03-10", "passports", 1),
        ("2026-03-11", "civil", 1),
    ]
    u1 = r.json()["days"][2]
    assert (u1["waiting_p50_seconds"], u1["share_waited_15_min"]) == (2400.0, 0.0)
    assert u1["mean_service_seconds"] == 600.0


def test_stats_need_a_manager_and_a_sane_range(srv: Srv) -> None:
    path = f"/api/v1/sites/{SITE}/stats"
    ok = {"from": "2026-03-10", "to": "2026-03-10"}
    assert srv.request("GET", path, params=ok, user=AGENT).status_code == 403
    assert srv.request("GET", path, params=ok, device="board-a").status_code == 403
    r = srv.request("GET", path, params={"from": "2026-03-10", "to": "2026-03-09"}, user=MANAGER)
    assert (r.status_code, r.json()["field"]) == (422, "to")
    r = srv.request("GET", path, params={"from": "2024-01-01", "to": "2026-01-01"}, user=MANAGER)
    assert r.status_code == 422
    r = srv.request("GET", path, params={"from": "yesterday", "to": "2026-01-01"}, user=MANAGER)
    assert r.status_code == 422


@pytest.mark.parametrize(
    ("values", "p", "expected"),
    [
        ([], 0.5, None),
        ([7.0], 0.9, 7.0),
        ([1.0, 2.0, 3.0, 4.0], 0.5, 2.5),
        ([10.0, 20.0, 30.0, 40.0, 50.0], 0.9, 46.0),
        ([3.0, 1.0, 2.0], 0.0, 1.0),
        ([3.0, 1.0, 2.0], 1.0, 3.0),
    ],
)
def test_percentile_is_linear_between_closest_ranks(
    values: list[float], p: float, expected: float | None
) -> None:
    assert percentile(values, p) == expected


def test_an_appointment_checked_in_on_two_kiosks_offline_is_one_visit(
    srv: Srv,
) -> None:
    d = "2026-03-10"
    checkins = []
    for device, hhmm, number in (("kiosk-b", "09:01:00", 30), ("kiosk-a", "09:00:00", 900)):
        e = DeviceClock(device).at(at(d, hhmm)).issued(number)
        e = replace(e, data={**e.data, "appointment": "rdv-42", "appointment_at": at(d, "09:30")})
        checkins.append(e)
        assert srv.sync(device, events=wire([e])).status_code == 200
    later, first = checkins
    r = srv.request("GET", f"/api/v1/sites/{SITE}/stats", params={"from": d, "to": d}, user=MANAGER)
    assert r.status_code == 200, r.text
    (civil,) = r.json()["days"]
    assert (civil["tickets"], civil["passages"], civil["never_called"]) == (1, 1, 1)
    # kiosk-b's check-in, later by clock though uploaded first, is the duplicate: left out
    passages = srv.request(
        "GET", f"/api/v1/sites/{SITE}/passages", params={"from": d, "to": d}, user=MANAGER
    ).json()["passages"]
    assert [p["ticket_id"] for p in passages] == [first.data["ticket"]]
    assert later.data["ticket"] != first.data["ticket"]
