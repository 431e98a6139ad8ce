"""Where a ticket may be transferred: services open now and served by an open counter."""

from __future__ import annotations

import dataclasses
from datetime import datetime, time
from zoneinfo import ZoneInfo

import pytest

from tests.tickets.factory import DAY, Events, make_site
from tickets.model import Period
from tickets.press import CounterAction, Refusal, plan, transfer_targets
from tickets.queue import fold

MORNINGS = {day: (Period(time(8, 30), time(12, 0)),) for day in range(5)}
_BASE = make_site()  # counter 2 takes "a" only; counters 1 and 3 take "a" and "b"
SITE = dataclasses.replace(
    _BASE, services=tuple(dataclasses.replace(s, hours=MORNINGS) for s in _BASE.services)
)
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=ZoneInfo("Europe/Paris"))  # a Monday


def test_only_services_an_open_counter_serves_are_offered() -> None:
    f = Events()
    state = fold(SITE, [f.open("2", 1.0), f.issue("x", 2.0), f.call("x", "2", 3.0)])
    assert [s.id for s in transfer_targets(state, NOW)] == ["a"]
    assert transfer_targets(state, NOW, exclude="a") == []
    refused = plan(state, "2", CounterAction.TRANSFER, DAY, "b", NOW.timestamp())
    assert (refused.events, refused.refusal) == ([], Refusal.CLOSED_SERVICE)
    state = fold(SITE, [*state.events, f.open("3", 4.0)])
    assert [s.id for s in transfer_targets(state, NOW, exclude="a")] == ["b"]
    assert plan(state, "2", CounterAction.TRANSFER, DAY, "b", NOW.timestamp()).refusal is None
    afternoon = NOW.replace(hour=14)
    assert transfer_targets(state, afternoon) == []
    assert plan(state, "2", CounterAction.TRANSFER, DAY, "b", afternoon.timestamp()).refusal is (
        Refusal.CLOSED_SERVICE
    )


def test_a_transfer_needs_the_time_of_the_site() -> None:
    f = Events()
    state = fold(SITE, [f.open("2", 1.0), f.issue("x", 2.0), f.call("x", "2", 3.0)])
    with pytest.raises(ValueError):
        plan(state, "2", CounterAction.TRANSFER, DAY, "a")
