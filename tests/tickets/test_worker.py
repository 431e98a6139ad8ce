"""The sync worker and the push stream against a scripted server on loopback: retries,
backoff, quarantine, paging, callbacks, reconnection."""

from __future__ import annotations

import json
import random
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import PATIENCE, wait_until
from tickets.events import Event, EventKind
from tickets.journal import Journal
from tickets.sync import EventStream, SyncClient, SyncState, SyncWorker, backoff_delay

from .factory import DAY, Events, make_site
from .loopback import Handler, Script, Seen, answer, scripted, sse, sync_answer


def wait_for(condition: Callable[[], bool], what: str, deadline: float = PATIENCE) -> None:
    if not wait_until(condition, deadline):
        raise AssertionError(f"still waiting for {what}")


def ack_all(cursor: int = 0, **fields: Any) -> Callable[[Handler, Seen], None]:
    """A sync answer acknowledging every uploaded event."""

    def reply(h: Handler, seen: Seen) -> None:
        acks = [e["id"] for e in seen.body["events"]]
        answer(200, sync_answer(acks=acks, cursor=cursor, **fields))(h, seen)

    return reply


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[Journal]:
    j = Journal(tmp_path / "j.sqlite3", "mairie", "board")
    j.state(make_site())
    yield j
    j.close()


def worker(journal: Journal, url: str, **kw: Any) -> SyncWorker:
    return SyncWorker(journal, SyncClient(url, "t", "board", timeout=1.0), interval=60.0, **kw)


def test_events_leave_the_outbox_only_once_acknowledged(journal: Journal) -> None:
    made = [journal.record(EventKind.COUNTER_OPENED, counter=c) for c in "123"]
    states: list[SyncState] = []

    def ack_two(h: Handler, seen: Seen) -> None:
        answer(200, sync_answer(acks=[e["id"] for e in seen.body["events"][:2]]))(h, seen)

    script = Script([answer(500, {"message": "database locked"}), ack_two, ack_all()])
    with scripted(script) as url:
        w = worker(journal, url, on_state=states.append)
        assert not w.run_once()
        assert (w.state, w.last_success, journal.backlog()) == (SyncState.ERROR, None, 3)
        assert "database locked" in (w.last_error or "")
        assert w.run_once()
        assert journal.outbox() == made[2:]
        assert w.run_once()
        assert journal.backlog() == 0
    assert [len(s.body["events"]) for s in script.seen] == [3, 3, 1]
    assert states == [SyncState.ERROR, SyncState.ONLINE]
    assert w.last_success is not None and w.last_error is None


def test_an_unreachable_server_is_offline_then_online_when_it_answers(journal: Journal) -> None:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    dead = f"http://127.0.0.1:{s.getsockname()[1]}"
    s.close()
    states: list[SyncState] = []
    journal.record(EventKind.COUNTER_OPENED, counter="1")
    w = worker(journal, dead, on_state=states.append)
    assert not w.run_once() and not w.run_once()
    assert (w.state, w.failures, journal.backlog()) == (SyncState.OFFLINE, 2, 1)
    with scripted(Script([ack_all()])) as url:
        w.client.base_url = url
        assert w.run_once()
    assert states == [SyncState.OFFLINE, SyncState.ONLINE]
    assert (w.failures, journal.backlog()) == (0, 0)
    assert SyncState.OFFLINE.colour == "orange" and SyncState.ONLINE.colour == "green"
    assert SyncState.AUTH_ERROR.colour == "red" and "token" in SyncState.AUTH_ERROR.label


def test_a_refused_token_is_an_auth_error(journal: Journal) -> None:
    with scripted(Script([answer(401, {"code": "unauthorized", "message": "bad token"})])) as url:
        w = worker(journal, url)
        assert not w.run_once()
    assert w.state is SyncState.AUTH_ERROR


def test_an_event_the_server_refuses_for_good_is_quarantined_and_the_rest_go(
    journal: Journal,
) -> None:
    good = journal.record(EventKind.COUNTER_OPENED, counter="1")
    bad = journal.record(EventKind.COUNTER_OPENED, counter="9")
    after = journal.record(EventKind.COUNTER_OPENED, counter="2")
    refuse = answer(422, {"code": "invalid", "message": "unknown counter '9'", "event": bad.id})
    script = Script([refuse, ack_all()])
    with scripted(script) as url:
        w = worker(journal, url)
        assert w.run_once()
    assert [[e["id"] for e in s.body["events"]] for s in script.seen] == [
        [good.id, bad.id, after.id],
        [good.id, after.id],
    ]
    assert journal.backlog() == 0
    assert journal.quarantined() == [(bad, "unknown counter '9'")]


def test_a_refused_lease_request_does_not_block_the_events(tmp_path: Path) -> None:
    j = Journal(tmp_path / "k.sqlite3", "mairie", "kiosk")
    j.record(EventKind.TICKET_CANCELLED, ticket="t1")
    refuse = answer(
        422,
        {"code": "invalid", "message": "unknown service 'zz'", "field": "lease_requests.0.service"},
    )
    script = Script([refuse, ack_all()])
    with scripted(script) as url:
        w = SyncWorker(
            j,
            SyncClient(url, "t", "kiosk"),
            interval=60,
            services_for_leases=["zz"],
            block=20,
            today=lambda: DAY,
        )
        assert w.run_once()
    asked = [[(r["service"], r["day"]) for r in s.body["lease_requests"]] for s in script.seen]
    assert asked == [[("zz", DAY)], []]
    assert j.backlog() == 0
    assert "unknown service" in (w.last_error or "")
    j.close()


def test_pages_are_pulled_until_caught_up_and_each_new_event_reported_once(
    journal: Journal,
) -> None:
    f = Events(base=time.time() - 600)
    remote = [f.issue(f"t{i}", 10 + i, number=i + 1).stored(i + 1, 20.0) for i in range(5)]
    pages = [
        answer(200, sync_answer(events=[e.to_dict() for e in remote[:2]], cursor=2, more=True)),
        answer(200, sync_answer(events=[e.to_dict() for e in remote[1:4]], cursor=4, more=True)),
        answer(200, sync_answer(events=[remote[4].to_dict()], cursor=5)),
    ]
    script = Script(pages)
    got: list[list[Event]] = []
    with scripted(script) as url:
        w = worker(journal, url, on_events=got.append)
        assert w.run_once()
    assert [s.body["cursor"] for s in script.seen] == [0, 2, 4]
    assert [[e.id for e in batch] for batch in got] == [
        [e.id for e in remote[:2]],
        [e.id for e in remote[2:4]],
        [remote[4].id],
    ]
    assert journal.cursor == 5
    assert len(journal.state(make_site()).tickets) == 5


def test_a_new_configuration_is_cached_and_announced(journal: Journal) -> None:
    seen_config: list[tuple[dict[str, Any], str]] = []
    script = Script(
        [
            answer(200, sync_answer(config={"site": {"id": "mairie"}}, config_version="v7")),
            answer(200, sync_answer(config_version="v7")),
        ]
    )
    with scripted(script) as url:
        w = worker(journal, url, on_config=lambda c, v: seen_config.append((c, v)))
        assert w.run_once() and w.run_once()
    assert seen_config == [({"site": {"id": "mairie"}}, "v7")]
    assert journal.load_site() == ({"site": {"id": "mairie"}}, "v7")
    assert [s.body["config_version"] for s in script.seen] == ["", "v7"]


def test_a_failing_callback_or_health_never_stops_the_sync(journal: Journal) -> None:
    f = Events(base=time.time() - 600)
    event = f.issue("t1", 10).stored(1, 11.0)

    def explode(*_: object) -> None:
        raise RuntimeError("callback bug")

    def bad_health() -> dict[str, Any]:
        raise RuntimeError("health bug")

    script = Script([answer(200, sync_answer(events=[event.to_dict()], cursor=1))])
    with scripted(script) as url:
        w = worker(journal, url, on_events=explode, on_state=explode, health=bad_health)
        assert w.run_once()
    assert journal.cursor == 1 and w.state is SyncState.ONLINE
    assert script.seen[0].body["health"] is None


def test_health_goes_with_at_most_one_sync_per_interval(journal: Journal) -> None:
    calls = iter(range(100))
    script = Script(default=ack_all())
    with scripted(script) as url:
        w = worker(journal, url, health=lambda: {"n": next(calls)}, health_interval=3600)
        assert w.run_once() and w.run_once()
        w.health_interval = 0
        assert w.run_once()
    assert [s.body["health"] for s in script.seen] == [{"n": 0}, None, {"n": 1}]


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(1, 40), st.floats(0.1, 10), st.floats(1, 120), st.randoms())
def test_backoff_grows_exponentially_with_jitter_up_to_a_cap(
    failures: int, base: float, cap: float, rnd: random.Random
) -> None:
    ceiling = min(cap, base * 2 ** (failures - 1))
    delay = backoff_delay(failures, base, cap, rnd)
    assert ceiling / 2 <= delay <= ceiling


def test_the_thread_syncs_on_wake_and_stops(journal: Journal) -> None:
    script = Script(default=ack_all())
    with scripted(script) as url:
        w = worker(journal, url)  # interval 60 s: only start and wake() make it sync
        w.start()
        wait_for(lambda: len(script.seen) == 1, "the first sync")
        journal.record(EventKind.COUNTER_OPENED, counter="1")
        w.wake()
        wait_for(lambda: journal.backlog() == 0, "the woken sync")
        w.stop()
        assert w._thread is not None and not w._thread.is_alive()
    assert len(script.seen) == 2


def _stream_events(n: int) -> list[Event]:
    f = Events(base=time.time() - 600)
    return [f.call(f"t{i}", "1", 100 + i).stored(i + 1, 200.0) for i in range(n)]


def test_the_stream_reconnects_and_resumes_after_the_last_id() -> None:
    """GIVEN a stream that drops after its first event
    WHEN the client reconnects
    THEN it sends Last-Event-ID and gets only what followed; a garbled message is skipped."""
    e1, e2 = _stream_events(2)
    hold = threading.Event()
    script = Script(
        [
            sse(f"retry: 10\n\nid: 1\nevent: TicketCalled\ndata: {json.dumps(e1.to_dict())}\n\n"),
            sse(
                "id: 2\nevent: TicketCalled\ndata: {not json\n\n"
                f"id: 2\nevent: TicketCalled\ndata: {json.dumps(e2.to_dict())}\n\n",
                hold,
            ),
        ]
    )
    got: list[Event] = []
    states: list[bool] = []
    with scripted(script) as url:
        stream = EventStream(
            SyncClient(url, "tok", "board"),
            "mairie",
            on_events=got.extend,
            on_state=states.append,
            cursor=lambda: 0,
        )
        stream.start()
        wait_for(lambda: len(got) == 2, "two events")
        assert stream.connected and stream.last_id == 2
        stream.stop()
        hold.set()
        assert stream._thread is not None and not stream._thread.is_alive()
    assert got == [e1, e2]
    assert [s.path for s in script.seen] == ["/api/v1/sites/mairie/stream"] * 2
    assert "Last-Event-ID" not in script.seen[0].headers
    assert script.seen[1].headers["Last-Event-ID"] == "1"
    assert script.seen[1].headers["Authorization"] == "Bearer tok"
    assert states[:3] == [True, False, True]


def test_stop_interrupts_a_stream_waiting_for_data() -> None:
    hold = threading.Event()
    script = Script([sse(": hello\n\n", hold)])
    with scripted(script) as url:
        stream = EventStream(
            SyncClient(url, "tok", "board"), "mairie", on_events=lambda _: None, read_timeout=30
        )
        stream.start()
        wait_for(lambda: stream.connected, "the stream to open")
        stream.stop(timeout=PATIENCE)
        alive = stream._thread is not None and stream._thread.is_alive()
        hold.set()
    assert not alive
