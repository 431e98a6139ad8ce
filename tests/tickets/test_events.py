"""Event JSON: round trip, and a clear error naming the field for anything malformed."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tickets.events import REQUIRED_FIELDS, Event, EventError, EventKind, new_event
from tickets.hlc import Timestamp

TS = Timestamp(1_700_000_000_000, 2, "kiosk-entree")


def _issued(**data: Any) -> dict[str, Any]:
    payload = {"ticket": "t1", "service": "a", "number": 42, "day": "2026-11-23", **data}
    return {
        "id": "0b5e0a5c-9b1f-4a5e-8d43-2f6a1f0f5b11",
        "site": "mairie",
        "device": "kiosk-entree",
        "kind": "TicketIssued",
        "hlc": TS.encode(),
        "wall_time": 1_700_000_000.5,
        "data": {k: v for k, v in payload.items() if v is not ...},
    }


VALUES = {"ticket": "t1", "service": "a", "number": 7, "day": "2026-11-23", "counter": "3"}


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(list(EventKind)),
    st.integers(0, 10**14),
    st.integers(0, 999_999),
    st.one_of(st.none(), st.integers(0, 10**9)),
)
def test_to_dict_and_from_dict_round_trip_through_json(
    kind: EventKind, millis: int, logical: int, seq: int | None
) -> None:
    data = {k: VALUES[k] for k in REQUIRED_FIELDS[kind]}
    e = new_event(
        kind,
        site="mairie",
        device="board",
        hlc=Timestamp(millis, logical, "board"),
        wall_time=millis / 1000,
        **data,
    )
    if seq is not None:
        e = e.stored(seq, 1_700_000_000.25)
    assert Event.from_dict(json.loads(json.dumps(e.to_dict()))) == e


def test_optional_fields_and_defaults() -> None:
    raw = _issued(priority=None, token="x" * 22, lang="fr", label="A042")
    del raw["wall_time"]
    e = Event.from_dict(raw)
    assert e.data["priority"] is None
    assert e.wall_time == TS.seconds  # a missing wall time defaults to the clock's
    assert (e.seq, e.received_at, e.ticket) == (None, None, "t1")
    assert Event.from_dict({**raw, "seq": 5, "received_at": 12}).received_at == 12.0


def test_a_uuid_is_stored_in_its_canonical_form() -> None:
    raw = _issued()
    raw["id"] = raw["id"].upper()
    assert Event.from_dict(raw).id == "0b5e0a5c-9b1f-4a5e-8d43-2f6a1f0f5b11"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"id": None}, "event field 'id' is missing or not a str"),
        ({"site": 3}, "event field 'site' is missing or not a str"),
        ({"device": None}, "event field 'device' is missing or not a str"),
        ({"kind": 1}, "event field 'kind' is missing or not a str"),
        ({"hlc": None}, "event field 'hlc' is missing or not a str"),
        ({"data": []}, "event field 'data' is missing or not a dict"),
        ({"id": "not-a-uuid"}, "event field 'id': 'not-a-uuid' is not a UUID"),
        ({"kind": "TicketEaten"}, "event field 'kind': unknown event kind 'TicketEaten'"),
        ({"hlc": "yesterday"}, "event field 'hlc': not a clock value: 'yesterday'"),
        ({"wall_time": "noon"}, "event field 'wall_time' must be a number of seconds"),
        ({"wall_time": True}, "event field 'wall_time' must be a number of seconds"),
        ({"seq": -1}, "event field 'seq' must be a non-negative integer"),
        ({"seq": True}, "event field 'seq' must be a non-negative integer"),
        ({"seq": "4"}, "event field 'seq' must be a non-negative integer"),
        ({"received_at": "now"}, "event field 'received_at' must be a number of seconds"),
    ],
)
def test_a_malformed_envelope_names_the_field(change: dict[str, Any], message: str) -> None:
    raw = {**_issued(), **change}
    if change.get("id", "") is None:
        del raw["id"]
    with pytest.raises(EventError) as info:
        Event.from_dict(raw)
    assert str(info.value) == message


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"number": ...}, "'number' is missing"),
        ({"number": "42"}, "'number' is missing or of the wrong type"),
        ({"number": True}, "'number' is missing or of the wrong type"),
        ({"ticket": 5}, "'ticket' is missing or of the wrong type"),
        ({"priority": 3}, "'priority' is of the wrong type"),
        ({"colour": "red"}, "unknown field 'colour'"),
    ],
)
def test_a_malformed_payload_names_the_event_and_the_field(
    data: dict[str, Any], field: str
) -> None:
    raw = _issued(**data)
    with pytest.raises(EventError) as info:
        Event.from_dict(raw)
    assert str(info.value).startswith(f"event {raw['id']} (TicketIssued): ")
    assert field in str(info.value)


def test_not_an_object() -> None:
    with pytest.raises(EventError, match="an event must be a JSON object"):
        Event.from_dict(["TicketIssued"])


def test_new_event_checks_its_payload_and_keeps_a_null_priority() -> None:
    with pytest.raises(EventError, match="field 'counter' is missing"):
        new_event(EventKind.TICKET_CALLED, site="s", device="d", hlc=TS, wall_time=0, ticket="t")
    e = new_event(
        EventKind.TICKET_ISSUED,
        site="s",
        device="d",
        hlc=TS,
        wall_time=0,
        ticket="t",
        service="a",
        number=1,
        day="2026-11-23",
        priority=None,
        lang=None,
    )
    assert e.data == {
        "ticket": "t",
        "service": "a",
        "number": 1,
        "day": "2026-11-23",
        "priority": None,
    }
