"""The appointments of a simulated day, reported and checked (``docs/appointments.md``,
"Simulating a day").

Figures, from what the server recorded (its events with their corrected times, as its
statistics read them, and its appointments):

- ``appointments``: what the simulator planned (booked ahead on the public API or at the desk,
  early, on time, late, no-show) and what the server holds: checked in, no-shows (booked and
  never checked in: the server's indicator, read once the day is over), late check-ins served
  as walk-ins, and the **punctuality**: the share of appointments started within 15 minutes
  of their time, by the server's own definition
  (``server.appointments.indicators.started_on_time``);
- ``walk_in_waits``: waits of the walk-ins called (issue to first call), median, 90th
  percentile and longest; and the same walk-ins on the same day without any appointment
  (``without_appointments``, a second run) when the day asks for it;
- ``held_back``: the longest time a counter went on calling appointments one after another
  while a walk-in it takes was waiting (from the first of those calls to the counter's next
  call of a walk-in, or to that walk-in's call elsewhere), and the most appointments so
  called in a row, against the fold's bound ``max_in_a_row``.

Checks: every booking is at the server, every check-in the simulator saw gave one ticket at
the server (never two for one appointment, never one for an appointment the server does not
know), the appointments nobody came for are exactly the server's no-shows, the punctuality of
the server's public indicators is the one computed here, and no walk-in was held back by more
appointments in a row than the bound.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import requests

from guichet.sim.record import Record
from guichet.sim.world import MANAGER, World
from server.appointments.indicators import PUNCTUAL_SECONDS, started_on_time
from server.stats import percentile, tickets_in_period
from tickets.appointments import is_appointment
from tickets.events import Event, EventKind
from tickets.model import Site
from tickets.queue import Ticket, TicketStatus, fold

if TYPE_CHECKING:
    from guichet.sim.appointments import Booking
    from guichet.sim.report import Report


def waits(tickets: list[Ticket]) -> dict[str, Any]:
    """Waits of the walk-ins (no appointment at all) that were called, in seconds."""
    seconds = [
        t.waited_seconds
        for t in tickets
        if t.appointment_at is None and t.waited_seconds is not None
    ]
    return {
        "count": len(seconds),
        "median_seconds": _round(percentile(seconds, 0.5)),
        "p90_seconds": _round(percentile(seconds, 0.9)),
        "max_seconds": _round(max(seconds) if seconds else None),
    }


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 1)


def day_tickets(world: World) -> list[Ticket]:
    """The day's tickets as the server's statistics fold them (corrected times)."""
    assert world.server is not None
    loaded = world.server.ctx.sites.get_by_engine(world.engine, world.site.id)
    assert loaded is not None
    day = world.cfg.simulation.date
    return tickets_in_period(world.engine, loaded, day, day)


@dataclass
class Run:
    count: int
    start: float


def held_back(site: Site, events: list[Event]) -> dict[str, Any]:
    """The longest run of appointment calls at one counter while a walk-in it takes waited
    (see the module's docstring): its length in time and in calls."""
    rules = site.calling
    state = fold(site, [])
    runs: dict[tuple[str, str], Run] = {}
    longest: dict[str, Any] = {"seconds": 0.0, "ticket": None, "counter": None, "calls": 0}
    most = 0

    def close(key: tuple[str, str], end: float) -> None:
        run = runs.pop(key)
        if end - run.start > longest["seconds"]:
            t = state.tickets[key[0]]
            longest.update(seconds=end - run.start, ticket=t.label, counter=key[1], calls=run.count)

    for e in sorted(events, key=Event.sort_key):
        if e.kind is EventKind.TICKET_CALLED and e.ticket in state.tickets:
            called = state.tickets[e.ticket]
            counter = e.data["counter"]
            c = site.counter(counter)
            if called.status is TicketStatus.WAITING and c is not None:
                waiting = [
                    t
                    for t in state.waiting()
                    if t.id != called.id
                    and t.service in c.services
                    and not is_appointment(t, rules)
                ]
                if is_appointment(called, rules):
                    for w in waiting:
                        run = runs.setdefault((w.id, counter), Run(0, e.at))
                        run.count += 1
                        most = max(most, run.count)
                else:
                    for key in [k for k in runs if k[1] == counter]:
                        close(key, e.at)
                for key in [k for k in runs if k[0] == called.id]:
                    close(key, e.at)
        state.add(e)
    end = max((e.at for e in events), default=0.0)
    for key in list(runs):
        close(key, end)
    return {
        "longest_seconds": round(longest["seconds"], 1),
        "longest_ticket": longest["ticket"],
        "longest_counter": longest["counter"],
        "longest_calls": longest["calls"],
        "most_in_a_row": most,
        "bound_in_a_row": rules.max_in_a_row,
    }


def _server_appointments(world: World) -> list[dict[str, Any]]:
    assert world.server is not None
    answer = requests.get(
        f"{world.server.url}/api/v1/sites/{world.site.id}/appointments",
        params={"day": world.cfg.simulation.date.isoformat()},
        auth=MANAGER,
        timeout=30,
    )
    answer.raise_for_status()
    return list(answer.json()["appointments"])


def _indicators(world: World) -> dict[str, float | None]:
    """The server's public punctuality per service (``called_on_time_share``)."""
    assert world.server is not None
    day = world.cfg.simulation.date.isoformat()
    answer = requests.get(
        f"{world.server.url}/api/v1/public/sites/{world.site.id}/appointments/indicators",
        params={"from": day, "to": day},
        timeout=30,
    )
    answer.raise_for_status()
    return {d["service"]: d["called_on_time_share"] for d in answer.json()["days"]}


def appointment_report(
    r: Report, world: World, record: Record, events: list[Event], bookings: list[Booking]
) -> None:
    """Adds the appointment figures and checks to ``r`` (see the module's docstring)."""
    from guichet.sim.appointments import planned

    site, rules = world.site, world.site.calling
    tickets = day_tickets(world)
    by_id = {t.id: t for t in tickets}
    stored = {a["code"]: a for a in _server_appointments(world)}

    # Every booking at the server; every check-in one ticket, never two.
    booked = [b for b in bookings if b.code is not None]
    for b in booked:
        r.check(b.code in stored, f"appointment {b.code} ({b.service}) is not at the server")
    per_appointment = Counter(
        e.data["appointment"]
        for e in events
        if e.kind is EventKind.TICKET_ISSUED and e.data.get("appointment")
    )
    twice = sorted(a for a, n in per_appointment.items() if n > 1)
    r.check(not twice, f"appointments checked in twice: {twice}")
    ids = {a["id"] for a in stored.values()}
    unknown = sorted(set(per_appointment) - ids)
    r.check(not unknown, f"tickets for appointments the server does not know: {unknown}")
    visits = {v.ticket: v for v in record.visits.values() if v.appointment_at is not None}
    came = [b for b in booked if b.checked_in in ("printed", "print_failed")]
    for b in came:
        a = stored.get(b.code or "")
        ok = a is not None and a["status"] == "checked_in" and a["ticket"] in visits
        r.check(ok, f"appointment {b.code} was checked in at a kiosk, the server has {a}")
    no_shows = sorted(code for code, a in stored.items() if a["status"] == "booked")
    never = sorted(b.code for b in booked if b.code and b not in came)
    r.check(
        no_shows == never,
        f"no-shows at the server {no_shows}, people who never checked in {never}",
    )

    # Punctuality, by the server's definition; its public indicators agree.
    counted: dict[str, list[bool]] = {}
    for t in tickets:
        on_time = started_on_time(t, rules)
        if on_time is not None:
            counted.setdefault(t.original_service, []).append(on_time)
    published = _indicators(world)
    for service, marks in sorted(counted.items()):
        mine, theirs = sum(marks) / len(marks), published.get(service)
        r.check(
            theirs is not None and abs(theirs - mine) < 1e-9,
            f"{service}: punctuality {theirs} in the server's indicators, {mine} here",
        )
    marks = [m for ms in counted.values() for m in ms]
    # The simulator's own record brackets the server's count (each call made between the
    # agent's press and the board's answer, give or take the tolerance).
    tol = world.cfg.simulation.tolerance
    # The tickets the record cannot know what the server settled for: the server's marks.
    server_marks = [
        mark
        for t in tickets
        if t.label in r.server_view
        for mark in [started_on_time(t, rules)]
        if mark is not None
    ]
    record_times = [
        (v.called_at - v.appointment_at, (v.called_by or v.called_at) - v.appointment_at)
        for v in record.visits.values()
        if v.appointment_at is not None
        and v.arrival != "late"
        and v.called_at is not None
        and v.ticket in by_id
        and v.label not in r.server_view
        and started_on_time(by_id[v.ticket], rules) is not None
    ]
    surely = sum(last <= PUNCTUAL_SECONDS - tol for _first, last in record_times)
    maybe = sum(first <= PUNCTUAL_SECONDS + tol for first, _last in record_times)
    surely, maybe = surely + sum(server_marks), maybe + sum(server_marks)
    r.check(
        surely <= sum(marks) <= maybe,
        f"{sum(marks)} appointments on time at the server, {surely} to {maybe} in the record",
    )

    held = held_back(site, events)
    r.check(
        held["most_in_a_row"] <= rules.max_in_a_row,
        f"a walk-in waited through {held['most_in_a_row']} appointment calls in a row at one "
        f"counter (bound {rules.max_in_a_row})",
    )
    late = [t for t in tickets if t.appointment_at is not None and not is_appointment(t, rules)]
    r.figures["appointments"] = {
        "planned": planned(bookings),
        "checked_in": sum(1 for a in stored.values() if a["status"] == "checked_in"),
        "no_shows": len(no_shows),
        "late_served_as_walk_ins": len(late),
        "called": len(marks),
        "on_time": sum(marks),
        "punctuality": round(sum(marks) / len(marks), 4) if marks else None,
        "punctuality_by_service": {
            s: round(sum(m) / len(m), 4) for s, m in sorted(counted.items())
        },
    }
    r.figures["walk_in_waits"] = {"with_appointments": waits(tickets)}
    r.figures["held_back"] = held


def walk_in_report(r: Report, world: World) -> None:
    """A day without appointments: its walk-in waits only."""
    r.figures["walk_in_waits"] = {"with_appointments": None, "without": waits(day_tickets(world))}


def minutes(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds / 60:.1f}"


def summary_lines(f: dict[str, Any]) -> list[str]:
    """The appointment lines of ``guichet simulate``'s summary."""
    a, w, h = f.get("appointments"), f.get("walk_in_waits"), f.get("held_back")
    if not a or not w or not h:
        return []
    p = a["planned"]
    share = a["punctuality"]
    lines = [
        f"appointments: {p['booked']} booked ({p['booked_api']} on the API the day before, "
        f"{p['booked_reception']} at the desk), {p['early']} early, {p['on_time']} on time, "
        f"{p['late']} late, {p['no_show']} no-shows planned; checked in {a['checked_in']}, "
        f"no-shows {a['no_shows']}, late served as walk-ins {a['late_served_as_walk_ins']}",
        f"punctuality: {a['on_time']} of {a['called']} started within 15 min "
        f"({'-' if share is None else f'{100 * share:.1f} %'})",
    ]
    for name, key in (("with appointments", "with_appointments"), ("without", "without")):
        x = w.get(key)
        if x:
            lines.append(
                f"walk-in waits {name}: {x['count']} called, median {minutes(x['median_seconds'])}"
                f" min, p90 {minutes(x['p90_seconds'])} min, max {minutes(x['max_seconds'])} min"
            )
    lines.append(
        f"walk-ins held back by appointments: at most {minutes(h['longest_seconds'])} min "
        f"({h['longest_ticket']} at counter {h['longest_counter']}, {h['longest_calls']} calls); "
        f"most in a row {h['most_in_a_row']} (bound {h['bound_in_a_row']})"
    )
    return lines
