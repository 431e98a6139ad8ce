"""After the day: what must hold, checked against the server, the devices, the printers and
the simulator's own record. Each check that fails is a violation, described in plain words.

- no ticket lost: every number a person got is at the server;
- no number printed twice, and nothing on paper the server does not know;
- a ticket called at two counters is flagged as a conflict, never silent;
- every event reached the server exactly once, under the device that made it;
- every device and the server fold the same queue (same events, same state);
- no FIFO inversion (priority aside): a NEXT never calls a ticket that comes after one its
  board knew was waiting, whoever decides it (the server must have what the board knows);
- the server's statistics match the record: counts exactly, times within a tolerance.

The record times each thing when the simulated person or agent acted (the touch at the kiosk,
the press of NEXT) and when the device answered; the server's time for it must lie in between,
give or take the tolerance (clock skews, rounding). On a busy machine a device may take
seconds to answer: that measured lag widens the window of that one item, nothing else
(``figures["lag"]`` gives the longest ones).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Any

import requests

from guichet.sim.checks import calls_per_ticket, fold_dump, server_events
from guichet.sim.record import Record, Visit
from guichet.sim.world import MANAGER, World
from printer.virtual import VirtualPrinter
from server.stats import percentile
from tickets.events import Event, EventKind
from tickets.model import Site
from tickets.queue import QueueState, Ticket, TicketStatus, fold


@dataclass
class Report:
    figures: dict[str, Any] = field(default_factory=dict)
    checks: int = 0
    violations: list[str] = field(default_factory=list)
    server_view: set[str] = field(default_factory=set)
    """Labels of the tickets the record cannot know what the server settled for (flagged
    conflicts, calls lost with a killed board, presses decided twice): the figures take the
    server's view for them."""

    def check(self, ok: bool, what: str) -> None:
        self.checks += 1
        if not ok:
            self.violations.append(what)

    def to_json(self) -> dict[str, Any]:
        return {
            **self.figures,
            "checks": self.checks,
            "violations": self.violations,
        }


def printed_labels(printers: dict[str, VirtualPrinter]) -> list[str]:
    out = []
    for vp in printers.values():
        for slip in vp.printed:
            for line in slip.text_lines():
                text = line.strip()
                letters = text.rstrip("0123456789")
                if 1 <= len(letters) <= 2 and letters.isupper() and len(text) - len(letters) >= 3:
                    out.append(text)
    return out


def build_report(world: World, record: Record, dumps: dict[str, dict[str, Any]]) -> Report:
    r = Report()
    site = world.site
    events = server_events(world.engine, site.id)
    state = fold(site, events)
    expected = fold_dump(state)
    day = world.cfg.simulation.date.isoformat()
    by_label = {t.label: t for t in state.tickets.values() if t.day == day}

    # Convergence and exactly once.
    r.check(
        set(dumps) == set(world.names),
        f"devices that never converged: {set(world.names) - set(dumps)}",
    )
    per_device = Counter(e.device for e in events)
    r.check(len({e.id for e in events}) == len(events), "an event is stored twice at the server")
    for name, d in sorted(dumps.items()):
        r.check(d["dump"] == expected, f"{name} folds a different queue from the server's")
        r.check(d["backlog"] == 0, f"{name} still has {d['backlog']} events to upload")
        r.check(
            per_device[name] == d["own"],
            f"{name} made {d['own']} events, the server holds {per_device[name]} of them",
        )

    # Tickets: none lost, none printed twice, nothing on paper the server does not know.
    visits = list(record.visits.values())
    for v in visits:
        t = by_label.get(v.label)
        r.check(t is not None, f"ticket {v.label} ({v.service}, {v.kiosk}) is not at the server")
        if t is not None and v.ticket is not None:
            r.check(t.id == v.ticket, f"ticket {v.label} at the server is another ticket")
    paper = printed_labels(world.printers)
    twice = [label for label, n in Counter(paper).items() if n > 1]
    r.check(not twice, f"numbers printed twice: {twice}")
    unknown = sorted(set(paper) - set(by_label))
    r.check(not unknown, f"printed but unknown to the server: {unknown}")
    duplicates = [c for c in state.conflicts if c.kind == "duplicate_number"]
    r.check(not duplicates, f"numbers issued twice: {[c.label for c in duplicates]}")

    # Calls: at most once, unless flagged; a board shows only tickets it knows.
    twice_called = {tid for tid, n in calls_per_ticket(events).items() if n > 1}
    unflagged = sorted(
        state.tickets[t].label for t in twice_called if not state.tickets[t].conflict
    )
    r.check(not unflagged, f"tickets called twice without a conflict flag: {unflagged}")
    unseen = sorted(state.tickets[t].label for t in _calls_before_issue(world, events))
    r.check(not unseen, f"calls a board journaled before the ticket they call: {unseen}")
    inversions = fifo_inversions(site, events, record.presses, by_label)
    r.check(not inversions, f"FIFO inversions: {inversions}")

    # Where the record cannot know what the server settled (a flagged conflict: which of two
    # calls stands; a call whose answer died with its board), the figures take the server's view.
    special = {t.label for t in state.tickets.values() if t.conflict}
    special |= _answers_lost_to_a_kill(events, record, world.cfg.simulation.tolerance, by_label)
    special |= decided_twice(state, events)
    r.server_view = special
    unanswered = _issues_lost_to_a_kill(record, by_label, set(paper))
    _compare_stats(r, world, record, by_label, special, unanswered)
    r.figures["lag"] = lags(visits)
    conflicted = [t.label for t in state.tickets.values() if t.conflict]
    r.figures.update(
        {
            "tickets": len(visits),
            "orphans": sum(1 for v in visits if v.orphan),
            "refused": len(record.refused),
            "called": sum(1 for v in visits if v.called_at is not None),
            "served": sum(1 for v in visits if v.outcome == "served"),
            "no_shows": sum(1 for v in visits if v.outcome == "no_show"),
            "printed": len(paper),
            "events": len(events),
            "conflicts": len(state.conflicts),
            "fifo_inversions": len(inversions),
            "conflicted_tickets": conflicted,
            "double_calls_seen": len(record.double_calls),
            "faults": {
                "kills": world.faults.kills,
                "restarts": world.faults.restarts,
                "server_stops": world.faults.server_stops,
                "lan_cuts": world.faults.lan_cuts,
                "server_cuts": world.faults.server_cuts,
                "clock_boots": world.faults.clock_boots,
                "skewed_devices": world.faults.skewed,
            },
        }
    )
    return r


def within(server: float | None, at: float, by: float | None, tol: float) -> bool:
    """The server's time for something the record saw begin at ``at`` (a touch, a press) and
    answered at ``by``: in between, give or take ``tol``."""
    return server is not None and at - tol <= server <= (at if by is None else by) + tol


def lags(visits: list[Visit]) -> dict[str, float]:
    """The longest a kiosk took to answer a touch, and a board a press that called
    (simulated seconds): how much the record's windows were widened by the machine's load."""
    issue = [v.issued_by - v.issued_at for v in visits if v.issued_by is not None]
    call = [
        v.called_by - v.called_at
        for v in visits
        if v.called_by is not None and v.called_at is not None
    ]
    return {
        "issue_max_seconds": round(max(issue, default=0.0), 1),
        "call_max_seconds": round(max(call, default=0.0), 1),
    }


def fifo_inversions(
    site: Site, events: list[Event], presses: list[dict[str, Any]], by_label: dict[str, Ticket]
) -> list[str]:
    """NEXT presses that called a ticket after one their board knew was waiting before it.

    For each NEXT that called T2, the board's expectation T1 (what it would have called from
    what it knew when the agent pressed): if, in the server's queue just before T2's call, T1
    still waited for that counter and comes before T2 by the calling rule
    (``QueueState.next_for``: priority aside, T1 was there first), whoever decided called out
    of order.
    A ticket the board could not know (a kiosk cut from everyone) is not its expectation; a
    ticket taken meanwhile by another counter no longer waits: neither is counted.
    """
    wanted: dict[tuple[str, str], str] = {}
    for p in presses:
        t2, t1 = by_label.get(p.get("ticket") or ""), by_label.get(p.get("expected") or "")
        if p["action"] == "next" and t2 is not None and t1 is not None and t1.id != t2.id:
            wanted.setdefault((t2.id, p["counter"]), t1.id)
    out: list[str] = []
    state = fold(site, [])
    for e in sorted(events, key=Event.sort_key):
        if e.kind is EventKind.TICKET_CALLED and e.ticket:
            t2_counter = e.data["counter"]
            t1_id = wanted.pop((e.ticket, t2_counter), None)
            t1, t2 = state.tickets.get(t1_id or ""), state.tickets.get(e.ticket)
            if t1 is not None and t2 is not None and t1.status is TicketStatus.WAITING:
                # The calling rule itself decides between the two.
                both = {t1.id: t1, t2.id: replace(t2, status=TicketStatus.WAITING)}
                first = QueueState(site, tickets=both).next_for(t2_counter, t2.day, now=e.at)
                if first is not None and first.id == t1.id:
                    out.append(f"{t2.label} called at {t2_counter} before {t1.label}")
        state.add(e)
    return out


def _answers_lost_to_a_kill(
    events: list[Event], record: Record, within: float, by_label: dict[str, Ticket]
) -> set[str]:
    """Tickets the server called for a board that was killed (SIGKILL) before the press's
    answer reached the counter: the record never heard of the call, the server rightly holds
    it (the board shows it from its journal once restarted, or from the server's once it has
    caught up). Such a call is the board's, for a counter whose press the record saw lost with
    that board: made between the press and the kill (give or take ``within``); or it reached
    the server just before the kill."""
    kills: dict[str, list[float]] = {}
    for f in record.faults:
        if f["what"] == "kill":
            kills.setdefault(f["device"], []).append(f["at"])
    # (board, counter) -> [(press, kill)] for the presses that died with their board.
    lost: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for p in record.lost_presses:
        for at in kills.get(p["device"], []):
            if p["start"] <= at <= p["at"]:
                lost.setdefault((p["device"], p["counter"]), []).append((p["start"], at))
    label_of = {t.id: label for label, t in by_label.items()}
    out: set[str] = set()
    for e in events:
        if e.kind is not EventKind.TICKET_CALLED or not e.ticket:
            continue
        label = label_of.get(e.ticket)
        visit = record.get(label) if label else None
        if visit is None or visit.called_at is not None:
            continue
        died = lost.get((e.device, e.data.get("counter", "")), [])
        if any(start - within <= e.at <= kill + within for start, kill in died) or (
            e.received_at is not None
            and any(0 <= at - e.received_at <= within for at in kills.get(e.device, []))
        ):
            out.add(visit.label)
    return out


def decided_twice(state: QueueState, events: list[Event]) -> set[str]:
    """Tickets called by the decision that stands for a press decided twice (the server acted
    on it while the board, no answer in time, decided it too; the fold keeps the first by
    clock and flags the other's ticket): the agent saw the board's own decision, so the
    record cannot know of the call that stands. The flagged ticket is special already."""
    lost = {c.event for c in state.conflicts if c.kind == "double_decision"}
    presses = {e.data["press"] for e in events if e.id in lost and e.data.get("press")}
    return {
        state.tickets[e.ticket].label
        for e in events
        if e.kind is EventKind.TICKET_CALLED
        and e.data.get("press") in presses
        and e.id not in lost
        and e.ticket in state.tickets
    }


def _issues_lost_to_a_kill(
    record: Record, by_label: dict[str, Ticket], paper: set[str]
) -> list[Ticket]:
    """Tickets a kiosk journaled and was killed before printing or answering: the record never
    heard of them, nobody holds their paper, and the server rightly has them once the restarted
    kiosk uploads its journal (it marks the print failed, the ticket stays in the queue in case
    the paper came out). Only a kiosk that was killed can leave such a ticket."""
    killed = {f["device"] for f in record.faults if f["what"] == "kill"}
    return [
        t
        for label, t in sorted(by_label.items())
        if record.get(label) is None and label not in paper and t.device in killed
    ]


def _calls_before_issue(world: World, events: list[Event]) -> set[str]:
    """Tickets whose call came into the journal of the board it was made for before the ticket
    itself: that board could neither show nor announce the call."""
    from tickets.journal import Journal

    calls = {
        e.id: e.ticket
        for e in events
        if e.kind is EventKind.TICKET_CALLED and e.device in world.board_names and e.ticket
    }
    out: set[str] = set()
    for board in world.board_names:
        path = world.out / "devices" / f"{board}.sqlite3"
        if not path.exists():
            continue
        with Journal(path, world.site.id, board) as j:
            seen: set[str] = set()
            position = 0
            while True:
                page, position = j.events_after(position, 5000)
                for e in page:
                    if e.kind is EventKind.TICKET_ISSUED and e.ticket:
                        seen.add(e.ticket)
                    elif e.id in calls and e.device == board and calls[e.id] not in seen:
                        out.add(calls[e.id])
                if len(page) < 5000:
                    break
    return out


def _server_stats(world: World) -> dict[str, dict[str, Any]]:
    assert world.server is not None
    day = world.cfg.simulation.date.isoformat()
    answer = requests.get(
        f"{world.server.url}/api/v1/sites/{world.site.id}/stats",
        params={"from": day, "to": day},
        auth=MANAGER,
        timeout=30,
    )
    answer.raise_for_status()
    return {d["service"]: d for d in answer.json()["days"]}


def _compare_stats(
    r: Report,
    world: World,
    record: Record,
    by_label: dict[str, Ticket],
    special: set[str],
    unanswered: list[Ticket],
) -> None:
    day = world.cfg.simulation.date.isoformat()
    statistics = fold(world.site, server_events(world.engine, world.site.id, corrected_time=True))
    timed = {t.label: t for t in statistics.tickets.values() if t.day == day}
    compare_stats(
        r,
        [s.id for s in world.site.services],
        _server_stats(world),
        list(record.visits.values()),
        by_label,
        special,
        unanswered,
        world.cfg.simulation.tolerance,
        timed=timed,
    )


def compare_stats(
    r: Report,
    services: list[str],
    stats: dict[str, dict[str, Any]],
    visits: list[Visit],
    by_label: dict[str, Ticket],
    special: set[str],
    unanswered: list[Ticket],
    tol: float,
    timed: dict[str, Ticket] | None = None,
) -> None:
    """The server's statistics per service (``stats``) and its tickets (``by_label``) against
    the record's visits: counts exactly; each time between the record's act and answer, give
    or take ``tol``; the wait percentiles between those the record allows. ``timed``: the
    tickets as the statistics fold them (each event at its ``occurred_at``), whose times are
    checked the same way, ticket by ticket (a percentile does not show one ticket a day off)."""
    for service_id in services:
        mine = [v for v in visits if v.service == service_id]
        if not mine and service_id not in stats:
            continue
        got = stats.get(service_id, {})
        views = [_view(v, by_label, v.label in special) for v in mine]
        views += [
            (t.label, t.waited_seconds, t.waited_seconds, t.status.value)
            for t in unanswered
            if t.service == service_id
        ]
        for key, want in (
            ("tickets", len(views)),
            ("called", sum(1 for w in views if w[1] is not None)),
            ("served", sum(1 for w in views if w[3] == "served")),
            ("no_shows", sum(1 for w in views if w[3] == "no_show")),
        ):
            have = got.get(key, 0)
            r.check(
                have == want, f"{service_id}: the server counts {have} {key}, the record {want}"
            )
        # Each wait lies between its shortest and longest the record allows; so does any
        # percentile of them.
        shortest = [w[1] for w in views if w[1] is not None]
        longest = [w[2] for w in views if w[2] is not None]
        for key, p in (("waiting_p50_seconds", 0.5), ("waiting_p90_seconds", 0.9)):
            lo, hi, have_p = percentile(shortest, p), percentile(longest, p), got.get(key)
            ok = (lo is None) == (have_p is None) and (
                lo is None or hi is None or have_p is None or lo - tol <= have_p <= hi + tol
            )
            span = lo if lo == hi else f"{lo} to {hi}"
            r.check(ok, f"{service_id}: {key} is {have_p} at the server, {span} in the record")
        for v in mine:
            if v.label in special or v.orphan:
                continue
            _compare_times(r, v, by_label.get(v.label), tol, "the server")
            if timed is not None:
                _compare_times(r, v, timed.get(v.label), tol, "the server's statistics")


def _compare_times(r: Report, v: Visit, t: Ticket | None, tol: float, whose: str) -> None:
    if t is None:
        return
    r.check(
        within(t.issued_at, v.issued_at, v.issued_by, tol),
        f"{v.label}: issued at {t.issued_at:.0f} for {whose}, "
        f"{_window(v.issued_at, v.issued_by)} in the record (tolerance {tol:.0f} s)",
    )
    if v.called_at is not None:
        r.check(
            within(t.called_at, v.called_at, v.called_by, tol),
            f"{v.label}: called at {t.called_at} for {whose}, "
            f"{_window(v.called_at, v.called_by)} in the record (tolerance {tol:.0f} s)",
        )


def _window(at: float, by: float | None) -> str:
    return f"{at:.0f}" if by is None or round(by) == round(at) else f"{at:.0f} to {by:.0f}"


def _view(
    v: Visit, by_label: dict[str, Ticket], special: bool
) -> tuple[str, float | None, float | None, str]:
    """(label, shortest wait, longest wait, outcome) of a visit as the statistics should
    count it: the record's (the wait is the call's moment less the issue's, each known
    between a touch or press and its answer), or the server's for a special ticket."""
    t = by_label.get(v.label)
    if special and t is not None:
        return v.label, t.waited_seconds, t.waited_seconds, t.status.value
    if v.called_at is None:
        return v.label, None, None, v.outcome
    called_by = v.called_at if v.called_by is None else v.called_by
    if v.orphan:
        # The record never saw it issued: the server's issue time.
        if t is None:
            return v.label, None, None, v.outcome
        return (
            v.label,
            max(0.0, v.called_at - t.issued_at),
            max(0.0, called_by - t.issued_at),
            v.outcome,
        )
    issued_by = v.issued_at if v.issued_by is None else v.issued_by
    return (
        v.label,
        max(0.0, v.called_at - issued_by),
        max(0.0, called_by - v.issued_at),
        v.outcome,
    )
