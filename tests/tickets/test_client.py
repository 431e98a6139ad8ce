"""The sync client's behaviour when the server misbehaves, over real HTTP on loopback."""

from __future__ import annotations

import socket
from typing import Any

import pytest
import requests

from tickets.events import EventKind, new_event
from tickets.hlc import Timestamp
from tickets.sync import (
    AuthError,
    ConnectError,
    ConnectionDropped,
    ProtocolError,
    RequestRejected,
    RequestTimeout,
    ServerError,
    SyncClient,
    TransportError,
    parse_sync,
)

from .loopback import Script, answer, drop, hang, scripted, sync_answer

EVENT = new_event(
    EventKind.COUNTER_OPENED,
    site="mairie",
    device="board",
    hlc=Timestamp(1_763_900_000_000, 0, "board"),
    wall_time=1_763_900_000.0,
    counter="1",
)


def test_a_sync_sends_the_documented_body_and_reads_the_answer() -> None:
    issued = {
        "id": "0b5e0a5c-9b1f-4a5e-8d43-2f6a1f0f5b11",
        "site": "mairie",
        "device": "kiosk",
        "kind": "TicketIssued",
        "hlc": "001763900000500-000001-kiosk",
        "wall_time": 1_763_900_000.5,
        "data": {"ticket": "t1", "service": "a", "number": 1, "day": "2026-11-23"},
        "seq": 8,
        "received_at": 1_763_900_001.0,
    }
    script = Script(
        [
            answer(
                200,
                sync_answer(
                    acks=[EVENT.id],
                    events=[issued, {"id": "junk"}],
                    cursor=8,
                    more=True,
                    leases=[{"service": "a", "day": "2026-11-23", "start": 21, "end": 40}],
                    config={"site": {"id": "mairie"}},
                ),
            )
        ]
    )
    with scripted(script) as url:
        client = SyncClient(url + "/", "secret-token", "board")
        result = client.sync(
            5, [EVENT], [{"service": "a", "day": "2026-11-23"}], "v0", {"backlog": 1}, limit=50
        )
    seen = script.seen[0]
    assert (seen.method, seen.path) == ("POST", "/api/v1/sync")
    assert seen.headers["Authorization"] == "Bearer secret-token"
    assert seen.body == {
        "device": "board",
        "cursor": 5,
        "events": [EVENT.to_dict()],
        "lease_requests": [{"service": "a", "day": "2026-11-23"}],
        "config_version": "v0",
        "health": {"backlog": 1},
        "limit": 50,
    }
    assert result.acks == [EVENT.id]
    assert [e.seq for e in result.events] == [8]
    assert len(result.unreadable) == 1 and "'site'" in result.unreadable[0]
    assert (result.cursor, result.more, result.config_version) == (8, True, "v1")
    assert [(x.service, x.start, x.end) for x in result.leases] == [("a", 21, 40)]
    assert result.config == {"site": {"id": "mairie"}}
    assert result.server_hlc == Timestamp(1_763_900_000_000, 0, "server")


def test_no_listener_is_a_connect_error() -> None:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    client = SyncClient(f"http://127.0.0.1:{port}", "t", "board")
    with pytest.raises(ConnectError, match=f"127.0.0.1:{port}"):
        client.queue("mairie")


def test_a_server_that_never_answers_is_a_timeout() -> None:
    script = Script()
    script.replies.append(hang(script.release))
    with scripted(script) as url:
        client = SyncClient(url, "t", "board", timeout=0.2)
        with pytest.raises(RequestTimeout) as info:
            client.counter_action("mairie", "1", "next")
    assert isinstance(info.value, TransportError)


def test_a_connection_dropped_mid_answer_is_reported_as_such() -> None:
    with scripted(Script([drop()])) as url, pytest.raises(ConnectionDropped):
        SyncClient(url, "t", "board").sync(0, [EVENT], [], "")


@pytest.mark.parametrize(
    ("status", "body", "error", "attrs"),
    [
        (
            500,
            {"code": "internal", "message": "database locked"},
            ServerError,
            {"message": "database locked", "code": "internal"},
        ),
        (502, b"<html>Bad gateway</html>", ServerError, {"message": "Bad Gateway"}),
        (
            401,
            {"code": "unauthorized", "message": "unknown token"},
            AuthError,
            {"message": "unknown token"},
        ),
        (403, {"code": "forbidden", "message": "not your site"}, AuthError, {}),
        (
            403,
            {
                "code": "forbidden",
                "message": "a kiosk may not",
                "event": EVENT.id,
                "field": "events.0.kind",
            },
            RequestRejected,
            {"event": EVENT.id, "field": "events.0.kind"},
        ),
        (
            422,
            {"code": "invalid", "message": "unknown counter '9'", "event": EVENT.id},
            RequestRejected,
            {"event": EVENT.id},
        ),
        (
            404,
            {"code": "not_found", "message": "site 'x' not found"},
            RequestRejected,
            {"event": None},
        ),
    ],
)
def test_error_answers_become_typed_errors_carrying_the_servers_explanation(
    status: int, body: object, error: type[Exception], attrs: dict[str, object]
) -> None:
    ctype = "text/html" if isinstance(body, bytes) else "application/json"
    with scripted(Script([answer(status, body, ctype)])) as url, pytest.raises(error) as info:
        SyncClient(url, "t", "board").sync(0, [EVENT], [], "")
    assert info.value.status_code == status  # type: ignore[attr-defined]
    for name, value in attrs.items():
        assert getattr(info.value, name) == value
    assert str(status) in str(info.value)


def test_an_answer_that_is_not_what_the_api_promises_is_a_protocol_error() -> None:
    script = Script([answer(200, b"<html>captive portal</html>", "text/html")])
    with scripted(script) as url, pytest.raises(ProtocolError, match="not JSON"):
        SyncClient(url, "t", "board").sync(0, [], [], "")
    script = Script([answer(200, ["not", "an", "object"])])
    with scripted(script) as url, pytest.raises(ProtocolError, match="not a JSON object"):
        SyncClient(url, "t", "board").queue("mairie")


@pytest.mark.parametrize(
    "change",
    [
        {"acks": None},
        {"cursor": "12"},
        {"cursor": -1},
        {"cursor": True},
        {"events": None},
        {"leases": [{"service": "a"}]},
        {"config": ["x"]},
        {"server_hlc": "noon"},
    ],
)
def test_a_malformed_sync_answer_is_a_protocol_error(change: dict[str, object]) -> None:
    with pytest.raises(ProtocolError):
        parse_sync(sync_answer(**change))


def test_counter_actions_use_the_documented_paths() -> None:
    script = Script(default=answer(200, {"ticket": None, "events": []}))
    with scripted(script) as url:
        client = SyncClient(url, "t", "board")
        assert client.counter_action("mairie", "3", "no-show") == {"ticket": None, "events": []}
        client.counter_action("mairie", "3", "transfer", "passeports")
        with pytest.raises(ValueError, match="unknown counter action 'absent'"):
            client.counter_action("mairie", "3", "absent")
        with pytest.raises(ValueError, match="needs the service"):
            client.counter_action("mairie", "3", "transfer")
    assert [(s.method, s.path, s.body) for s in script.seen] == [
        ("POST", "/api/v1/sites/mairie/counters/3/no-show", None),
        ("POST", "/api/v1/sites/mairie/counters/3/transfer", {"service": "passeports"}),
    ]


def test_an_injected_session_carries_every_call() -> None:
    class Counting(requests.Session):
        calls = 0

        def request(self, *args: Any, **kwargs: Any) -> requests.Response:
            Counting.calls += 1
            return super().request(*args, **kwargs)

    with scripted(Script(default=answer(200, {"services": []}))) as url:
        SyncClient(url, "t", "board", session=Counting()).queue("mairie")
    assert Counting.calls == 1
