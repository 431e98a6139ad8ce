"""POST /api/v1/sync over real HTTP: idempotency, refusal of bad batches, leases, config."""

from __future__ import annotations

import time
from datetime import date, datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from tests.server.helpers import MANAGER, SITE, DeviceClock, Srv, wire
from tickets.events import EventKind
from tickets.hlc import HybridClock, Timestamp


def test_same_batch_twice_is_stored_once_and_acknowledged_both_times(any_srv: Srv) -> None:
    kiosk = DeviceClock("kiosk-a")
    batch = wire([kiosk.issued(n) for n in (901, 902, 903)])
    first = any_srv.sync("kiosk-a", events=batch)
    second = any_srv.sync("kiosk-a", events=batch)
    assert first.status_code == 200, first.text
    assert second.status_code == 200, second.text
    ids = [e["id"] for e in batch]
    assert first.json()["acks"] == ids
    assert second.json()["acks"] == ids
    assert any_srv.count() == 3
    with any_srv.engine.connect() as conn:
        seqs = conn.execute(sa.text("SELECT seq FROM events ORDER BY seq")).scalars().all()
        last = conn.execute(sa.text("SELECT last_seq FROM sites")).scalar_one()
    assert seqs == [1, 2, 3]
    assert last == 3


def test_a_batch_holding_events_stored_already_stores_only_the_new_ones_gapless(
    any_srv: Srv,
) -> None:
    """GIVEN a kiosk whose answer to an upload was lost, which uploads the same events again
    with new ones (the first insert meets stored ids and the upload is sorted out again).
    THEN every event is acknowledged, the new ones stored once each, the sequence gapless."""
    kiosk = DeviceClock("kiosk-a")
    first = [kiosk.issued(n) for n in (901, 902)]
    assert any_srv.sync("kiosk-a", events=wire(first)).status_code == 200
    later = [kiosk.issued(n) for n in (903, 904)]
    batch = wire([later[0], *first, later[1]])
    r = any_srv.sync("kiosk-a", events=batch)
    assert r.status_code == 200, r.text
    assert r.json()["acks"] == [e["id"] for e in batch]
    with any_srv.engine.connect() as conn:
        stored = conn.execute(sa.text("SELECT id, seq FROM events ORDER BY seq")).all()
        last = conn.execute(sa.text("SELECT last_seq FROM sites")).scalar_one()
    assert [row.seq for row in stored] == [1, 2, 3, 4]
    assert sorted(row.id for row in stored) == sorted(e["id"] for e in batch)
    assert last == 4


def test_a_follow_token_used_by_another_ticket_refuses_the_batch_naming_it(any_srv: Srv) -> None:
    kiosk = DeviceClock("kiosk-a")
    first = kiosk.issued(901)
    assert any_srv.sync("kiosk-a", events=wire([first])).status_code == 200
    fresh = kiosk.issued(902)
    copied = kiosk.issued(903).to_dict()
    copied["data"] = {**copied["data"], "token": first.data["token"]}
    r = any_srv.sync("kiosk-a", events=[*wire([fresh]), copied])
    assert r.status_code == 409, r.text
    assert r.json()["event"] == copied["id"]
    assert r.json()["field"] == "data.token"
    assert "token already used" in r.json()["message"]
    assert any_srv.count() == 1  # the valid event of the refused batch was not stored either


def test_sync_returns_events_since_cursor_with_seq_and_more(srv: Srv) -> None:
    kiosk = DeviceClock("kiosk-a")
    batch = wire([kiosk.issued(900 + n) for n in range(1, 8)])
    assert srv.sync("kiosk-a", events=batch).status_code == 200
    page = srv.sync("board-a", cursor=0, limit=5).json()
    assert [e["seq"] for e in page["events"]] == [1, 2, 3, 4, 5]
    assert page["more"] is True
    assert page["cursor"] == 5
    assert all(isinstance(e["received_at"], float) for e in page["events"])
    rest = srv.sync("board-a", cursor=page["cursor"], limit=5).json()
    assert [e["seq"] for e in rest["events"]] == [6, 7]
    assert rest["more"] is False
    assert rest["cursor"] == 7
    assert [e["id"] for e in page["events"] + rest["events"]] == [e["id"] for e in batch]
    idle = srv.sync("board-a", cursor=7).json()
    assert idle["events"] == [] and idle["cursor"] == 7 and idle["more"] is False


def test_cursor_ahead_of_the_server_starts_again_from_zero(srv: Srv) -> None:
    """GIVEN a device whose cursor is from a server database that was since replaced."""
    kiosk = DeviceClock("kiosk-a")
    srv.sync("kiosk-a", events=wire([kiosk.issued(901)]))
    out = srv.sync("board-a", cursor=500).json()
    assert [e["seq"] for e in out["events"]] == [1]
    assert out["cursor"] == 1


def test_replayed_id_with_other_content_is_409_and_stores_nothing(srv: Srv) -> None:
    kiosk = DeviceClock("kiosk-a")
    first = kiosk.issued(901)
    assert srv.sync("kiosk-a", events=wire([first])).status_code == 200
    forged = first.to_dict()
    forged["data"] = {**forged["data"], "number": 902}
    fresh = kiosk.issued(903)
    r = srv.sync("kiosk-a", events=[*wire([fresh]), forged])
    assert r.status_code == 409
    assert r.json()["code"] == "conflict"
    assert r.json()["event"] == first.id
    assert srv.count() == 1  # the valid event of the refused batch was not stored either


def test_malformed_batch_is_refused_whole_naming_event_and_field(srv: Srv) -> None:
    kiosk = DeviceClock("kiosk-a")
    good = [kiosk.issued(901), kiosk.issued(902)]
    bad = kiosk.issued(903, service="no-such-service")
    r = srv.sync("kiosk-a", events=wire([*good, bad]))
    assert r.status_code == 422
    body = r.json()
    assert body["event"] == bad.id
    assert body["field"] == "events.2.data.service"
    assert "no-such-service" in body["message"]
    assert srv.count() == 0


def test_unknown_counter_wrong_site_and_wrong_device_are_refused(srv: Srv) -> None:
    board = DeviceClock("board-a")
    kiosk = DeviceClock("kiosk-a")
    ticket = kiosk.issued(901)
    call = board.make(EventKind.TICKET_CALLED, ticket=ticket.ticket, counter="99")
    r = srv.sync("board-a", events=wire([call]))
    assert (r.status_code, r.json()["field"], r.json()["event"]) == (
        422,
        "events.0.data.counter",
        call.id,
    )

    other_site = DeviceClock("kiosk-a", site="elsewhere").issued(901)
    r = srv.sync("kiosk-a", events=wire([other_site]))
    assert (r.status_code, r.json()["field"]) == (422, "events.0.site")

    not_mine = DeviceClock("kiosk-b").issued(30)  # another's, without its signature
    r = srv.sync("kiosk-a", events=wire([not_mine]))
    assert (r.status_code, r.json()["field"]) == (403, "events.0.sig")
    assert srv.count() == 0


def test_a_kiosk_may_not_upload_calls(srv: Srv) -> None:
    kiosk = DeviceClock("kiosk-a")
    call = kiosk.make(EventKind.TICKET_CALLED, ticket="t1", counter="1")
    r = srv.sync("kiosk-a", events=wire([call]))
    assert r.status_code == 403
    assert r.json()["event"] == call.id
    assert srv.count() == 0


def test_leases_are_disjoint_and_skip_every_offline_range(any_srv: Srv) -> None:
    """GIVEN kiosk-a (offline 900-999) and kiosk-b (offline 30-49), block size 20."""
    day = date.today().isoformat()
    granted = []
    for round_ in range(4):
        for kiosk in ("kiosk-a", "kiosk-b"):
            requests_ = [{"service": "civil", "day": day}]
            if round_ == 0:
                requests_.append({"service": "passports", "day": day})
            r = any_srv.sync(kiosk, lease_requests=requests_)
            assert r.status_code == 200, r.text
            granted += [(kiosk, lease) for lease in r.json()["leases"]]
    civil = sorted(
        (lease["start"], lease["end"]) for _, lease in granted if lease["service"] == "civil"
    )
    assert civil == [
        (1, 20),
        (21, 29),
        (50, 69),
        (70, 89),
        (90, 109),
        (110, 129),
        (130, 149),
        (150, 169),
    ]
    numbers = [n for lo, hi in civil for n in range(lo, hi + 1)]
    assert len(numbers) == len(set(numbers))
    assert not set(numbers) & set(range(30, 50))
    passports = [lease for _, lease in granted if lease["service"] == "passports"]
    assert sorted((p["start"], p["end"]) for p in passports) == [(1, 20), (21, 29)]
    with any_srv.engine.connect() as conn:
        stored = conn.execute(sa.text("SELECT count(*) FROM leases")).scalar_one()
    assert stored == len(granted)


def test_tickets_the_server_issues_follow_the_leases_and_skip_offline_ranges(
    any_srv: Srv,
) -> None:
    """GIVEN kiosk-b (offline 30-49) WHEN the server issues tickets itself, before and after
    a kiosk's lease THEN the numbers run on from the leases, never into 30-49, each once."""
    first = any_srv.issue("civil")["ticket"]
    day = first["day"]  # the site's today
    numbers = [first["number"], *(any_srv.issue("civil")["ticket"]["number"] for _ in range(4))]
    lease = any_srv.sync("kiosk-a", lease_requests=[{"service": "civil", "day": day}])
    assert lease.json()["leases"][0]["start"] == 6
    numbers += [any_srv.issue("civil")["ticket"]["number"] for _ in range(12)]
    assert numbers == [1, 2, 3, 4, 5, *range(26, 30), *range(50, 58)]
    assert any_srv.issue("passports")["ticket"]["number"] == 1


def test_a_board_gets_no_lease_and_unknown_service_is_named(srv: Srv) -> None:
    day = date.today().isoformat()
    r = srv.sync("board-a", lease_requests=[{"service": "civil", "day": day}])
    assert r.status_code == 403
    r = srv.sync("kiosk-a", lease_requests=[{"service": "nope", "day": day}])
    assert (r.status_code, r.json()["field"]) == (422, "lease_requests.0.service")


def test_config_is_sent_only_when_the_version_differs(srv: Srv) -> None:
    first = srv.sync("kiosk-a", config_version="").json()
    assert first["config"]["site"]["id"] == SITE
    assert [s["id"] for s in first["config"]["services"]] == ["civil", "passports"]
    again = srv.sync("kiosk-a", config_version=first["config_version"]).json()
    assert again["config"] is None
    assert again["config_version"] == first["config_version"]


def test_health_is_stored_on_the_device_and_bounded(srv: Srv) -> None:
    health = {"printer": "paper_near_end", "backlog": 3, "version": "0.1.0"}
    assert srv.sync("kiosk-a", health=health).status_code == 200
    with srv.engine.connect() as conn:
        row = conn.execute(
            sa.text("SELECT health, last_seen FROM devices WHERE id = 'kiosk-a'")
        ).one()
    import json

    stored = row.health if isinstance(row.health, dict) else json.loads(row.health)
    assert stored == health
    assert row.last_seen is not None
    r = srv.sync("kiosk-a", health={"log": "x" * 10_000})
    assert (r.status_code, r.json()["field"]) == (422, "health")


def test_server_clock_moves_past_uploaded_events(srv: Srv) -> None:
    """GIVEN a kiosk whose clock is a minute ahead of the server's."""
    kiosk = DeviceClock("kiosk-a", wall=time.time() + 60)
    event = kiosk.issued(901)
    out = srv.sync("kiosk-a", events=wire([event])).json()
    assert out["server_hlc"] > event.hlc.encode()
    # and a call the server makes afterwards is ordered after the ticket's issue
    called = srv.act("1", "next")
    assert called["ticket"]["id"] == event.ticket


def _times(srv: Srv, event_id: str) -> tuple[float | None, float]:
    with srv.engine.connect() as conn:
        row = conn.execute(
            sa.text("SELECT occurred_at, received_at FROM events WHERE id = :id"), {"id": event_id}
        ).one()
    return row.occurred_at, row.received_at


def test_uploaded_events_are_timed_by_the_device_clock_corrected_by_its_error(
    any_srv: Srv,
) -> None:
    """GIVEN a kiosk an hour ahead that issued a ticket at 09:59:30 and uploads it at 10:00 with
    its clock's reading WHEN a counter calls the ticket ten minutes later
    THEN the ticket's time is its wall time corrected by the error the server measured, its
    stamp (an hour ahead: no time) is that corrected time, the call is stamped after it, and
    the statistics count the true wait."""
    ten = datetime(2026, 3, 10, 10, 0, tzinfo=ZoneInfo("Europe/Paris")).timestamp()
    now = [ten]
    any_srv.thread.ctx.wall = lambda: now[0]
    any_srv.thread.ctx.clock = HybridClock("server", lambda: now[0])
    kiosk = DeviceClock("kiosk-a", wall=ten + 3600 - 30)
    ticket = kiosk.issued(901, day="2026-03-10")
    r = any_srv.sync("kiosk-a", events=wire([ticket]), device_time=ten + 3600)
    assert r.status_code == 200, r.text
    occurred, received = _times(any_srv, ticket.id)
    assert (occurred, received) == (ten - 30, ten)
    (stored,) = [e for e in r.json()["events"] if e["id"] == ticket.id]
    assert (stored["hlc"], stored["original_hlc"]) == (
        Timestamp(int((ten - 30) * 1000), 0, "kiosk-a").encode(),
        ticket.hlc.encode(),
    )
    now[0] += 600
    called = any_srv.act("1", "next")
    assert called["ticket"]["id"] == ticket.ticket
    assert called["events"][-1]["hlc"] > stored["hlc"]
    assert Timestamp.decode(called["events"][-1]["hlc"]).seconds == ten + 600
    r = any_srv.request(
        "GET",
        f"/api/v1/sites/{SITE}/stats",
        params={"from": "2026-03-10", "to": "2026-03-10"},
        user=MANAGER,
    )
    assert r.status_code == 200, r.text
    (civil,) = r.json()["days"]
    assert civil["waiting_p50_seconds"] == 630
    assert r.json()["arrivals_by_hour"] == [{"hour": 9, "tickets": 1, "by_service": {"civil": 1}}]


def test_a_right_clock_keeps_its_wall_time_and_no_reading_keeps_the_event_clock(
    srv: Srv,
) -> None:
    """A clock error within the tolerance is no error (the measure holds the request's travel
    time); an upload without the device's reading (an older device) leaves the time unknown:
    the event's clock stands for it, as before."""
    now = time.time()
    right = DeviceClock("kiosk-a", wall=now - 1.0).issued(901)
    assert srv.sync("kiosk-a", events=wire([right]), device_time=now).status_code == 200
    assert _times(srv, right.id)[0] == right.wall_time
    unknown = DeviceClock("kiosk-b", wall=now + 3600).issued(30)
    assert srv.sync("kiosk-b", events=wire([unknown])).status_code == 200
    assert _times(srv, unknown.id)[0] is None
    bad = srv.sync("kiosk-a", events=[], device_time=-5)
    assert (bad.status_code, bad.json()["field"]) == (422, "device_time")


def test_a_device_syncing_from_scratch_receives_the_recent_days_not_all_history(
    srv: Srv,
) -> None:
    """GIVEN a site whose events go back 100 days (35 days sent to new devices) WHEN a new
    board syncs with cursor 0 THEN it receives the events of the last 35 whole days and today
    only, and then carries on from there; a device whose cursor is older still receives
    every event after its cursor."""
    from server import db, store

    now = time.time()
    kiosk = DeviceClock("kiosk-a")
    old = [kiosk.at(now - days * 86400).issued(1) for days in (100, 60, 37)]
    recent = [kiosk.at(now - days * 86400).issued(1) for days in (20, 1)]
    with db.write(srv.engine) as conn:
        store.append(conn, SITE, store.last_seq(conn, SITE), [*old, *recent], now)
    kiosk.wall = None
    today = kiosk.issued(2)
    assert srv.sync("kiosk-a", events=wire([today])).status_code == 200

    first = srv.sync("board-a", cursor=0).json()
    assert [e["id"] for e in first["events"]] == [e.id for e in (*recent, today)]
    assert first["cursor"] == 6
    assert srv.sync("board-a", cursor=first["cursor"]).json()["events"] == []
    behind = srv.sync("board-a", cursor=1).json()
    assert [e["id"] for e in behind["events"]] == [e.id for e in (*old[1:], *recent, today)]
