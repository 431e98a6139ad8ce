"""The server's side of the time model over real HTTP: a stamp that cannot be a time is
re-stamped at receipt (its author's kept), the server's clock never follows it, and a lease
request asked again after a lost answer gets the same block (docs/architecture.md, "Time")."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import requests
import sqlalchemy as sa

from tests.server.helpers import SITE, DeviceClock, Srv, wire
from tickets.events import EventKind
from tickets.hlc import MAX_DRIFT_SECONDS, Timestamp
from tickets.journal import Journal
from tickets.sync import SyncClient, SyncWorker

DAY = 86400.0


def test_an_event_stamped_days_ahead_is_restamped_and_the_server_clock_stays(srv: Srv) -> None:
    """GIVEN a kiosk whose clock is three days ahead, syncing without its clock reading
    WHEN it uploads a ticket
    THEN the ticket is stored (not refused, nothing to quarantine), stamped with the server's
    clock, its author's stamp kept beside; the server's clock in the answer is not ahead; the
    same upload again is acknowledged as the same event."""
    future = DeviceClock("kiosk-a", wall=time.time() + 3 * DAY).issued(902)
    before = time.time()
    r = srv.sync("kiosk-a", events=wire([future]))
    assert r.status_code == 200, r.text
    answer = r.json()
    assert answer["acks"] == [future.id]
    (stored,) = [e for e in answer["events"] if e["id"] == future.id]
    assert stored["original_hlc"] == future.hlc.encode()
    placed = Timestamp.decode(stored["hlc"])
    assert before - 1 <= placed.seconds <= time.time() + 1
    assert Timestamp.decode(answer["server_hlc"]).seconds <= time.time() + MAX_DRIFT_SECONDS
    again = srv.sync("kiosk-a", events=wire([future]), cursor=answer["cursor"])
    assert again.status_code == 200, again.text
    assert again.json()["acks"] == [future.id] and srv.count() == 1


def test_an_event_far_from_its_corrected_time_is_restamped_at_that_time(srv: Srv) -> None:
    """GIVEN a kiosk whose clock is fifteen hours behind (a night without network), which says
    so with its clock reading
    THEN its ticket is re-stamped at the time it was issued on the server's clock."""
    now = time.time()
    late = DeviceClock("kiosk-a", wall=now - 15 * 3600 - 120)
    ticket = late.issued(903)
    r = srv.sync("kiosk-a", events=wire([ticket]), device_time=now - 15 * 3600)
    assert r.status_code == 200, r.text
    (stored,) = [e for e in r.json()["events"] if e["id"] == ticket.id]
    assert stored["original_hlc"] == ticket.hlc.encode()
    assert abs(Timestamp.decode(stored["hlc"]).seconds - (now - 120)) < 5


def test_a_right_clock_keeps_its_stamps(srv: Srv) -> None:
    kiosk = DeviceClock("kiosk-a")
    ticket = kiosk.issued(904)
    r = srv.sync("kiosk-a", events=wire([ticket]), device_time=time.time())
    (stored,) = [e for e in r.json()["events"] if e["id"] == ticket.id]
    assert (stored["hlc"], stored["original_hlc"]) == (ticket.hlc.encode(), None)


def test_a_call_stamped_before_its_ticket_is_restamped_after_it(srv: Srv) -> None:
    """GIVEN a ticket stored, and a board whose clock is an hour behind that calls it
    THEN the call is stored after the ticket's issue (the fold would otherwise drop it), and
    the server's queue shows the ticket called."""
    now = time.time()
    ticket = DeviceClock("kiosk-a").issued(905)
    assert srv.sync("kiosk-a", events=wire([ticket])).status_code == 200
    board = DeviceClock("board-a", wall=now - 3600)
    call = board.make(EventKind.TICKET_CALLED, ticket=ticket.data["ticket"], counter="1")
    r = srv.sync("board-a", events=wire([call]))
    assert r.status_code == 200, r.text
    (stored,) = [e for e in r.json()["events"] if e["id"] == call.id]
    assert Timestamp.decode(stored["hlc"]) > ticket.hlc
    queue = srv.request("GET", f"/api/v1/sites/{SITE}/queue", device="board-a").json()
    assert [t["label"] for t in queue["waiting"]] == []


def test_a_lease_request_asked_again_after_a_lost_answer_gets_the_same_block(
    any_srv: Srv,
) -> None:
    """GIVEN a kiosk whose lease answer was lost (it asks again with the same request id)
    THEN it gets the same block, and its next request the block right after: no number
    skipped, one grant recorded."""
    day = time.strftime("%Y-%m-%d")
    first = {"service": "civil", "day": day, "request": "req-1"}
    leases = [any_srv.sync("kiosk-a", lease_requests=[first]).json()["leases"] for _ in range(2)]
    assert leases[0] == leases[1]
    (block,) = leases[0]
    assert block["request"] == "req-1"
    second = {"service": "civil", "day": day, "request": "req-2"}
    (after,) = any_srv.sync("kiosk-a", lease_requests=[second]).json()["leases"]
    assert after["start"] == block["end"] + 1
    # Another device's request with the same id is its own.
    assert any_srv.sync("kiosk-b", lease_requests=[first]).json()["leases"][0] != block


class LosingSession(requests.Session):
    """A session whose first sync answer is lost after the server acted on the request (the
    link dropped on the way back)."""

    def __init__(self) -> None:
        super().__init__()
        self.lost = 0

    def request(self, method: str | bytes, url: str | bytes, *a: Any, **kw: Any) -> Any:
        answer = super().request(method, url, *a, **kw)
        if str(url).endswith("/api/v1/sync") and not self.lost:
            self.lost += 1
            answer.close()
            raise requests.ConnectionError("connection reset by peer (the answer was lost)")
        return answer


def test_a_kiosk_whose_lease_answer_was_lost_skips_no_number(srv: Srv, tmp_path: Path) -> None:
    """GIVEN a kiosk syncing over real HTTP whose first answer (with its lease) is lost
    WHEN it syncs again THEN it is granted the same block (one grant at the server), and its
    tickets are numbered 1, 2, 3... with no gap."""
    day = time.strftime("%Y-%m-%d")
    session = LosingSession()
    with Journal(tmp_path / "kiosk.sqlite3", SITE, "kiosk-a") as journal:
        client = SyncClient(srv.url, srv.tokens["kiosk-a"], "kiosk-a", session=session)
        worker = SyncWorker(
            journal, client, interval=60, services_for_leases=["civil"], today=lambda: day
        )
        assert not worker.run_once(), "the answer was lost"
        assert session.lost == 1 and journal.pool.remaining("civil", day) == 0
        assert worker.run_once()
        numbers = []
        for count in (15, 10):  # then a sync: a new block (less than half a block left)
            for _ in range(count):
                issued, _source = journal.issue_ticket(
                    "civil", day, priority=None, lang="fr", prefix="A"
                )
                numbers.append(issued)
            assert worker.run_once()
        session.close()
    assert [e.data["number"] for e in numbers] == list(range(1, 26))
    with srv.engine.connect() as conn:
        grants = conn.execute(
            sa.text("SELECT start, \"end\" FROM leases WHERE device = 'kiosk-a' ORDER BY start")
        ).all()
    # Blocks stop before kiosk-b's offline range (30-49) and go on after it.
    assert [tuple(g) for g in grants] == [(1, 20), (21, 29), (50, 69)]
