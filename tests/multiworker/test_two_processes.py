"""Two server processes on one PostgreSQL database: what one decides, the other respects.

Numbers, leases and calls are decided in the database (the site's row lock), so many clients
spread over both processes never get a number twice or a ticket called twice; a stream held by
one process hears of events stored through the other (LISTEN/NOTIFY) and resumes on the other
without gap or repeat; a sync batch retried against the other process is stored once.
"""

from __future__ import annotations

import itertools
import json
import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests

from server.auth import create_user
from tests.multiworker.conftest import Pair, Site
from tests.server.helpers import DeviceClock, wire

pytestmark = pytest.mark.postgres


def sse_events(response: requests.Response) -> Iterator[dict[str, Any]]:
    """The events of a text/event-stream, as {"id": int, "event": str, "data": dict}."""
    message: dict[str, str] = {}
    for raw in response.iter_lines(decode_unicode=True):
        if raw == "":
            if "event" in message:
                yield {
                    "id": int(message["id"]),
                    "event": message["event"],
                    "data": json.loads(message["data"]),
                }
            message = {}
        elif not raw.startswith(":"):
            name, _, value = raw.partition(":")
            message[name] = value.removeprefix(" ")


def take(events: Iterator[dict[str, Any]], count: int) -> list[dict[str, Any]]:
    return [next(events) for _ in range(count)]


def stream(url: str, site: Site, **kw: Any) -> requests.Response:
    r = requests.get(
        f"{url}/api/v1/sites/{site.id}/stream",
        headers={**site.auth("board-a"), **kw.pop("headers", {})},
        params={"max_seconds": 30, **kw.pop("params", {})},
        stream=True,
        timeout=30,
    )
    assert r.status_code == 200, r.text
    return r


def post(http: requests.Session, url: str, path: str, site: Site, device: str, **kw: Any) -> Any:
    r = http.post(f"{url}{path}", headers=site.auth(device), timeout=30, **kw)
    assert r.status_code == 200, r.text
    return r.json()


def issue(http: requests.Session, url: str, site: Site, service: str = "civil") -> Any:
    return post(
        http, url, f"/api/v1/sites/{site.id}/tickets", site, "kiosk-a", json={"service": service}
    )


def act(http: requests.Session, url: str, site: Site, counter: str, action: str = "next") -> Any:
    return post(http, url, f"/api/v1/sites/{site.id}/counters/{counter}/{action}", site, "board-a")


def test_many_clients_on_both_processes_never_share_a_number_or_a_call(pair: Pair) -> None:
    """GIVEN 4 threads issuing tickets, 2 kiosks taking number leases and 8 counters pressing
    NEXT, each request sent alternately to process A and process B
    WHEN they all run at once
    THEN the database holds no number twice (tickets and leases of a service and day), no
    ticket called twice, and a gapless sequence; no counter was answered a ticket another got."""
    site = pair.site(counters=8)
    urls = [pair.a.url, pair.b.url]
    called: list[str] = []
    lock = threading.Lock()

    def issuer(i: int) -> None:
        with requests.Session() as http:
            for n in range(30):
                issue(http, urls[(i + n) % 2], site, "civil" if n % 3 else "passports")

    def kiosk(device: str) -> None:
        clock = DeviceClock(device, site.id)
        day = clock.issued(1).data["day"]
        with requests.Session() as http:
            for n in range(10):
                body = {
                    "device": device,
                    "lease_requests": [{"service": "civil", "day": day}],
                }
                post(http, urls[n % 2], "/api/v1/sync", site, device, json=body)

    def counter(c: int) -> None:
        with requests.Session() as http:
            for n in range(30):
                ticket = act(http, urls[(c + n) % 2], site, str(c))["ticket"]
                if ticket is not None:
                    with lock:
                        called.append(ticket["id"])

    with ThreadPoolExecutor(max_workers=14) as pool:
        jobs = [pool.submit(issuer, i) for i in range(4)]
        jobs += [pool.submit(kiosk, d) for d in ("kiosk-a", "kiosk-b")]
        jobs += [pool.submit(counter, c) for c in range(1, 9)]
        for job in jobs:
            job.result()

    assert len(called) == len(set(called)) > 0
    twice = pair.rows(
        "SELECT data->>'service' AS service, data->>'day' AS day, data->>'number' AS number, "
        "count(*) FROM events WHERE site = :s AND kind = 'TicketIssued' "
        "GROUP BY 1, 2, 3 HAVING count(*) > 1",
        s=site.id,
    )
    assert twice == []
    issued = pair.rows(
        "SELECT (data->>'number')::int AS n FROM events WHERE site = :s AND kind = 'TicketIssued' "
        "AND data->>'service' = 'civil'",
        s=site.id,
    )
    leases = pair.rows(
        "SELECT start, \"end\" FROM leases WHERE site = :s AND service = 'civil' ORDER BY start",
        s=site.id,
    )
    assert len(issued) == 80 and len(leases) == 20
    for (s1, e1), (s2, _e2) in itertools.pairwise(leases):
        assert e1 < s2, (s1, e1, s2)
    leased = {n for s, e in leases for n in range(s, e + 1)}
    numbers = {r.n for r in issued}
    assert not leased & numbers
    offline = set(range(900, 1000)) | set(range(30, 50))  # the kiosks' own ranges
    assert not offline & (leased | numbers)
    doubles = pair.rows(
        "SELECT data->>'ticket', count(*) FROM events WHERE site = :s AND kind = 'TicketCalled' "
        "GROUP BY 1 HAVING count(*) > 1",
        s=site.id,
    )
    assert doubles == []
    [(count, top)] = pair.rows("SELECT count(*), max(seq) FROM events WHERE site = :s", s=site.id)
    assert count == top
    [(stored_calls,)] = pair.rows(
        "SELECT count(*) FROM events WHERE site = :s AND kind = 'TicketCalled'", s=site.id
    )
    assert stored_calls == len(called)


def test_each_process_keeps_one_listening_connection(pair: Pair) -> None:
    name = pair.database_url.rsplit("/", 1)[1]
    rows = pair.rows(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = :d "
        "AND application_name = 'guichet-listen'",
        d=name,
    )
    assert rows[0][0] == 2


def test_a_call_made_through_one_process_reaches_a_stream_held_by_the_other(pair: Pair) -> None:
    site = pair.site()
    ticket = issue(pair.http, pair.a.url, site)["ticket"]
    with stream(pair.a.url, site) as held_by_a:
        events = sse_events(held_by_a)
        answer = act(pair.http, pair.b.url, site, "3")
        pushed = take(events, 2)
    assert [e["event"] for e in pushed] == ["CounterOpened", "TicketCalled"]
    assert [e["data"] for e in pushed] == answer["events"]
    assert pushed[1]["data"]["data"] == {"ticket": ticket["id"], "counter": "3"}


def test_a_stream_reconnected_to_the_other_process_resumes_without_gap_or_repeat(
    pair: Pair,
) -> None:
    site = pair.site()
    for _ in range(3):
        issue(pair.http, pair.a.url, site)  # seq 1, 2, 3
    with stream(pair.a.url, site, params={"cursor": 0}) as first:
        seen = take(sse_events(first), 2)
    assert [e["id"] for e in seen] == [1, 2]
    act(pair.http, pair.a.url, site, "1")  # seq 4, 5 while the board is away
    resume = {"Last-Event-ID": str(seen[-1]["id"])}
    with stream(pair.b.url, site, headers=resume) as second:
        events = sse_events(second)
        caught_up = take(events, 3)
        issue(pair.http, pair.a.url, site)  # seq 6, stored through the other process
        live = take(events, 1)
    assert [e["id"] for e in caught_up + live] == [3, 4, 5, 6]
    assert [e["event"] for e in caught_up + live] == [
        "TicketIssued",
        "CounterOpened",
        "TicketCalled",
        "TicketIssued",
    ]


def test_the_same_batch_posted_to_both_processes_at_once_is_stored_once(pair: Pair) -> None:
    site = pair.site()
    clock = DeviceClock("kiosk-a", site.id)
    batches = [[clock.issued(1000 + 25 * b + i) for i in range(25)] for b in range(20)]
    urls = [pair.a.url, pair.b.url]
    barrier = threading.Barrier(2)
    answers: list[tuple[int, list[str]]] = []
    lock = threading.Lock()

    def send(side: int) -> None:
        with requests.Session() as http:
            for batch in batches:
                body = {"device": "kiosk-a", "events": wire(batch)}
                barrier.wait(timeout=30)
                r = http.post(
                    f"{urls[side]}/api/v1/sync", headers=site.auth("kiosk-a"), json=body, timeout=30
                )
                with lock:
                    answers.append((r.status_code, r.json().get("acks", [])))

    with ThreadPoolExecutor(max_workers=2) as pool:
        for job in [pool.submit(send, 0), pool.submit(send, 1)]:
            job.result()

    assert len(answers) == 40
    assert all(status == 200 for status, _ in answers)
    expected = {tuple(e.id for e in batch) for batch in batches}
    assert {tuple(acks) for _, acks in answers} == expected
    [(count, ids, top)] = pair.rows(
        "SELECT count(*), count(DISTINCT id), max(seq) FROM events WHERE site = :s", s=site.id
    )
    assert count == ids == top == 500
    [(tokens,)] = pair.rows("SELECT count(*) FROM ticket_tokens WHERE site = :s", s=site.id)
    assert tokens == 500


def test_a_web_session_opened_on_one_process_is_valid_on_the_other(pair: Pair) -> None:
    """GIVEN no secret_key in the settings, WHEN an agent signs in through process A, THEN
    process B accepts the session cookie (both sign with the database's shared key)."""
    site = pair.site()
    name = f"agent-{uuid.uuid4().hex[:6]}"
    create_user(pair.engine, name, "a long password", "agent", [site.id])
    with requests.Session() as browser:
        form = browser.get(f"{pair.a.url}/login", timeout=10).text
        csrf = form.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        r = browser.post(
            f"{pair.a.url}/login",
            data={"username": name, "password": "a long password", "csrf_token": csrf},
            allow_redirects=False,
            timeout=10,
        )
        assert r.status_code == 303
        page = browser.get(f"{pair.b.url}/console/{site.id}", allow_redirects=False, timeout=10)
    assert page.status_code == 200
    assert "Guichet 1" in page.text
