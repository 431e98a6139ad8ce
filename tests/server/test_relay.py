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
