"""One rule for what a press does: the server and a board deciding alone make the same events.

GIVEN any queue (tickets issued, with or without priority, counters opened, called, served,
transferred...) on the real server, and a board whose journal holds exactly the server's events
WHEN the same press is decided by the board alone (no server configured) and by the server
THEN both make the same events (kinds and payloads; only the events' own ids, clocks and the
press id differ).
"""

from __future__ import annotations

import tempfile
import uuid
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from display.core import BoardCore
from display.protocol import Action, Press
from tests.server.helpers import SITE, Srv, site_config
from tickets.events import Event
from tickets.journal import Journal

COUNTERS = ["1", "2", "3"]
SERVICES = ["civil", "passports"]

issue = st.tuples(st.just("issue"), st.sampled_from(SERVICES), st.booleans())
press = st.tuples(
    st.just("press"),
    st.sampled_from(COUNTERS),
    st.sampled_from(list(Action)),
    st.sampled_from(SERVICES),
)
steps = st.lists(st.one_of(issue, press), min_size=1, max_size=12)


def _server_events(srv: Srv) -> list[Event]:
    out: list[Event] = []
    cursor = 0
    while True:
        body = srv.sync("board-b", cursor=cursor, limit=5000).json()
        out += [Event.from_dict(raw) for raw in body["events"]]
        cursor = body["cursor"]
        if not body["more"]:
            return out


def _shape(events: list[dict[str, Any]] | list[Event]) -> list[tuple[str, dict[str, Any]]]:
    """Kinds and payloads, without the press id (each decider has its own)."""
    out = []
    for e in events:
        raw = e.to_dict() if isinstance(e, Event) else e
        out.append((raw["kind"], {k: v for k, v in raw["data"].items() if k != "press"}))
    return out


def _board_decides(srv: Srv, p: Press, folder: Path) -> list[Event]:
    site = site_config().to_domain()
    journal = Journal(folder / f"{uuid.uuid4()}.sqlite3", SITE, "board-b")
    try:
        journal.store_remote(_server_events(srv))
        core = BoardCore(site, journal)  # no client: the board decides alone
        before = {e.id for e in journal.state(site).events}
        core.press(p)
        return [e for e in journal.state(site).events if e.id not in before]
    finally:
        journal.close()


def _server_decides(srv: Srv, p: Press) -> list[dict[str, Any]]:
    """The events the server makes; none when it refuses a TRANSFER to a service no open
    counter serves (it answers 422, where the board alone makes nothing either: e.g. the
    counter was closed while holding its ticket)."""
    body: dict[str, Any] = {"press": str(uuid.uuid4())}
    if p.action is Action.TRANSFER:
        body["service"] = p.service
    r = srv.request(
        "POST",
        f"/api/v1/sites/{SITE}/counters/{p.counter}/{p.action.value}",
        device="board-a",
        json=body,
    )
    if p.action is Action.TRANSFER and r.status_code == 422:
        assert r.json()["field"] == "service", r.text
        return []
    assert r.status_code == 200, r.text
    events: list[dict[str, Any]] = r.json()["events"]
    return events


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=steps)
@example(  # a counter closed while holding its ticket transfers it: no open counter serves
    steps=[
        ("issue", "civil", False),
        ("press", "1", Action.NEXT, "civil"),
        ("press", "1", Action.CLOSE, "civil"),
        ("press", "1", Action.TRANSFER, "civil"),
    ]
)
def test_server_and_board_make_the_same_events(shared_srv: Srv, steps: list[Any]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        for step in steps:
            if step[0] == "issue":
                srv_body = {"priority": "pregnancy"} if step[2] and step[1] == "civil" else {}
                shared_srv.issue(step[1], **srv_body)
                continue
            _, counter, action, target = step
            p = Press(counter, action, target if action is Action.TRANSFER else None)
            by_board = _board_decides(shared_srv, p, Path(folder))
            by_server = _server_decides(shared_srv, p)
            assert _shape(by_board) == _shape(by_server), p
