"""Bad requests get a clear 4xx in the documented error shape, never a 500, on both databases.

Each case names the request and the status and error code expected; the server must also keep
answering normally afterwards.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
import requests
import sqlalchemy as sa

from server import schema
from tests.server.helpers import ADMIN, SITE, SUPERADMIN, DeviceClock, Srv, wire
from tickets.events import EventKind

SYNC = "/api/v1/sync"
JSON = {"Content-Type": "application/json"}


def event(**changes: Any) -> dict[str, Any]:
    e = wire([DeviceClock("kiosk-a").issued(901)])[0]
    e.update(changes)
    return e


def issued_with(**data: Any) -> dict[str, Any]:
    e = event()
    e["data"] = {**e["data"], **data}
    return e


CASES: list[tuple[str, str, str, dict[str, Any], int, str]] = [
    # (name, method, path, request keywords, status, code)
    ("not JSON", "POST", SYNC, {"data": b"{oops", "headers": JSON}, 400, "malformed_json"),
    ("JSON array", "POST", SYNC, {"json": [1, 2]}, 422, "invalid"),
    ("no content type", "POST", SYNC, {"data": b'{"device":"kiosk-a"}'}, 422, "invalid"),
    ("empty body", "POST", SYNC, {"headers": JSON}, 422, "invalid"),
    ("unknown field", "POST", SYNC, {"json": {"device": "kiosk-a", "extra": 1}}, 422, "invalid"),
    ("missing device", "POST", SYNC, {"json": {"cursor": 0}}, 422, "invalid"),
    (
        "negative cursor",
        "POST",
        SYNC,
        {"json": {"device": "kiosk-a", "cursor": -1}},
        422,
        "invalid",
    ),
    ("huge cursor", "POST", SYNC, {"json": {"device": "kiosk-a", "cursor": 2**70}}, 422, "invalid"),
    (
        "NaN cursor",
        "POST",
        SYNC,
        {"data": b'{"device": "kiosk-a", "cursor": NaN}', "headers": JSON},
        422,
        "invalid",
    ),
    ("limit 0", "POST", SYNC, {"json": {"device": "kiosk-a", "limit": 0}}, 422, "invalid"),
    (
        "bad lease day",
        "POST",
        SYNC,
        {"json": {"device": "kiosk-a", "lease_requests": [{"service": "civil", "day": "soon"}]}},
        422,
        "invalid",
    ),
    ("event not UUID", "POST", SYNC, {"events": [event(id="nope")]}, 422, "invalid"),
    (
        "event upper UUID",
        "POST",
        SYNC,
        {"events": [event(id=str(uuid.uuid4()).upper())]},
        422,
        "invalid",
    ),
    ("event kind", "POST", SYNC, {"events": [event(kind="TicketEaten")]}, 422, "invalid"),
    ("event hlc", "POST", SYNC, {"events": [event(hlc="yesterday")]}, 422, "invalid"),
    ("event extra", "POST", SYNC, {"events": [event(colour="red")]}, 422, "invalid"),
    ("event data type", "POST", SYNC, {"events": [issued_with(number="7")]}, 422, "invalid"),
    ("event data field", "POST", SYNC, {"events": [issued_with(mood="ok")]}, 422, "invalid"),
    ("event data bool", "POST", SYNC, {"events": [issued_with(number=True)]}, 422, "invalid"),
    ("event number 0", "POST", SYNC, {"events": [issued_with(number=0)]}, 422, "invalid"),
    ("event day", "POST", SYNC, {"events": [issued_with(day="Monday")]}, 422, "invalid"),
    ("event token", "POST", SYNC, {"events": [issued_with(token="short")]}, 422, "invalid"),
    ("ticket NUL", "POST", SYNC, {"events": [issued_with(ticket="a\x00b")]}, 422, "invalid"),
    ("formula label", "POST", SYNC, {"events": [issued_with(label="=1+2")]}, 422, "invalid"),
    ("other label", "POST", SYNC, {"events": [issued_with(label="B007")]}, 422, "invalid"),
    (
        "formula priority",
        "POST",
        SYNC,
        {"events": [issued_with(priority='=HYPERLINK("http://x","y")')]},
        422,
        "invalid",
    ),
    ("unknown priority", "POST", SYNC, {"events": [issued_with(priority="vip")]}, 422, "invalid"),
    (
        "lone surrogate",
        "POST",
        SYNC,
        {"raw_event": issued_with(label="\\ud800")},
        422,
        "invalid",
    ),
    (
        "NaN wall time",
        "POST",
        SYNC,
        {"raw_event": {**event(), "wall_time": "NaN"}},
        422,
        "invalid",
    ),
    (
        "health NaN",
        "POST",
        SYNC,
        {"data": b'{"device": "kiosk-a", "health": {"t": NaN}}', "headers": JSON},
        422,
        "invalid",
    ),
    (
        "health surrogate key",
        "POST",
        SYNC,
        {"data": b'{"device": "kiosk-a", "health": {"\\udfff": 1}}', "headers": JSON},
        422,
        "invalid",
    ),
    (
        "deep JSON",
        "POST",
        SYNC,
        {
            "data": b'{"device": "kiosk-a", "health": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
            "headers": JSON,
        },
        400,
        "bad_request",
    ),
    ("unknown site", "GET", "/api/v1/sites/nowhere/queue", {"user": SUPERADMIN}, 404, "not_found"),
    # An administrator of other sites learns nothing of whether a site exists.
    ("site not theirs", "GET", "/api/v1/sites/nowhere/queue", {"user": ADMIN}, 403, "forbidden"),
    ("bad site id", "GET", "/api/v1/sites/No%20Way/queue", {"user": ADMIN}, 422, "invalid"),
    ("NUL in site", "GET", "/api/v1/sites/a%00b/queue", {"user": ADMIN}, 422, "invalid"),
    (
        "NUL in counter",
        "POST",
        f"/api/v1/sites/{SITE}/counters/a%00/next",
        {"user": ADMIN},
        422,
        "invalid",
    ),
    (
        "unknown counter",
        "POST",
        f"/api/v1/sites/{SITE}/counters/77/next",
        {"user": ADMIN},
        404,
        "not_found",
    ),
    (
        "unknown action",
        "POST",
        f"/api/v1/sites/{SITE}/counters/1/dance",
        {"user": ADMIN},
        422,
        "invalid",
    ),
    (
        "transfer without body",
        "POST",
        f"/api/v1/sites/{SITE}/counters/1/transfer",
        {"user": ADMIN},
        422,
        "invalid",
    ),
    (
        "issue unknown service",
        "POST",
        f"/api/v1/sites/{SITE}/tickets",
        {"user": ADMIN, "json": {"service": "bakery"}},
        422,
        "invalid",
    ),
    (
        "issue priority not offered",
        "POST",
        f"/api/v1/sites/{SITE}/tickets",
        {"user": ADMIN, "json": {"service": "passports", "priority": "pregnancy"}},
        422,
        "invalid",
    ),
    (
        "issue bad lang",
        "POST",
        f"/api/v1/sites/{SITE}/tickets",
        {"user": ADMIN, "json": {"service": "civil", "lang": "French"}},
        422,
        "invalid",
    ),
    (
        "stream bad Last-Event-ID",
        "GET",
        f"/api/v1/sites/{SITE}/stream",
        {"user": ADMIN, "headers": {"Last-Event-ID": "abc"}},
        422,
        "invalid",
    ),
    ("public unknown ticket", "GET", "/api/v1/public/tickets/" + "x" * 24, {}, 404, "not_found"),
    ("public bad token", "GET", "/api/v1/public/tickets/short", {}, 422, "invalid"),
    ("public unknown site", "GET", "/api/v1/public/sites/nowhere/wait", {}, 404, "not_found"),
    ("unknown route", "GET", "/api/v1/nothing-here", {}, 404, "not_found"),
    ("wrong method", "DELETE", SYNC, {}, 405, "method_not_allowed"),
    (
        "NUL in username",
        "GET",
        f"/api/v1/sites/{SITE}/queue",
        {"user": ("ad\x00am", "x")},
        401,
        "unauthorized",
    ),
]


@pytest.mark.parametrize(
    ("method", "path", "kw", "status", "code"),
    [pytest.param(*c[1:], id=c[0]) for c in CASES],
)
def test_bad_request_is_refused_clearly(
    shared_any_srv: Srv, method: str, path: str, kw: dict[str, Any], status: int, code: str
) -> None:
    srv = shared_any_srv
    kw = dict(kw)
    before = srv.count()
    if "events" in kw:
        kw["json"] = {"device": "kiosk-a", "events": kw.pop("events")}
    if "raw_event" in kw:
        # Written by hand: JSON escapes and NaN that the json module would not produce.
        raw = json.dumps({"device": "kiosk-a", "events": [kw.pop("raw_event")]})
        kw["data"] = raw.replace('"\\\\ud800"', '"\\ud800"').replace('"NaN"', "NaN").encode()
        kw["headers"] = JSON
    if path == SYNC and "user" not in kw:
        kw["device"] = "kiosk-a"
    r = srv.request(method, path, **kw)
    assert r.status_code == status, r.text
    body = r.json()
    assert body["code"] == code
    assert body["message"]
    assert set(body) == {"code", "message", "event", "field", "problems"}
    assert srv.count() == before
    assert srv.request("GET", "/readyz").status_code == 200


def test_oversized_body_is_413_with_or_without_content_length(shared_srv: Srv) -> None:
    limit = shared_srv.thread.settings.max_body_bytes
    big = b'{"device": "kiosk-a", "health": {"x": "' + b"y" * limit + b'"}}'
    r = shared_srv.request("POST", SYNC, device="kiosk-a", data=big, headers=JSON)
    assert (r.status_code, r.json()["code"]) == (413, "too_large")

    def chunks() -> Any:
        for i in range(0, len(big), 65536):
            yield big[i : i + 65536]

    r = shared_srv.request("POST", SYNC, device="kiosk-a", data=chunks(), headers=JSON)
    assert (r.status_code, r.json()["code"]) == (413, "too_large")
    assert shared_srv.request("GET", "/healthz").status_code == 200


def test_event_id_field_names_the_batch_position(shared_srv: Srv) -> None:
    kiosk = DeviceClock("kiosk-a")
    good = wire([kiosk.issued(901)])
    bad = event(hlc="not a clock")
    r = shared_srv.request(
        "POST", SYNC, device="kiosk-a", json={"device": "kiosk-a", "events": [*good, bad]}
    )
    assert r.status_code == 422
    assert r.json()["field"] == "events.1.hlc"
    assert r.json()["problems"][0]["loc"] == ["body", "events", 1, "hlc"]


def test_counter_event_for_unknown_ticket_is_kept_but_changes_nothing(shared_srv: Srv) -> None:
    """An event about a ticket the server never saw is a fact from a device: stored, and the
    fold ignores it (the ticket's issue may still be on its way)."""
    board = DeviceClock("board-a")
    call = board.make(EventKind.TICKET_CALLED, ticket=str(uuid.uuid4()), counter="1")
    r = shared_srv.request(
        "POST", SYNC, device="board-a", json={"device": "board-a", "events": wire([call])}
    )
    assert r.status_code == 200
    assert r.json()["acks"] == [call.id]


def test_an_unexpected_error_is_a_logged_500_with_a_generic_body(
    srv: Srv, caplog: pytest.LogCaptureFixture
) -> None:
    """GIVEN a route that fails with a bug (added for this test only)."""

    def broken() -> None:
        raise ZeroDivisionError("secret detail")

    srv.thread.app.add_api_route("/api/v1/broken", broken)
    with caplog.at_level("ERROR", logger="server.errors"):
        r = srv.request("GET", "/api/v1/broken")
    assert r.status_code == 500
    assert r.json() == {
        "code": "internal",
        "message": "internal server error",
        "event": None,
        "field": None,
        "problems": [],
    }
    assert "secret" not in r.text
    assert any(rec.exc_info and rec.exc_info[0] is ZeroDivisionError for rec in caplog.records)
    # uvicorn closes a connection whose request failed: the next request opens a new one.
    assert requests.get(f"{srv.url}/healthz", timeout=10).status_code == 200


def test_a_clock_offset_that_is_no_number_refuses_the_health_report_alone(
    shared_srv: Srv,
) -> None:
    """GIVEN health reports whose clock offset is text, a boolean or beyond any clock WHEN a
    device syncs with them THEN the server refuses naming the field "health" (the device then
    syncs without its health), and stores a report whose offset is a number."""
    for bad in ("1 h", True, 1e12):
        r = shared_srv.sync("kiosk-a", health={"clock_offset_seconds": bad})
        assert r.status_code == 422, r.text
        assert r.json()["field"] == "health"
    health = {"role": "kiosk", "clock_offset_seconds": -3725.0}
    assert shared_srv.sync("kiosk-a", health=health).status_code == 200
    d = schema.devices
    with shared_srv.engine.connect() as conn:
        stored = conn.execute(
            sa.select(d.c.health).where(d.c.site == SITE, d.c.id == "kiosk-a")
        ).scalar_one()
    assert stored == health


def test_a_ticket_with_its_own_label_and_a_site_priority_is_taken(shared_srv: Srv) -> None:
    e = issued_with(label="A901", priority="pregnancy")
    r = shared_srv.request(
        "POST", SYNC, device="kiosk-a", json={"device": "kiosk-a", "events": [e]}
    )
    assert r.status_code == 200, r.text
    assert shared_srv.count("id = :id", id=e["id"]) == 1
