"""Offline events merged in clock order; a ticket called at two counters is kept and flagged."""

from __future__ import annotations

import time
from dataclasses import replace

from tests.server.helpers import AGENT, SITE, DeviceClock, Srv, wire
from tickets.events import EventKind


def test_ticket_called_at_two_counters_during_a_partition_is_flagged(any_srv: Srv) -> None:
    """GIVEN a ticket known to both boards WHEN each board, cut off from the server, calls it
    at its own counter (board-b a second later) THEN after both upload, the earlier call is
    kept, the ticket is flagged, and the conflict shows in the snapshot and the conflicts list."""
    now = time.time()
    kiosk = DeviceClock("kiosk-a", wall=now - 60)
    ticket = kiosk.issued(901)
    assert any_srv.sync("kiosk-a", events=wire([ticket])).status_code == 200
    a = DeviceClock("board-a", wall=now - 10)
    b = DeviceClock("board-b", wall=now - 9)
    call_a = a.make(EventKind.TICKET_CALLED, ticket=ticket.ticket, counter="1")
    call_b = b.make(EventKind.TICKET_CALLED, ticket=ticket.ticket, counter="2")
    # board-b's upload arrives first: arrival order must not decide.
    assert any_srv.sync("board-b", events=wire([call_b])).status_code == 200
    assert any_srv.sync("board-a", events=wire([call_a])).status_code == 200

    snap = any_srv.request("GET", f"/api/v1/sites/{SITE}/queue", user=AGENT).json()
    counters = {c["id"]: c for c in snap["counters"]}
    assert counters["1"]["ticket"]["id"] == ticket.ticket
    assert counters["1"]["ticket"]["conflict"] is True
    assert counters["2"]["ticket"] is None
    assert snap["conflicts"] == [
        {
            "kind": "double_call",
            "ticket": ticket.ticket,
            "label": "A901",
            "kept_counter": "1",
            "other_counter": "2",
            "event": call_b.id,
        }
    ]
    listed = any_srv.request("GET", f"/api/v1/sites/{SITE}/conflicts", device="board-a").json()
    assert listed == {"site": SITE, "conflicts": snap["conflicts"]}
    # and nothing was lost: both calls are stored
    assert any_srv.count("kind = 'TicketCalled'") == 2


def test_an_appointment_checked_in_on_two_devices_apart_is_one_waiting_ticket(
    any_srv: Srv,
) -> None:
    """GIVEN two kiosks cut off from each other WHEN both check the same appointment in
    (kiosk-a a second earlier by clock, uploading last) THEN the queue has one waiting ticket
    for it, kiosk-a's, and kiosk-b's is listed as a duplicate_checkin conflict."""
    now = time.time()
    made = {}
    for device, ago, number in (("kiosk-b", 59, 30), ("kiosk-a", 60, 901)):
        e = DeviceClock(device, wall=now - ago).issued(number)
        made[device] = replace(
            e, data={**e.data, "appointment": "rdv-42", "appointment_at": now + 600}
        )
        assert any_srv.sync(device, events=wire([made[device]])).status_code == 200
    snap = any_srv.request("GET", f"/api/v1/sites/{SITE}/queue", user=AGENT).json()
    waiting = [t["id"] for t in snap["waiting"]]
    assert waiting == [made["kiosk-a"].ticket]
    listed = any_srv.request("GET", f"/api/v1/sites/{SITE}/conflicts", device="board-a").json()
    assert [
        (c["kind"], c["ticket"], c["kept_counter"], c["other_counter"], c["event"])
        for c in listed["conflicts"]
    ] == [("duplicate_checkin", made["kiosk-b"].ticket, "kiosk-a", "kiosk-b", made["kiosk-b"].id)]
    assert snap["conflicts"] == listed["conflicts"]


def test_offline_events_apply_in_clock_order_whatever_the_upload_order(srv: Srv) -> None:
    """GIVEN the board's call uploaded before the kiosk's ticket it calls."""
    now = time.time()
    kiosk = DeviceClock("kiosk-a", wall=now - 30)
    board = DeviceClock("board-a", wall=now - 20)
    ticket = kiosk.issued(902)
    call = board.make(EventKind.TICKET_CALLED, ticket=ticket.ticket, counter="4")
    srv.sync("board-a", events=wire([call]))
    srv.sync("kiosk-a", events=wire([ticket]))
    snap = srv.request("GET", f"/api/v1/sites/{SITE}/queue", device="board-a").json()
    counter4 = next(c for c in snap["counters"] if c["id"] == "4")
    assert counter4["ticket"]["id"] == ticket.ticket
    assert counter4["ticket"]["status"] == "called"
    assert snap["waiting"] == []
    assert snap["conflicts"] == []
