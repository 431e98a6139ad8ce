"""Peers check each other: every request and every answer is signed with the sender's key
(the sha256 of its device token); anything else is refused and stores nothing."""

from __future__ import annotations

import json
import logging

import pytest
import requests

from tests.conftest import PATIENCE
from tests.peer.conftest import KEYS, TOKENS, Nodes
from tickets.events import EventKind
from tickets.peer import (
    PEER_API,
    REPLY_HEADER,
    REQUEST_HEADER,
    PeerLink,
    PeerSync,
    header_value,
    parse_header,
    peer_key,
    sign_reply,
    sign_request,
)


def _signed_get(url: str, device: str, token: str, target: str) -> requests.Response:
    sig = sign_request(peer_key(token), "GET", target, b"")
    return requests.get(
        url + target, headers={REQUEST_HEADER: header_value(device, sig)}, timeout=5
    )


def test_a_signed_request_is_answered_with_a_signed_answer(nodes: Nodes) -> None:
    kiosk = nodes.make("kiosk-a")
    kiosk.issue()
    target = f"{PEER_API}/events?since=0&limit=10"
    sig = sign_request(KEYS["board-a"], "GET", target, b"")
    r = requests.get(
        kiosk.peer.url + target,
        headers={REQUEST_HEADER: header_value("board-a", sig)},
        timeout=PATIENCE,
    )
    assert r.status_code == 200
    body = r.json()
    assert body["device"] == "kiosk-a" and len(body["events"]) == 1
    assert "seq" not in body["events"][0]
    who = parse_header(r.headers[REPLY_HEADER])
    assert who == ("kiosk-a", sign_reply(KEYS["kiosk-a"], sig, 200, r.content))


def test_a_wrong_token_is_refused_both_ways(nodes: Nodes, caplog: pytest.LogCaptureFixture) -> None:
    """GIVEN a board whose configured token is not the one the server knows
    WHEN it pulls from the kiosk, and the kiosk pulls from it
    THEN both exchanges are refused and nothing is stored on either side."""
    kiosk = nodes.make("kiosk-a")
    impostor = nodes.make("board-a", [kiosk.peer.url], token="not-the-token-of-board-a-000000")
    kiosk.issue()
    impostor.journal.record(EventKind.COUNTER_OPENED, counter="1")
    with caplog.at_level(logging.WARNING, logger="tickets.peer"):
        impostor.peer.run_once()
    assert impostor.peer.status()[kiosk.peer.url]["state"] == "refused"
    assert impostor.learnt == [] and len(impostor.ids()) == 1
    assert "bad signature" in caplog.text

    # The other way: the kiosk refuses the impostor's answers (signed with the wrong key).
    kiosk.peer.links.append(PeerLink(impostor.peer.url))
    kiosk.peer.run_once()
    assert kiosk.peer.status()[impostor.peer.url]["state"] == "refused"
    assert "bad answer signature" in kiosk.peer.status()[impostor.peer.url]["error"]
    assert kiosk.learnt == [] and len(kiosk.ids()) == 1


@pytest.mark.parametrize(
    "header",
    [
        None,
        "device=board-a",
        "device=board-a; sig=" + "0" * 64,
        "device=stranger; sig=" + "0" * 64,
    ],
    ids=["missing", "no-signature", "wrong-signature", "unknown-device"],
)
def test_requests_without_a_valid_signature_get_401(nodes: Nodes, header: str | None) -> None:
    kiosk = nodes.make("kiosk-a")
    kiosk.issue()
    headers = {REQUEST_HEADER: header} if header else {}
    r = requests.get(
        f"{kiosk.peer.url}{PEER_API}/events?since=0", headers=headers, timeout=PATIENCE
    )
    assert r.status_code == 401
    assert "events" not in r.json()


def test_a_request_signed_for_another_body_is_refused(nodes: Nodes) -> None:
    """A signature covers the body: a push altered on the way is refused, nothing stored."""
    kiosk = nodes.make("kiosk-a")
    board = nodes.make("board-a", listen=False)
    e = board.journal.record(EventKind.COUNTER_OPENED, counter="1")
    genuine = json.dumps({"events": []}).encode()
    altered = json.dumps({"events": [e.to_dict()]}).encode()
    target = f"{PEER_API}/events"
    sig = sign_request(KEYS["board-a"], "POST", target, genuine)
    r = requests.post(
        kiosk.peer.url + target,
        data=altered,
        headers={REQUEST_HEADER: header_value("board-a", sig)},
        timeout=PATIENCE,
    )
    assert r.status_code == 401
    assert e.id not in kiosk.ids()


def test_a_signature_for_another_path_is_refused(nodes: Nodes) -> None:
    kiosk = nodes.make("kiosk-a")
    sig = sign_request(KEYS["board-a"], "GET", f"{PEER_API}/events?since=5", b"")
    r = requests.get(
        f"{kiosk.peer.url}{PEER_API}/events?since=0",
        headers={REQUEST_HEADER: header_value("board-a", sig)},
        timeout=PATIENCE,
    )
    assert r.status_code == 401


def test_a_device_without_keys_refuses_everyone_and_does_not_pull(nodes: Nodes) -> None:
    kiosk = nodes.make("kiosk-a", keys=None)
    kiosk.issue()
    r = _signed_get(kiosk.peer.url, "board-a", TOKENS["board-a"], f"{PEER_API}/events?since=0")
    assert r.status_code == 401
    board = nodes.make("board-a", [kiosk.peer.url], keys=None)
    board.peer.run_once()
    status = board.peer.status()[kiosk.peer.url]
    assert status["state"] == "no_keys" and "no peer keys" in status["error"]
    assert board.learnt == []


def test_keys_survive_a_restart_in_the_journal(nodes: Nodes) -> None:
    """Keys received once are kept: peers keep checking each other while the server is away."""
    kiosk = nodes.make("kiosk-a")
    again = PeerSync(kiosk.journal, token=TOKENS["kiosk-a"])
    assert again.key_of("board-a") == KEYS["board-a"]
    assert again.key_of("stranger") is None


def test_our_own_address_in_the_list_is_recognised_and_skipped(nodes: Nodes) -> None:
    kiosk = nodes.make("kiosk-a")
    kiosk.peer.links.append(PeerLink(kiosk.peer.url))
    kiosk.peer.run_once()
    assert kiosk.peer.status()[kiosk.peer.url]["state"] == "self"
