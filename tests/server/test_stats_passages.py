"""Statistics per passage: a day with a transfer, computed by hand, through the real HTTP API
(JSON, CSV with HTTP Basic), on SQLite and PostgreSQL; the CSV rebuilds the JSON's figures."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.server.helpers import AGENT, MANAGER, SITE, DeviceClock, Srv, wire
from tests.server.test_stats_day import percentile_7
from tickets.events import Event, EventKind

PARIS = ZoneInfo("Europe/Paris")
DAY = "2026-03-10"
PERIOD = {"from": DAY, "to": DAY}


def at(hhmmss: str) -> float:
    return datetime.fromisoformat(f"{DAY}T{hhmmss}").replace(tzinfo=PARIS).timestamp()


def seed(srv: Srv) -> None:
    """Tuesday 2026-03-10, site time:

    A1 civil      issued 09:00, called 09:05 (counter 1), transferred to passports 09:08,
                  called 09:20 (counter 2), done 09:30
                  civil passage: wait 300, service 180; passports passage: wait 720, service 600
    A2 civil      issued 09:02, called 09:10 (counter 1), done 09:14       wait 480, service 240
    B1 passports  issued 09:05, called 09:06 (counter 2), done 09:18       wait  60, service 720
    A3 civil      issued 09:40, called 10:05 (counter 1), absent 10:07     wait 1500, no-show
    B2 passports  issued 10:10, never called
    """
    kiosk, board = DeviceClock("kiosk-a"), DeviceClock("board-a")
    issued: dict[str, Event] = {}
    for name, hhmm, service in (
        ("A1", "09:00:00", "civil"),
        ("A2", "09:02:00", "civil"),
        ("B1", "09:05:00", "passports"),
        ("A3", "09:40:00", "civil"),
        ("B2", "10:10:00", "passports"),
    ):
        issued[name] = kiosk.at(at(hhmm)).issued(900 + len(issued), service=service)

    def ev(hhmm: str, kind: EventKind, name: str, **data: Any) -> Event:
        return board.at(at(hhmm)).make(kind, ticket=issued[name].ticket, **data)

    calls = [
        ev("09:05:00", EventKind.TICKET_CALLED, "A1", counter="1"),
        ev("09:06:00", EventKind.TICKET_CALLED, "B1", counter="2"),
        ev("09:08:00", EventKind.TICKET_TRANSFERRED, "A1", counter="1", service="passports"),
        ev("09:10:00", EventKind.TICKET_CALLED, "A2", counter="1"),
        ev("09:14:00", EventKind.TICKET_SERVED, "A2", counter="1"),
        ev("09:18:00", EventKind.TICKET_SERVED, "B1", counter="2"),
        ev("09:20:00", EventKind.TICKET_CALLED, "A1", counter="2"),
        ev("09:30:00", EventKind.TICKET_SERVED, "A1", counter="2"),
        ev("10:05:00", EventKind.TICKET_CALLED, "A3", counter="1"),
        ev("10:07:00", EventKind.TICKET_NO_SHOW, "A3", counter="1"),
    ]
    assert srv.sync("kiosk-a", events=wire(list(issued.values()))).status_code == 200
    assert srv.sync("board-a", events=wire(calls)).status_code == 200


def figures(**values: Any) -> dict[str, Any]:
    base = {"transferred_in": 0, "transferred_out": 0, "no_shows": 0, "cancelled": 0}
    return base | values


CIVIL = figures(
    tickets=3,
    passages=3,
    transferred_out=1,
    called=3,
    never_called=0,
    served=1,
    no_shows=1,
    waits=3,
    waiting_p50_seconds=480.0,  # 300, 480, 1500
    waiting_p90_seconds=480 + 0.8 * 1020,
    share_waited_15_min=pytest.approx(2 / 3),
    mean_service_seconds=210.0,  # A1 until its transfer 180, A2 240
)
PASSPORTS = figures(
    tickets=2,
    passages=3,
    transferred_in=1,
    called=2,
    never_called=1,
    served=2,
    waits=2,
    waiting_p50_seconds=390.0,  # 60, 720 (A1 from its transfer)
    waiting_p90_seconds=pytest.approx(60 + 0.9 * 660),
    share_waited_15_min=1.0,
    mean_service_seconds=660.0,  # B1 720, A1 600
)
SITE_TOTAL = figures(
    tickets=5,  # distinct tickets
    passages=6,
    transferred_in=1,
    transferred_out=1,
    called=4,  # distinct tickets called at least once
    never_called=1,
    served=3,
    no_shows=1,
    waits=5,  # per passage: A1 waited twice
    waiting_p50_seconds=480.0,  # 60, 300, 480, 720, 1500
    waiting_p90_seconds=pytest.approx(720 + 0.6 * 780),
    share_waited_15_min=0.8,
    mean_service_seconds=435.0,  # 180, 240, 720, 600
)


def hour(
    h: int,
    service: str | None,
    arrivals: int,
    calls: int,
    waits: int = 0,
    p50: float | None = None,
    p90: float | None = None,
    within: float | None = None,
) -> dict:
    return {
        "hour": h,
        "service": service,
        "arrivals": arrivals,
        "calls": calls,
        "waits": waits,
        "waiting_p50_seconds": p50,
        "waiting_p90_seconds": p90 if p90 is None else pytest.approx(p90),
        "share_waited_15_min": within if within is None else pytest.approx(within),
    }


def test_a_transfer_counts_each_passage_under_its_own_service(any_srv: Srv) -> None:
    """GIVEN a day where A1 is transferred from civil to passports after its first call
    WHEN a manager asks for the statistics
    THEN civil counts A1's first wait and the time until the transfer, passports its second
    wait (from the transfer) and its service there; the site counts A1 once as a ticket."""
    seed(any_srv)
    r = any_srv.request("GET", f"/api/v1/sites/{SITE}/stats", params=PERIOD, user=MANAGER)
    assert r.status_code == 200, r.text
    body = r.json()
    civil, passports = body["days"]
    assert civil == {"day": DAY, "service": "civil", **CIVIL}
    assert passports == {"day": DAY, "service": "passports", **PASSPORTS}
    assert body["services"] == [
        {"service": "civil", **CIVIL},
        {"service": "passports", **PASSPORTS},
    ]
    assert body["total"] == SITE_TOTAL
    assert body["site_days"] == [{"day": DAY, **SITE_TOTAL}]
    # Waits by the hour the passage joined its queue; calls by the hour of the call.
    # 9 h: waits 60, 300, 480, 720, 1500 (A3 joined at 9:40, called at 10:05).
    assert body["hours"] == [
        hour(9, None, 4, 4, waits=5, p50=480.0, p90=720 + 0.6 * 780, within=0.8),
        hour(9, "civil", 3, 2, waits=3, p50=480.0, p90=480 + 0.8 * 1020, within=2 / 3),
        hour(9, "passports", 2, 2, waits=2, p50=390.0, p90=60 + 0.9 * 660, within=1.0),
        hour(10, None, 1, 1),
        hour(10, "civil", 0, 1),
        hour(10, "passports", 1, 0),
    ]
    # Arrivals at the site count tickets by the service issued for (a transfer is no arrival).
    assert body["arrivals_by_hour"] == [
        {"hour": 9, "tickets": 4, "by_service": {"civil": 3, "passports": 1}},
        {"hour": 10, "tickets": 1, "by_service": {"passports": 1}},
    ]


def csv_rows(srv: Srv, auth: tuple[str, str] = MANAGER) -> list[dict[str, str]]:
    r = srv.request("GET", f"/api/v1/sites/{SITE}/passages.csv", params=PERIOD, user=auth)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))


def test_the_csv_has_one_row_per_passage_with_its_times(srv: Srv) -> None:
    seed(srv)
    rows = csv_rows(srv)
    assert [(r["ticket"], r["passage"], r["service"], r["outcome"]) for r in rows] == [
        ("A900", "1", "civil", "transferred"),
        ("A900", "2", "passports", "served"),
        ("A901", "1", "civil", "served"),
        ("B902", "1", "passports", "served"),
        ("A903", "1", "civil", "no_show"),
        ("B904", "1", "passports", "waiting"),
    ]
    first, second = rows[0], rows[1]
    assert first["issued_at"] == first["joined_at"] == "2026-03-10T09:00:00+01:00"
    assert first["first_called_at"] == "2026-03-10T09:05:00+01:00"
    assert first["transferred_at"] == first["ended_at"] == "2026-03-10T09:08:00+01:00"
    assert (first["waited_seconds"], first["service_seconds"]) == ("300", "180")
    assert (first["final_status"], first["issued_for"]) == ("served", "civil")
    assert second["issued_at"] == "2026-03-10T09:00:00+01:00"
    assert (second["joined_by"], second["joined_at"]) == ("transfer", "2026-03-10T09:08:00+01:00")
    assert second["first_called_at"] == "2026-03-10T09:20:00+01:00"
    assert (second["transferred_at"], second["ended_at"]) == ("", "2026-03-10T09:30:00+01:00")
    assert (second["waited_seconds"], second["service_seconds"], second["counter"]) == (
        "720",
        "600",
        "2",
    )
    assert rows[4]["service_seconds"] == ""  # a no-show has no service time
    assert (rows[5]["first_called_at"], rows[5]["waited_seconds"]) == ("", "")


def test_figures_rebuilt_from_the_csv_agree_with_the_json(srv: Srv) -> None:
    """The CSV (fetched with HTTP Basic, as a BI job would) gives, by the definitions of
    docs/statistics.md, every per-service and site figure the JSON gives."""
    seed(srv)
    rows = csv_rows(srv)
    stats = srv.request("GET", f"/api/v1/sites/{SITE}/stats", params=PERIOD, user=MANAGER).json()
    passages = srv.request(
        "GET", f"/api/v1/sites/{SITE}/passages", params=PERIOD, user=MANAGER
    ).json()["passages"]
    assert len(passages) == len(rows)
    for j, c in zip(passages, rows, strict=True):
        assert {k: "" if v is None else str(v) for k, v in j.items() if k != "conflict"} == {
            k: v for k, v in c.items() if k != "conflict"
        }

    def rebuilt(selected: list[dict[str, str]]) -> dict[str, Any]:
        waits = [float(r["waited_seconds"]) for r in selected if r["waited_seconds"]]
        durations = [float(r["service_seconds"]) for r in selected if r["service_seconds"]]
        return {
            "passages": len(selected),
            "waits": len(waits),
            "waiting_p50_seconds": percentile_7(waits, 0.5),
            "waiting_p90_seconds": percentile_7(waits, 0.9),
            "share_waited_15_min": sum(w <= 900 for w in waits) / len(waits),
            "mean_service_seconds": sum(durations) / len(durations),
        }

    for s in stats["services"]:
        mine = [r for r in rows if r["service"] == s["service"]]
        assert {k: s[k] for k in rebuilt(mine)} == pytest.approx(rebuilt(mine))
        assert s["served"] == sum(r["outcome"] == "served" for r in mine)
        assert s["called"] == sum(bool(r["first_called_at"]) for r in mine)
    total = stats["total"]
    assert {k: total[k] for k in rebuilt(rows)} == pytest.approx(rebuilt(rows))
    assert total["tickets"] == len({r["ticket_id"] for r in rows})
    assert total["served"] == len({r["ticket_id"] for r in rows if r["final_status"] == "served"})


@pytest.mark.parametrize("path", ["stats", "passages", "passages.csv"])
@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31", "1999-12-31", "2200-01-01"])
def test_dates_outside_the_bounds_are_refused_clearly(srv: Srv, path: str, day: str) -> None:
    url = f"/api/v1/sites/{SITE}/{path}"
    for params in ({"from": day, "to": "2026-03-10"}, {"from": "2026-03-10", "to": day}):
        r = srv.request("GET", url, params=params, user=MANAGER)
        assert r.status_code == 422, r.text
        assert r.json()["field"] in ("from", "to", "query.from", "query.to"), r.text


def test_exports_need_a_manager(srv: Srv) -> None:
    for path in ("passages", "passages.csv"):
        url = f"/api/v1/sites/{SITE}/{path}"
        assert srv.request("GET", url, params=PERIOD).status_code == 401
        assert srv.request("GET", url, params=PERIOD, user=AGENT).status_code == 403
        assert srv.request("GET", url, params=PERIOD, device="board-a").status_code == 403


def test_the_openapi_states_the_date_bounds(srv: Srv) -> None:
    spec = srv.request("GET", "/api/v1/openapi.json").json()
    for path in ("stats", "passages", "passages.csv"):
        params = spec["paths"][f"/api/v1/sites/{{site}}/{path}"]["get"]["parameters"]
        described = {p["name"]: p.get("description", "") for p in params}
        assert "2000-01-01" in described["from"] and "2199-12-31" in described["from"]
        assert "2000-01-01" in described["to"] and "2199-12-31" in described["to"]
        # Who may call it, and how a script signs in, are in the operation's description.
        description = spec["paths"][f"/api/v1/sites/{{site}}/{path}"]["get"]["description"]
        for words in ("manager", "HTTP Basic", "curl -u", "API token", "Bearer gq_", "403"):
            assert words in description, (path, words)
