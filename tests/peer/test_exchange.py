"""Devices of a site exchange events over the LAN: pulled by position, pushed when woken,
relayed from peer to peer, each stored once, and put in the learner's outbox: every device
relays to the server what it learnt."""

from __future__ import annotations

import json
import uuid
from dataclasses import replace

import requests

from tests.conftest import PATIENCE, wait_until
from tests.peer.conftest import KEYS, Node, Nodes
from tickets.events import Event, EventKind
from tickets.model import Site
from tickets.peer import PEER_API, REQUEST_HEADER, PeerLink, header_value, sign_request
from tickets.queue import TicketStatus
from tickets.signing import signed


def test_a_board_learns_the_kiosks_tickets_and_folds_the_same_queue(
    nodes: Nodes, site: Site
) -> None:
    kiosk = nodes.make("kiosk-a")
    board = nodes.make("board-a", [kiosk.peer.url], listen=False)
    issued = [kiosk.issue() for _ in range(3)]
    board.peer.run_once()
    assert [e.id for e in board.learnt] == [e.id for e in issued]
    state = board.journal.state(site)
    assert [t.label for t in state.waiting()] == ["A001", "A002", "A003"]
    assert board.journal.backlog() == 3, "events learnt from a peer are relayed to the server"
    assert kiosk.journal.backlog() == 3
    board.peer.run_once()
    assert len(board.learnt) == 3, "pulled once, by position"


def test_a_woken_device_pushes_its_own_events_at_once(nodes: Nodes, site: Site) -> None:
    """GIVEN a board that only answers, and a kiosk that lists it as a peer
    WHEN the kiosk issues a ticket and wakes its exchange
    THEN the board has the ticket without pulling anything itself."""
    board = nodes.make("board-a")
    kiosk = nodes.make("kiosk-a", [board.peer.url], listen=False)
    kiosk.peer.start()
    e = kiosk.issue()
    kiosk.peer.wake()
    assert wait_until(lambda: e.id in board.ids())
    assert board.learnt[0].id == e.id
    assert board.journal.backlog() == 1


def test_events_travel_through_a_device_in_between(nodes: Nodes, site: Site) -> None:
    """kiosk <- board-a <- board-b: board-b never talks to the kiosk, yet learns its ticket,
    and the kiosk learns board-b's call through board-a."""
    kiosk = nodes.make("kiosk-a")
    board_a = nodes.make("board-a", [kiosk.peer.url])
    board_b = nodes.make("board-b", [board_a.peer.url])
    kiosk.peer.links.append(PeerLink(board_a.peer.url))
    ticket = kiosk.issue()
    board_a.peer.run_once()
    board_b.peer.run_once()
    assert ticket.id in board_b.ids()
    call = board_b.journal.record(
        EventKind.TICKET_CALLED, ticket=ticket.data["ticket"], counter="3"
    )
    board_a.peer.links.append(PeerLink(board_b.peer.url))
    board_a.peer.run_once()
    kiosk.peer.run_once()
    assert call.id in kiosk.ids()
    states = [n.journal.state(site) for n in (kiosk, board_a, board_b)]
    assert {s.tickets[ticket.data["ticket"]].status for s in states} == {TicketStatus.CALLED}
    # Each knows the ticket and the call, and uploads both (the server stores each once).
    assert [n.journal.backlog() for n in (kiosk, board_a, board_b)] == [2, 2, 2]


def test_many_events_come_in_pages(nodes: Nodes) -> None:
    kiosk = nodes.make("kiosk-a")
    board = nodes.make("board-a", [kiosk.peer.url], listen=False, batch=100)
    for _ in range(350):
        kiosk.issue()
    board.peer.run_once()
    assert len(board.learnt) == 350
    assert board.ids() == kiosk.ids()


def test_a_replaced_journal_is_pulled_again_from_the_start(nodes: Nodes, tmp_path: object) -> None:
    """A kiosk whose SD card was replaced starts a new journal: its positions mean nothing to
    the board any more, which starts again from 0 rather than miss its first events."""
    kiosk = nodes.make("kiosk-a")
    board = nodes.make("board-a", [kiosk.peer.url], listen=False)
    for _ in range(5):
        kiosk.issue()
    board.peer.run_once()
    url = kiosk.peer.url
    kiosk.peer.stop()
    kiosk.journal.close()
    nodes.all.remove(kiosk)
    nodes.tmp = nodes.tmp / "new-card"
    nodes.tmp.mkdir()
    fresh = nodes.make("kiosk-a", listen=False)
    fresh.peer.listen = ("127.0.0.1", int(url.rsplit(":", 1)[1]))
    fresh.peer.start_server()
    new = [fresh.issue("passports") for _ in range(2)]
    board.peer.run_once()
    assert {e.id for e in new} <= board.ids()
    assert len(board.ids()) == 7


def test_a_peer_that_goes_away_is_retried_after_a_backoff(nodes: Nodes) -> None:
    kiosk = nodes.make("kiosk-a")
    url = kiosk.peer.url
    board = nodes.make("board-a", [url], listen=False, max_backoff=0.2)
    kiosk.peer.stop()
    board.peer.run_once()
    assert board.peer.status()[url]["state"] == "unreachable"
    kiosk.peer.listen = ("127.0.0.1", int(url.rsplit(":", 1)[1]))
    kiosk.peer.start_server()
    e = kiosk.issue()

    def exchanged() -> bool:
        board.peer.run_once()
        return bool(board.peer.status()[url]["state"] == "ok")

    assert wait_until(exchanged, step=0.02)
    assert e.id in board.ids()


def test_malformed_pushes_are_refused_and_the_endpoint_keeps_serving(nodes: Nodes) -> None:
    kiosk = nodes.make("kiosk-a")
    target = f"{PEER_API}/events"
    for body in (b"{not json", json.dumps({"events": [{"id": "x"}]}).encode(), b"[]"):
        sig = sign_request(KEYS["board-a"], "POST", target, body)
        r = requests.post(
            kiosk.peer.url + target,
            data=body,
            headers={REQUEST_HEADER: header_value("board-a", sig)},
            timeout=PATIENCE,
        )
        assert r.status_code == 400, body
        assert r.json()["message"]
    before = kiosk.ids()
    board = nodes.make("board-a", [kiosk.peer.url], listen=False)
    kiosk.issue()
    board.peer.run_once()
    assert board.peer.status()[kiosk.peer.url]["state"] == "ok"
    assert len(kiosk.ids()) == len(before) + 1


def test_events_of_another_site_are_not_stored(nodes: Nodes) -> None:
    kiosk = nodes.make("kiosk-a")
    board = nodes.make("board-a", listen=False)
    e = board.journal.record(EventKind.COUNTER_OPENED, counter="1")
    raw = {**e.to_dict(), "id": "00000000-0000-4000-8000-000000000001", "site": "elsewhere"}
    assert Event.from_dict(raw).site == "elsewhere"
    body = json.dumps({"events": [raw]}).encode()
    target = f"{PEER_API}/events"
    sig = sign_request(KEYS["board-a"], "POST", target, body)
    r = requests.post(
        kiosk.peer.url + target,
        data=body,
        headers={REQUEST_HEADER: header_value("board-a", sig)},
        timeout=PATIENCE,
    )
    assert r.status_code == 200 and r.json() == {"stored": 0}
    assert raw["id"] not in kiosk.ids()


def _push(to: Node, sender: str, events: list[Event]) -> requests.Response:
    body = json.dumps({"events": [e.to_dict() for e in events]}).encode()
    target = f"{PEER_API}/events"
    sig = sign_request(KEYS[sender], "POST", target, body)
    return requests.post(
        to.peer.url + target,
        data=body,
        headers={REQUEST_HEADER: header_value(sender, sig)},
        timeout=PATIENCE,
    )


def test_a_peer_takes_anothers_event_only_with_its_authors_signature(nodes: Nodes) -> None:
    """GIVEN board-a, a genuine peer, sending board-b events it says kiosk-a made
    WHEN one carries kiosk-a's signature and the others are unsigned, altered or signed by
    board-a itself THEN board-b keeps only the genuine one, and relays it (its outbox)."""
    kiosk = nodes.make("kiosk-a", listen=False)
    board_b = nodes.make("board-b")
    genuine = kiosk.issue()
    forged = {
        "unsigned": replace(kiosk.issue(), sig=None),
        "altered": replace(genuine, id=str(uuid.uuid4()), data={**genuine.data, "number": 9}),
        "signed by the relay": signed(kiosk.issue(), KEYS["board-a"]),
    }
    r = _push(board_b, "board-a", [genuine, *forged.values()])
    assert r.status_code == 200 and r.json() == {"stored": 1}
    assert genuine.id in board_b.ids()
    assert not {e.id for e in forged.values()} & board_b.ids()
    assert board_b.peer.refused == 3
    assert [e.id for e in board_b.journal.outbox()] == [genuine.id]
    # Its author needs no more than its request's signature for its own events.
    own = board_b.journal.record(EventKind.COUNTER_OPENED, counter="2")
    board_a = nodes.make("board-a")
    r = _push(board_a, "board-b", [replace(own, sig=None)])
    assert r.json() == {"stored": 1}


def test_a_forged_event_in_a_peers_journal_is_not_pulled(nodes: Nodes) -> None:
    """A peer whose journal holds an event its author never made (a corrupted or doctored
    journal) serves it; the puller drops it and takes the rest."""
    kiosk = nodes.make("kiosk-a", listen=False)
    board_a = nodes.make("board-a")
    good = kiosk.issue()
    bad = replace(kiosk.issue(), sig="0" * 64)
    board_a.journal.store_remote([good, bad])
    board_b = nodes.make("board-b", [board_a.peer.url], listen=False)
    board_b.peer.run_once()
    assert good.id in board_b.ids() and bad.id not in board_b.ids()
    assert board_b.peer.refused == 1
