"""GET /api/v1/sites/{site}/stream: server-sent events, live and resumed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import sqlalchemy as sa

from tests.conftest import wait_until
from tests.server.helpers import AGENT, SITE, Srv


def sse_messages(response: requests.Response) -> Iterator[dict[str, Any]]:
    """Parses a text/event-stream into messages ({"id", "event", "data"} or {"comment"})."""
    message: dict[str, Any] = {}
    for raw in response.iter_lines(decode_unicode=True):
        if raw == "":
            if message:
                yield message
            message = {}
            continue
        if raw.startswith(":"):
            yield {"comment": raw[1:].strip()}
            continue
        name, _, value = raw.partition(":")
        message[name] = value[1:] if value.startswith(" ") else value


def events_of(response: requests.Response, count: int) -> list[dict[str, Any]]:
    out = []
    for m in sse_messages(response):
        if "event" in m:
            out.append(m)
            if len(out) == count:
                break
    return out


def open_stream(srv: Srv, **kw: Any) -> requests.Response:
    r = srv.request("GET", f"/api/v1/sites/{SITE}/stream", device="board-a", stream=True, **kw)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/event-stream")
    return r


def test_stream_pushes_a_call_as_it_happens(any_srv: Srv) -> None:
    ticket = any_srv.issue("civil")["ticket"]
    with open_stream(any_srv, params={"max_seconds": 20}) as stream:
        called = any_srv.act("2", "next")
        got = events_of(stream, 2)
    assert [m["event"] for m in got] == ["CounterOpened", "TicketCalled"]
    data = json.loads(got[1]["data"])
    assert data["data"] == {"ticket": ticket["id"], "counter": "2"}
    assert [int(m["id"]) for m in got] == [e["seq"] for e in called["events"]]
    assert data == called["events"][1]


def test_stream_resumes_after_last_event_id_without_gap_or_repeat(srv: Srv) -> None:
    for _ in range(3):
        srv.issue("civil")
    with open_stream(srv, params={"cursor": 0, "max_seconds": 20}) as stream:
        first = events_of(stream, 2)
    assert [int(m["id"]) for m in first] == [1, 2]
    srv.act("1", "next")  # seq 4 and 5, made while the client was away
    headers = {"Last-Event-ID": first[-1]["id"]}
    # The URL still says cursor=0 (a browser reconnects to the same URL): the header wins.
    with open_stream(srv, params={"cursor": 0, "max_seconds": 20}, headers=headers) as stream:
        rest = events_of(stream, 3)
    assert [int(m["id"]) for m in rest] == [3, 4, 5]
    assert [m["event"] for m in rest] == ["TicketIssued", "CounterOpened", "TicketCalled"]


def test_stream_without_cursor_starts_with_new_events_and_keeps_alive(srv: Srv) -> None:
    srv.issue("civil")  # before the stream: not sent
    srv.thread.ctx.keepalive_seconds = 0.2
    with open_stream(srv, params={"max_seconds": 20}) as stream:
        messages = sse_messages(stream)
        comments = []
        for m in messages:
            if "comment" in m:
                comments.append(m)
                if len(comments) == 2:
                    break
            else:
                assert "event" not in m, m
        srv.issue("passports")
        nxt = next(m for m in messages if "event" in m)
    assert [c["comment"] for c in comments] == ["keep-alive", "keep-alive"]
    assert nxt["event"] == "TicketIssued" and nxt["id"] == "2"


def test_stream_ends_after_max_seconds(srv: Srv) -> None:
    with open_stream(srv, params={"max_seconds": 0.3}) as stream:
        body = stream.content.decode()
    assert body.startswith("retry: 2000")


@pytest.mark.parametrize(
    ("auth", "status"),
    [({}, 401), ({"user": ("olga", "other-password")}, 403), ({"user": AGENT}, 200)],
)
def test_stream_needs_credentials_of_the_site(srv: Srv, auth: dict[str, Any], status: int) -> None:
    r = srv.request("GET", f"/api/v1/sites/{SITE}/stream", params={"max_seconds": 0.1}, **auth)
    assert r.status_code == status


def test_an_idle_stream_reads_the_table_only_when_woken(srv: Srv) -> None:
    """GIVEN a stream with nothing new, WHEN keep-alives go by, THEN it does not query the
    events table again (a fleet's thousands of idle boards cost no queries); a new event is
    read and sent as soon as it is stored."""
    import sqlalchemy as sa

    reads: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if "FROM events" in statement:
            reads.append(statement)

    srv.thread.ctx.keepalive_seconds = 0.1
    sa.event.listen(srv.engine, "before_cursor_execute", count)
    try:
        with open_stream(srv, params={"max_seconds": 20}) as stream:
            messages = sse_messages(stream)
            comments = 0
            for m in messages:
                comments += "comment" in m
                if comments == 5:
                    break
            idle_reads = len(reads)
            srv.issue("civil")
            got = next(m for m in messages if "event" in m)
    finally:
        sa.event.remove(srv.engine, "before_cursor_execute", count)
    assert idle_reads == 1  # the first read, before the keep-alives
    assert got["event"] == "TicketIssued"


def _last_seen(srv: Srv, device: str) -> float | None:
    with srv.engine.connect() as conn:
        value = conn.execute(
            sa.text("SELECT last_seen FROM devices WHERE id = :d"), {"d": device}
        ).scalar_one()
    return None if value is None else float(value)


def test_a_device_holding_its_stream_is_seen_without_syncing(any_srv: Srv) -> None:
    """A device that seldom syncs (its safety sync every few minutes) stays online on the
    fleet page while its push stream is open: the server marks it seen; an agent's stream
    marks nobody, and a closed stream no longer counts."""
    presence = any_srv.thread.ctx.presence
    presence.every = 0.2
    before = _last_seen(any_srv, "board-a") or 0.0
    with open_stream(any_srv, params={"max_seconds": 30}) as stream:
        messages = sse_messages(stream)  # held while referenced (its reader closes the stream)
        next(messages)
        assert wait_until(lambda: (_last_seen(any_srv, "board-a") or 0.0) > before)
        assert presence.held() == [(SITE, "board-a")]
        assert _last_seen(any_srv, "kiosk-a") is None  # it holds no stream, never synced
    assert wait_until(lambda: presence.held() == [])
    with any_srv.request(
        "GET", f"/api/v1/sites/{SITE}/stream", user=AGENT, stream=True, params={"max_seconds": 5}
    ) as page:
        messages = sse_messages(page)
        next(messages)
        assert presence.held() == []


def test_streams_of_a_site_woken_together_read_the_table_once(
    srv: Srv, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN four boards of a site holding their streams in one server process, WHEN a ticket
    is issued, THEN the table is read once for the four (not once each, nor again to find
    nothing), and every board gets the ticket."""
    from server.api import stream as stream_api

    reads: list[int] = []
    real_read = stream_api._read

    def counted(ctx: Any, site: str, cursor: int) -> list[Any]:
        reads.append(cursor)
        return real_read(ctx, site, cursor)

    monkeypatch.setattr(stream_api, "_read", counted)
    streams = [open_stream(srv, params={"max_seconds": 30}) for _ in range(4)]
    try:
        readers = [sse_messages(s) for s in streams]
        for r in readers:
            assert next(r) == {"retry": "2000"}
        assert wait_until(lambda: len(reads) == 4)  # each stream's first read
        subscribers = srv.thread.ctx.notifier._subs  # type: ignore[attr-defined]
        assert wait_until(lambda: len(subscribers.get(SITE, ())) == 4)
        before = len(reads)
        issued = srv.issue("civil")["events"][0]
        got = [next(m for m in r if "event" in m) for r in readers]
    finally:
        for s in streams:
            s.close()
    assert [m["id"] for m in got] == [str(issued["seq"])] * 4
    assert reads[before:] == [issued["seq"] - 1]


def test_streams_sharing_reads_miss_nothing(any_srv: Srv) -> None:
    """GIVEN three streams of a site, WHEN tickets are issued one after the other as fast as
    the server takes them, THEN each stream sends every event once, in order, without a gap
    (a stream joins only a read sent after it armed its wake-up)."""
    count = 25
    streams = [open_stream(any_srv, params={"cursor": 0, "max_seconds": 60}) for _ in range(3)]
    try:
        for _ in range(count):
            any_srv.issue("civil")
        got = [events_of(s, count) for s in streams]
    finally:
        for s in streams:
            s.close()
    for events in got:
        assert [int(m["id"]) for m in events] == list(range(1, count + 1))
