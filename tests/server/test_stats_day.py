"""A scripted town-hall day (about 200 tickets, four services, five counters with preference
orders, a lunch break, priorities, recalls, no-shows, transfers from reception) played through
the HTTP API as kiosks and boards would; every figure of the statistics is compared with an
independent calculation from the script's own log of what happened to each person."""

from __future__ import annotations

import csv
import io
import random
import statistics
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from config.site import SiteConfig
from tests.server.helpers import MANAGER, SITE, DeviceClock, Srv, site_config, wire
from tickets.events import Event, EventKind
from tickets.queue import fold

PARIS = ZoneInfo("Europe/Paris")
DAY = "2026-03-10"
WEEK = ("mon", "tue", "wed", "thu", "fri")
SERVICES = {  # id: (prefix, share of arrivals, opening hours)
    "reception": ("R", 0.4, ["08:30-17:00"]),
    "civil": ("A", 0.25, ["08:30-12:00", "13:30-17:00"]),
    "passports": ("B", 0.2, ["08:30-12:00", "13:30-17:00"]),
    "social": ("S", 0.15, ["09:00-12:00"]),
}
COUNTERS = {
    "1": ["reception"],
    "2": ["reception", "civil"],
    "3": ["civil", "passports"],
    "4": ["passports", "civil", "social"],
    "5": ["social", "reception"],
}
STEP = 30.0


def at(hhmm: str) -> float:
    return datetime.fromisoformat(f"{DAY}T{hhmm}").replace(tzinfo=PARIS).timestamp()


def town_hall() -> SiteConfig:
    """The test site's devices, with a town hall's services and counters."""
    base = site_config().model_dump()
    base["site"]["priority_reasons"] = ["pregnancy", "disability"]
    base["services"] = [
        {
            "id": sid,
            "prefix": prefix,
            "names": {"fr": sid.capitalize()},
            "hours": {d: hours for d in WEEK},
            "priority_allowed": True,
        }
        for sid, (prefix, _share, hours) in SERVICES.items()
    ]
    base["counters"] = [
        {"id": c, "label": f"Guichet {c}", "services": s} for c, s in COUNTERS.items()
    ]
    return SiteConfig.model_validate(base)


@dataclass
class Passage:
    """The script's own note of one stay in a queue (not the server's)."""

    ticket: str
    service: str
    hour_joined: int
    joined: float
    issued: float
    called: float | None = None
    ended: float | None = None
    outcome: str = "waiting"

    @property
    def wait(self) -> float | None:
        return None if self.called is None else self.called - self.joined

    @property
    def service_time(self) -> float | None:
        if self.outcome in ("served", "transferred") and self.called is not None:
            assert self.ended is not None
            return self.ended - self.called
        return None


def play_day(rng: random.Random) -> tuple[list[Event], list[Passage]]:
    """200 arrivals, 20 s to 2 min apart from 08:30 (queues build up: about half the visitors
    wait more than 15 minutes); agents call, serve, recall, mark absent and transfer from
    reception; counter 5 takes its lunch break from 12:00 to 13:30."""
    cfg = town_hall()
    site = cfg.to_domain()
    kiosk, board = DeviceClock("kiosk-a"), DeviceClock("board-a")
    events: list[Event] = []
    state = fold(site, [])
    passages: dict[str, list[Passage]] = defaultdict(list)
    numbers: dict[str, int] = defaultdict(int)
    busy: dict[str, tuple[str, float, str]] = {}  # counter -> ticket, until, plan

    def emit(e: Event) -> None:
        events.append(e)
        state.add(e)

    def hour(t: float) -> int:
        return datetime.fromtimestamp(t, PARIS).hour

    arrivals = []
    t = at("08:30") + 7
    while t < at("16:30") and len(arrivals) < 200:
        # Whole seconds (clocks keep milliseconds), never on a step: a call in the same
        # millisecond as the ticket's issue, by another device, may be ordered before it.
        second = float(round(t))
        arrivals.append(second + 1 if (second - at("08:30")) % STEP == 0 else second)
        t += rng.uniform(20, 130)
    now = at("08:30")
    for c in COUNTERS:
        emit(board.at(now).make(EventKind.COUNTER_OPENED, counter=c))
    while now < at("19:00"):
        while arrivals and arrivals[0] <= now:
            when = arrivals.pop(0)
            service = rng.choices(list(SERVICES), [v[1] for v in SERVICES.values()])[0]
            numbers[service] += 1
            e = kiosk.at(when).issued(900 + numbers[service], service=service, day=DAY)
            if rng.random() < 0.05:
                e = kiosk.make(EventKind.TICKET_ISSUED, **{**e.data, "priority": "pregnancy"})
            emit(e)
            tid = e.data["ticket"]
            passages[tid].append(Passage(tid, service, hour(when), when, when))
        for c in COUNTERS:
            if c == "5" and at("12:00") <= now < at("13:30"):
                if c in state.open_counters and c not in busy:
                    emit(board.at(now).make(EventKind.COUNTER_CLOSED, counter=c))
                continue
            if c == "5" and c not in state.open_counters:
                emit(board.at(now).make(EventKind.COUNTER_OPENED, counter=c))
            if c in busy:
                tid, until, plan = busy[c]
                if now < until:
                    continue
                p = passages[tid][-1]
                if plan == "recall":
                    emit(board.at(now).make(EventKind.TICKET_RECALLED, ticket=tid, counter=c))
                    busy[c] = (tid, now + 60, "absent")
                    continue
                del busy[c]
                p.ended = now
                if plan == "absent":
                    emit(board.at(now).make(EventKind.TICKET_NO_SHOW, ticket=tid, counter=c))
                    p.outcome = "no_show"
                elif plan == "transfer":
                    target = rng.choice(["civil", "passports", "social"])
                    emit(
                        board.at(now).make(
                            EventKind.TICKET_TRANSFERRED, ticket=tid, counter=c, service=target
                        )
                    )
                    p.outcome = "transferred"
                    passages[tid].append(Passage(tid, target, hour(now), now, p.issued))
                else:
                    emit(board.at(now).make(EventKind.TICKET_SERVED, ticket=tid, counter=c))
                    p.outcome = "served"
            nxt = state.next_for(c, day=DAY)
            if nxt is None:
                continue
            emit(board.at(now).make(EventKind.TICKET_CALLED, ticket=nxt.id, counter=c))
            p = passages[nxt.id][-1]
            assert p.service == nxt.service
            p.called, p.outcome = now, "called"
            if rng.random() < 0.06:
                busy[c] = (nxt.id, now + 60, "recall")
            elif nxt.service == "reception" and rng.random() < 0.35:
                busy[c] = (nxt.id, now + rng.uniform(60, 300), "transfer")
            else:
                busy[c] = (nxt.id, now + rng.uniform(120, 720), "serve")
        now += STEP
    # Busy counters at the end finish their visitors; tickets still waiting stay so.
    return events, [p for ps in passages.values() for p in ps]


def percentile_7(values: list[float], p: float) -> float | None:
    """numpy's and spreadsheets' default percentile, from the standard library."""
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return {0.5: statistics.median(values), 0.9: cuts[89]}[p]


def expected(ps: list[Passage], *, site: bool) -> dict[str, Any]:
    waits = [w for p in ps if (w := p.wait) is not None]
    durations = [d for p in ps if (d := p.service_time) is not None]
    out: dict[str, Any] = {
        "passages": len(ps),
        "waits": len(waits),
        "waiting_p50_seconds": percentile_7(waits, 0.5),
        "waiting_p90_seconds": percentile_7(waits, 0.9),
        "share_waited_15_min": sum(w <= 900 for w in waits) / len(waits) if waits else None,
        "mean_service_seconds": statistics.fmean(durations) if durations else None,
        "transferred_in": sum(p.joined != p.issued for p in ps),
        "transferred_out": sum(p.outcome == "transferred" for p in ps),
    }
    if site:
        by_ticket: dict[str, list[Passage]] = defaultdict(list)
        for p in ps:
            by_ticket[p.ticket].append(p)
        finals = [v[-1].outcome for v in by_ticket.values()]
        out |= {
            "tickets": len(by_ticket),
            "called": sum(any(p.called is not None for p in v) for v in by_ticket.values()),
            "served": finals.count("served"),
            "no_shows": finals.count("no_show"),
        }
    else:
        out |= {
            "tickets": sum(p.joined == p.issued for p in ps),
            "called": sum(p.called is not None for p in ps),
            "served": sum(p.outcome == "served" for p in ps),
            "no_shows": sum(p.outcome == "no_show" for p in ps),
        }
    return out


def test_a_scripted_day_matches_an_independent_calculation(any_srv: Srv) -> None:
    srv = any_srv
    srv.thread.load_site(town_hall())
    events, passages = play_day(random.Random(16))
    transfers = sum(p.outcome == "transferred" for p in passages)
    assert len({p.ticket for p in passages}) >= 150 and transfers >= 15
    kiosk = [e for e in events if e.device == "kiosk-a"]
    board = [e for e in events if e.device == "board-a"]
    assert srv.sync("board-a", events=wire(board)).status_code == 200  # boards first
    assert srv.sync("kiosk-a", events=wire(kiosk)).status_code == 200
    period = {"from": DAY, "to": DAY}
    body = srv.request("GET", f"/api/v1/sites/{SITE}/stats", params=period, user=MANAGER).json()

    def compare(got: dict[str, Any], want: dict[str, Any]) -> None:
        assert {k: got[k] for k in want} == pytest.approx(want), got

    compare(body["total"], expected(passages, site=True))
    services = {s["service"]: s for s in body["services"]}
    assert set(services) == set(SERVICES)
    for sid in SERVICES:
        compare(services[sid], expected([p for p in passages if p.service == sid], site=False))

    # Per hour, for the site and for each service: waits of the passages that joined in that
    # hour, calls made in it; a service's arrivals are its passages (transfers in included),
    # the site's the tickets issued.
    def called_in(p: Passage, h: int) -> bool:
        return p.called is not None and datetime.fromtimestamp(p.called, PARIS).hour == h

    want_keys = {(p.hour_joined, scope) for p in passages for scope in (None, p.service)}
    want_keys |= {
        (datetime.fromtimestamp(p.called, PARIS).hour, scope)
        for p in passages
        if p.called is not None
        for scope in (None, p.service)
    }
    rows_by_key = {(h["hour"], h["service"]): h for h in body["hours"]}
    assert set(rows_by_key) == want_keys
    assert any(s is not None and h >= 12 for h, s in want_keys)  # after the lunch closure too
    for (h, scope), row in rows_by_key.items():
        mine = [p for p in passages if scope is None or p.service == scope]
        joined = [p for p in mine if p.hour_joined == h]
        waits = [w for p in joined if (w := p.wait) is not None]
        arrivals = len(joined) if scope else sum(p.joined == p.issued for p in joined)
        calls = sum(called_in(p, h) for p in mine)
        assert (row["arrivals"], row["calls"], row["waits"]) == (arrivals, calls, len(waits))
        assert row["waiting_p50_seconds"] == pytest.approx(percentile_7(waits, 0.5))
        assert row["waiting_p90_seconds"] == pytest.approx(percentile_7(waits, 0.9))
        share = sum(w <= 900 for w in waits) / len(waits) if waits else None
        assert row["share_waited_15_min"] == pytest.approx(share)

    # The CSV has one row per passage, with the same waits the script noted.
    r = srv.request("GET", f"/api/v1/sites/{SITE}/passages.csv", params=period, user=MANAGER)
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert len(rows) == len(passages)
    noted = sorted(round(w) for p in passages if (w := p.wait) is not None)
    assert sorted(int(r["waited_seconds"]) for r in rows if r["waited_seconds"]) == noted
    assert sum(r["outcome"] == "transferred" for r in rows) == transfers
