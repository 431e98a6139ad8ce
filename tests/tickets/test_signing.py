"""Events signed by their author (``tickets.signing``): what the signature covers."""

from __future__ import annotations

from dataclasses import replace

from tests.server.helpers import DeviceClock
from tickets.events import Event
from tickets.hlc import Timestamp
from tickets.signing import SERVER_SIGNER, made_by_author, peer_key, signed, signer

KEYS = {"kiosk-a": peer_key("token-of-kiosk-a"), SERVER_SIGNER: peer_key("server-secret")}


def test_the_signature_survives_the_wire_and_a_receivers_new_stamp() -> None:
    e = signed(DeviceClock("kiosk-a", wall=1_795_000_000).issued(1), KEYS["kiosk-a"])
    back = Event.from_dict(e.to_dict())
    assert back.sig == e.sig and signer(back, KEYS) == "kiosk-a"
    # A receiver that re-stamps it (a clock out of bounds) keeps the author's stamp.
    moved = back.restamped(Timestamp(back.hlc.millis + 3_600_000, 0, "server"))
    assert made_by_author(moved, KEYS)


def test_anything_else_changed_or_another_key_breaks_it() -> None:
    e = signed(DeviceClock("kiosk-a", wall=1_795_000_000).issued(1), KEYS["kiosk-a"])
    assert not made_by_author(replace(e, data={**e.data, "number": 2}), KEYS)
    assert not made_by_author(replace(e, wall_time=e.wall_time + 1), KEYS)
    assert not made_by_author(replace(e, device="kiosk-b"), KEYS)
    assert not made_by_author(replace(e, sig=None), KEYS)
    assert signer(signed(e, KEYS[SERVER_SIGNER]), KEYS) == SERVER_SIGNER
    assert not made_by_author(signed(e, peer_key("someone-else")), KEYS)
