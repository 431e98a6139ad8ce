"""Any device uploads what it knows: an event relayed by a device that did not make it is
stored when its author signed it (``tickets.signing``), and refused (403, naming the event and
``sig``) when it is unsigned, altered, signed by someone else, or of a kind its author may not
make."""

from __future__ import annotations

import time
import uuid
from dataclasses import replace

import sqlalchemy as sa

from tests.server.helpers import SITE, DeviceClock, Srv, wire
from tickets.events import Event, EventKind
from tickets.signing import peer_key, signed


def _signed_by(srv: Srv, device: str, event: Event) -> Event:
    return signed(event, peer_key(srv.tokens[device]))


def test_a_ticket_relayed_by_a_board_is_stored_once_under_its_author(any_srv: Srv) -> None:
    ticket = _signed_by(any_srv, "kiosk-a", DeviceClock("kiosk-a").issued(901))
    r = any_srv.sync("board-a", events=wire([ticket]))
    assert r.status_code == 200, r.text
    assert r.json()["acks"] == [ticket.id]
    # The author (or another relay) uploading it again is acknowledged, not stored twice.
    for device in ("kiosk-a", "board-b"):
        again = any_srv.sync(device, events=wire([ticket]))
        assert again.json()["acks"] == [ticket.id]
    assert any_srv.count() == 1
    with any_srv.engine.connect() as conn:
        row = conn.execute(sa.text("SELECT device, sig FROM events")).one()
    assert (row.device, row.sig) == ("kiosk-a", ticket.sig)
    # Sent on to every device with its signature, so they can relay it in turn.
    pulled = any_srv.sync("board-b").json()["events"]
    assert [(e["id"], e["sig"]) for e in pulled] == [(ticket.id, ticket.sig)]


def test_forged_relays_are_refused_naming_the_event(srv: Srv) -> None:
    kiosk = DeviceClock("kiosk-a")
    good = _signed_by(srv, "kiosk-a", kiosk.issued(901))
    cases = {
        "unsigned": kiosk.issued(902),
        "signed by the relaying board, not the kiosk": _signed_by(
            srv, "board-a", kiosk.issued(903)
        ),
        "altered after signing": replace(good, data={**good.data, "number": 1}),
        "another event's signature": replace(kiosk.issued(904), sig=good.sig),
    }
    for why, forged in cases.items():
        r = srv.sync("board-a", events=wire([forged]))
        body = r.json()
        assert (r.status_code, body["field"], body["event"]) == (403, "events.0.sig", forged.id), (
            why
        )
    # A batch with one forged relay is refused whole: the good one waits with it.
    r = srv.sync("board-a", events=wire([good, cases["unsigned"]]))
    assert (r.status_code, r.json()["field"]) == (403, "events.1.sig")
    assert srv.count() == 0


def test_a_relayed_event_keeps_its_authors_rights(srv: Srv) -> None:
    """A kiosk may not call tickets, so a call signed by a kiosk is refused even when a board
    relays it; a board's call relayed by a kiosk is stored."""
    kiosk = DeviceClock("kiosk-a")
    ticket = _signed_by(srv, "kiosk-a", kiosk.issued(901))
    by_kiosk = _signed_by(
        srv, "kiosk-a", kiosk.make(EventKind.TICKET_CALLED, ticket=ticket.ticket, counter="1")
    )
    r = srv.sync("board-a", events=wire([ticket, by_kiosk]))
    assert (r.status_code, r.json()["field"]) == (403, "events.1.kind")
    by_board = _signed_by(
        srv,
        "board-a",
        DeviceClock("board-a").make(EventKind.TICKET_CALLED, ticket=ticket.ticket, counter="1"),
    )
    r = srv.sync("kiosk-b", events=wire([ticket, by_board]))
    assert r.status_code == 200, r.text
    assert sorted(r.json()["acks"]) == sorted([ticket.id, by_board.id])


def test_the_servers_own_events_are_signed_and_any_device_may_relay_them(srv: Srv) -> None:
    srv.issue("civil")
    srv.act("1", "next", user=("agnes", "agent-password"))
    events = [Event.from_dict(e) for e in srv.sync("board-b").json()["events"]]
    assert [e.device for e in events] == ["kiosk-a", "agent:agnes", "agent:agnes"]
    assert all(e.sig for e in events)
    r = srv.sync("kiosk-b", events=wire(events))
    assert r.status_code == 200, r.text
    assert srv.count() == 3
    # The server's signature does not cover a copy with another content.
    copy = replace(events[-1], id=str(uuid.uuid4()), data={**events[-1].data, "counter": "2"})
    r = srv.sync("kiosk-b", events=wire([copy]))
    assert (r.status_code, r.json()["field"]) == (403, "events.0.sig")


def test_a_revoked_devices_events_are_not_relayed(srv: Srv) -> None:
    ticket = _signed_by(srv, "kiosk-b", DeviceClock("kiosk-b").issued(30))
    with srv.engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE devices SET revoked = :t WHERE site = :s AND id = 'kiosk-b'"),
            {"t": True, "s": SITE},
        )
    r = srv.sync("board-a", events=wire([ticket]))
    assert (r.status_code, r.json()["field"]) == (403, "events.0.sig")


def test_a_relayed_event_is_timed_by_its_authors_clock_once_the_author_uploads_it(
    srv: Srv,
) -> None:
    """GIVEN a kiosk whose clock is 10 minutes behind, its ticket relayed by a board first
    THEN the ticket is stored untimed (its clock stands: the board's clock error is not the
    kiosk's) and timed by the kiosk's measured error when the kiosk uploads it itself."""
    now = time.time()
    ticket = _signed_by(srv, "kiosk-a", DeviceClock("kiosk-a", wall=now - 600).issued(901))
    relayed = srv.sync("board-a", events=wire([ticket]), device_time=time.time())
    assert relayed.status_code == 200, relayed.text

    def occurred() -> float | None:
        with srv.engine.connect() as conn:
            value = conn.execute(sa.text("SELECT occurred_at FROM events")).scalar_one()
        return None if value is None else float(value)

    assert occurred() is None
    own = srv.sync("kiosk-a", events=wire([ticket]), device_time=time.time() - 600)
    assert own.json()["acks"] == [ticket.id]
    at = occurred()
    assert at is not None and abs(at - now) < 30


def test_a_relayed_event_made_after_its_authors_clock_moved_is_restamped_at_receipt(
    any_srv: Srv,
) -> None:
    """GIVEN kiosk-a synced with a right clock (its clock error measured), then a power cut
    with the server away: it booted in 1970 and went on from its time floor, 7 minutes behind;
    kiosk-b, right, issued a ticket 3 minutes ago
    WHEN a board relays kiosk-a's ticket (stamped 7 minutes ago, its wall time in 1970)
    THEN the server re-stamps it at receipt, its author's stamp kept: it is called after
    kiosk-b's ticket, not before; kiosk-a's own upload later times it by its new clock."""
    srv = any_srv
    now = time.time()
    before = _signed_by(srv, "kiosk-a", DeviceClock("kiosk-a", wall=now - 3600).issued(1))
    measured = {"clock_offset_seconds": 0.0}  # its health report: the offset measured
    r = srv.sync("kiosk-a", events=wire([before]), device_time=now, health=measured)
    assert r.status_code == 200, r.text
    srv.act("1", "next")  # serves nobody later: the old ticket is called out of the way
    right = _signed_by(srv, "kiosk-b", DeviceClock("kiosk-b", wall=now - 180).issued(30))
    assert srv.sync("kiosk-b", events=wire([right]), device_time=now).status_code == 200
    booted = 3600.0 + 120  # its wall clock: two minutes after its boot in 1970
    guess = DeviceClock("kiosk-a", wall=now - 420).issued(2)
    late = _signed_by(srv, "kiosk-a", replace(guess, wall_time=booted))
    relayed = srv.sync("board-a", events=wire([late]), device_time=time.time())
    assert relayed.status_code == 200, relayed.text

    with srv.engine.connect() as conn:
        row = conn.execute(
            sa.text("SELECT hlc, original_hlc, occurred_at FROM events WHERE id = :id"),
            {"id": late.id},
        ).one()
    assert row.original_hlc == late.hlc.encode()
    assert row.hlc > right.hlc.encode() and row.occurred_at is None
    assert srv.act("1", "next")["ticket"]["id"] == right.ticket
    assert srv.act("1", "next")["ticket"]["id"] == late.ticket

    own = srv.sync("kiosk-a", events=wire([late]), device_time=booted + 1)
    assert own.json()["acks"] == [late.id]
    with srv.engine.connect() as conn:
        occurred = conn.execute(
            sa.text("SELECT occurred_at FROM events WHERE id = :id"), {"id": late.id}
        ).scalar_one()
    assert occurred is not None and abs(float(occurred) - time.time()) < 30


def test_a_relayed_event_of_an_author_whose_wrong_clock_was_measured_keeps_its_stamp(
    srv: Srv,
) -> None:
    """GIVEN kiosk-a whose wall clock says 1970 (no real-time clock, no time server) but which
    synced: its offset was measured and its health report says so
    WHEN a board relays its ticket, stamped on the corrected time (wall time in 1970)
    THEN the stamp is kept: the author's clock did not move since it was measured."""
    now = time.time()
    offset = now - 7200.0  # its wall clock reads 02:00 on 1 January 1970 (UTC)
    r = srv.sync("kiosk-a", device_time=now - offset, health={"clock_offset_seconds": offset})
    assert r.status_code == 200, r.text
    made = DeviceClock("kiosk-a", wall=now - 60).issued(2)
    ticket = _signed_by(srv, "kiosk-a", replace(made, wall_time=now - 60 - offset))
    assert srv.sync("board-a", events=wire([ticket]), device_time=now).status_code == 200
    with srv.engine.connect() as conn:
        row = conn.execute(sa.text("SELECT hlc, original_hlc FROM events")).one()
    assert (row.hlc, row.original_hlc) == (ticket.hlc.encode(), None)
