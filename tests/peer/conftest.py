"""Devices of one site exchanging events over real HTTP on loopback (``tickets.peer``).

``Node`` is one device: its journal on disk and its ``PeerSync`` answering on a free port. The
site is the server tests' test site (two kiosks, two boards, two services open all day).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.server.helpers import SITE, site_config
from tickets.events import Event
from tickets.journal import Journal
from tickets.model import Site
from tickets.numbering import Lease
from tickets.peer import PeerSync, peer_key

DEVICES = ("kiosk-a", "kiosk-b", "board-a", "board-b")
TOKENS = {d: f"token-of-{d}-0123456789abcdef" for d in DEVICES}
KEYS = {d: peer_key(t) for d, t in TOKENS.items()}


@dataclass
class Node:
    journal: Journal
    peer: PeerSync
    learnt: list[Event] = field(default_factory=list)

    @property
    def device(self) -> str:
        return self.journal.device

    def issue(self, service: str = "civil", day: str = "2026-11-23") -> Event:
        prefix = "A" if service == "civil" else "B"
        event, _ = self.journal.issue_ticket(service, day, priority=None, lang="fr", prefix=prefix)
        return event

    def ids(self) -> set[str]:
        return {e.id for e in self.journal.events_after(0, 100_000)[0]}


class Nodes:
    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.all: list[Node] = []

    def make(
        self,
        device: str,
        peers: list[str] | None = None,
        *,
        listen: bool = True,
        token: str | None = None,
        keys: dict[str, str] | None = KEYS,
        **kw: object,
    ) -> Node:
        journal = Journal(
            self.tmp / f"{device}.sqlite3", SITE, device, key=peer_key(token or TOKENS[device])
        )
        if device.startswith("kiosk"):
            journal.grant_leases(
                [Lease("civil", "2026-11-23", 1, 500), Lease("passports", "2026-11-23", 1, 500)]
            )
        learnt: list[Event] = []
        peer = PeerSync(
            journal,
            token=token or TOKENS[device],
            listen=("127.0.0.1", 0) if listen else None,
            peers=peers or [],
            on_events=learnt.extend,
            interval=0.05,
            **kw,  # type: ignore[arg-type]
        )
        if keys is not None:
            peer.set_keys(keys)
        node = Node(journal, peer, learnt)
        if listen:
            peer.start_server()
        self.all.append(node)
        return node

    def close(self) -> None:
        for n in self.all:
            n.peer.stop()
            n.journal.close()


@pytest.fixture
def nodes(tmp_path: Path) -> Iterator[Nodes]:
    n = Nodes(tmp_path)
    yield n
    n.close()


@pytest.fixture(scope="session")
def site() -> Site:
    return site_config().to_domain()
