"""Walk-ins may step out, end to end on the real server (SQLite, then PostgreSQL): a contact
left through the JSON API gets one message (SMS to the HTTP gateway on loopback, e-mail to the
SMTP server on loopback) when the site's ``notify_ahead`` people or fewer are ahead, and the
contact is gone from the database once the message went and once the ticket ends."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from server import schema
from server.notices import NoticeLoop
from tests.conftest import wait_until
from tests.mailboxes import Gateway, Inbox, settings_for
from tests.server.conftest import start_server
from tests.server.helpers import DeviceClock, Srv, wire
from tickets.events import EventKind

API = "/api/v1"


@pytest.fixture(params=["sqlite", "postgres"])
def walk(
    request: pytest.FixtureRequest, tmp_path: Any, smtp: tuple[int, Inbox], gateway: Gateway
) -> Iterator[Srv]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/guichet.db"
    else:
        url = str(request.getfixturevalue("postgres_url"))
    settings = settings_for(smtp[0], gateway, notice_seconds=0.05)
    yield from start_server(url, messages=settings, public_url="https://q.example")


def rounds_done(loop: NoticeLoop, n: int) -> bool:
    return loop.rounds >= n


def rounds_pass(srv: Srv, n: int = 3) -> None:
    loop: NoticeLoop = srv.thread.app.state.notices
    assert wait_until(functools.partial(rounds_done, loop, loop.rounds + n))


def contacts(srv: Srv, ticket: str) -> list[Any]:
    c = schema.ticket_contacts
    with srv.engine.connect() as conn:
        return list(conn.execute(sa.select(c).where(c.c.ticket == ticket)).all())


def step_out(srv: Srv, token: str, **body: Any) -> Any:
    return srv.request("POST", f"{API}/public/tickets/{token}/step-out", json=body)


def test_a_walk_in_is_texted_once_when_three_are_ahead_and_the_number_is_erased(
    walk: Srv, gateway: Gateway, smtp: tuple[int, Inbox]
) -> None:
    for _ in range(5):
        walk.issue("civil")
    mine = walk.issue("civil", lang="en")
    token, ticket = mine["token"], mine["ticket"]["id"]
    r = step_out(walk, token, phone="06 11 22 33 44", lang="en")
    assert r.status_code == 200, r.text
    assert r.json() == {"ahead_threshold": 3, "channel": "sms", "notified": False}
    follow = walk.request("GET", f"{API}/public/tickets/{token}").json()
    assert follow["step_out"]["channel"] == "sms" and "06 11" not in str(follow)
    (row,) = contacts(walk, ticket)
    assert row.phone == "06 11 22 33 44" and row.notified_at is None
    rounds_pass(walk)
    assert gateway.inbox.items == []  # five ahead
    walk.act("1", "next")
    rounds_pass(walk)
    assert gateway.inbox.items == []  # four ahead
    walk.act("3", "next")  # three ahead now
    (sms,) = gateway.inbox.wait_for(1)
    assert sms["body"]["to"] == "+33611223344"
    text = sms["body"]["text"]
    assert mine["ticket"]["label"] in text and "3 people ahead of you" in text
    assert f"https://q.example/t/{token}" in text
    (row,) = contacts(walk, ticket)
    assert row.notified_at is not None and row.phone is None and row.email is None
    walk.act("5", "next")
    rounds_pass(walk)
    assert len(gateway.inbox.items) == 1  # once
    assert step_out(walk, token, phone="0611223344").json()["code"] == "notified"
    walk.call_until("7", mine["ticket"])
    assert contacts(walk, ticket) == []  # called: erased in the same transaction
    assert smtp[1].items == []


def test_the_contact_is_deleted_when_the_ticket_is_cancelled_before_the_message(
    walk: Srv, gateway: Gateway, smtp: tuple[int, Inbox]
) -> None:
    for _ in range(6):
        walk.issue("passports")
    mine = walk.issue("passports")
    ticket = mine["ticket"]["id"]
    r = step_out(walk, mine["token"], email="ada@example.org")
    assert r.status_code == 200 and r.json()["channel"] == "email"
    assert contacts(walk, ticket)[0].email == "ada@example.org"
    # The kiosk cancels it (an upload, as after a paper jam).
    cancel = DeviceClock("kiosk-a").make(EventKind.TICKET_CANCELLED, ticket=ticket)
    assert walk.sync("kiosk-a", events=wire([cancel])).status_code == 200
    assert contacts(walk, ticket) == []
    rounds_pass(walk)
    assert smtp[1].items == [] and gateway.inbox.items == []


def test_the_step_out_api_refuses_what_it_cannot_do_and_is_in_the_openapi(walk: Srv) -> None:
    mine = walk.issue("civil")
    token = mine["token"]
    both = step_out(walk, token, phone="0611223344", email="a@example.org")
    assert both.status_code == 422
    assert step_out(walk, token).status_code == 422
    assert step_out(walk, token, phone="not a number").status_code == 422
    assert step_out(walk, "x" * 24, phone="0611223344").status_code == 404
    step_out(walk, token, phone="0611223344")
    forgot = walk.request("DELETE", f"{API}/public/tickets/{token}/step-out")
    assert forgot.status_code == 200 and forgot.json()["channel"] is None
    walk.call_until("1", mine["ticket"])
    late = step_out(walk, token, email="a@example.org")
    assert late.status_code == 409 and late.json()["code"] == "not_waiting"
    spec = walk.request("GET", f"{API}/openapi.json").json()
    post = spec["paths"][f"{API}/public/tickets/{{token}}/step-out"]["post"]
    body = post["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert body.endswith("/StepOutRequest")
    answer = post["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    assert answer.endswith("/StepOutState")
    fields = spec["components"]["schemas"]["StepOutRequest"]["properties"]
    assert set(fields) == {"email", "phone", "lang"} and "pattern" in str(fields["phone"])
    assert spec["components"]["schemas"]["PublicTicket"]["properties"]["step_out"]
