"""Appointments running late, end to end on the real server: the notices loop tells a
checked-in appointment expected more than ``late_notice_minutes`` after its time, once, by
e-mail (SMTP on loopback) and text message (HTTP gateway on loopback), and on its follow
API; the person keeps waiting or rebooks (the ticket is cancelled, the new appointment
confirmed). With two server processes on one PostgreSQL database, the person is told once."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any

import pytest

from config.server import ServerSettings
from server.context import SERVER_NODE
from server.notices import NoticeLoop
from server.run import ServerThread
from tests.conftest import wait_until
from tests.mailboxes import Gateway, Inbox, settings_for, text_of
from tests.server.appointments import (
    MONDAY,
    appointment_site,
    booked_and_checked_in,
    paris,
    set_clock,
)
from tests.server.conftest import start_server
from tests.server.helpers import Srv
from tickets.hlc import HybridClock

API = "/api/v1"
ROUND_SECONDS = 0.05


@pytest.fixture(params=["sqlite", "postgres"])
def database(request: pytest.FixtureRequest, tmp_path: Any) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/guichet.db"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def rdv(database: str, smtp: tuple[int, Inbox], gateway: Gateway) -> Iterator[Srv]:
    settings = settings_for(smtp[0], gateway, notice_seconds=ROUND_SECONDS)
    for srv in start_server(database, messages=settings, public_url="https://rdv.example"):
        srv.tokens.update(srv.thread.load_site(appointment_site()))
        set_clock(srv, paris(MONDAY, 8))
        yield srv


def rounds_pass(srv: Srv, n: int = 2) -> None:
    """Waits until the notices loop has made ``n`` more rounds."""
    loop = srv.thread.app.state.notices
    start = loop.rounds
    assert wait_until(lambda: loop.rounds >= start + n)


def rounds_done(loop: NoticeLoop, n: int) -> bool:
    return loop.rounds >= n


def follow(srv: Srv, token: str) -> dict[str, Any]:
    r = srv.request("GET", f"{API}/public/tickets/{token}")
    assert r.status_code == 200, r.text
    out: dict[str, Any] = r.json()
    return out


def test_late_appointment_is_told_once_by_mail_text_and_follow_api_then_keeps_waiting(
    rdv: Srv, smtp: tuple[int, Inbox], gateway: Gateway
) -> None:
    appt, checked = booked_and_checked_in(rdv, email="ada@example.org", phone="06 12 34 56 78")
    token = checked["token"]
    smtp[1].wait_for(1)  # the confirmation
    rounds_pass(rdv)
    assert follow(rdv, token)["late"] is None  # 09:55, nobody ahead: on time
    # 10:14: expected now, 14 minutes after its time: within the 15 minutes.
    set_clock(rdv, paris(MONDAY, 10, 14))
    rounds_pass(rdv)
    assert follow(rdv, token)["late"] is None and len(smtp[1].items) == 1
    # 10:16: more than 15 minutes late.
    set_clock(rdv, paris(MONDAY, 10, 16))
    _, (rcpt, late) = smtp[1].wait_for(2)
    assert rcpt == ["ada@example.org"]
    assert late["Subject"] == "Votre rendez-vous prend du retard — Test town hall"
    body = text_of(late)
    assert "rendez-vous de 10:00" in body and "16 minutes de retard" in body
    assert f"https://rdv.example/t/{token}" in body
    assert not [p for p in late.walk() if p.get_content_type() == "text/calendar"]
    texts = gateway.inbox.wait_for(2)
    assert texts[1]["body"]["to"] == "+33612345678"
    assert f"https://rdv.example/t/{token}" in texts[1]["body"]["text"]
    shown = follow(rdv, token)["late"]
    assert shown["minutes_late"] == 16 and shown["choice"] is None
    assert shown["appointment_at"] == paris(MONDAY, 10)
    # Later rounds, even later: told once.
    set_clock(rdv, paris(MONDAY, 10, 40))
    rounds_pass(rdv, 3)
    assert len(smtp[1].items) == 2 and len(gateway.inbox.items) == 2
    r = rdv.request("POST", f"{API}/public/tickets/{token}/late/wait")
    assert r.status_code == 200, r.text
    assert r.json()["late"]["choice"] == "wait" and r.json()["status"] == "waiting"
    assert appt["status"] == "checked_in"


def test_rebooking_cancels_the_ticket_and_confirms_the_new_slot(
    rdv: Srv, smtp: tuple[int, Inbox], gateway: Gateway
) -> None:
    _appt, checked = booked_and_checked_in(rdv, email="bob@example.org", lang="en")
    token = checked["token"]
    # Not told yet: no choice to make.
    r = rdv.request("POST", f"{API}/public/tickets/{token}/late/wait")
    assert r.status_code == 409 and r.json()["code"] == "not_late"
    set_clock(rdv, paris(MONDAY, 10, 30))
    _, late = smtp[1].wait_for(2)[1]
    assert late["Subject"] == "Your appointment is running late — Test town hall"
    assert "30 minutes late" in text_of(late)
    r = rdv.request(
        "POST", f"{API}/public/tickets/{token}/late/rebook", json={"start": int(paris(MONDAY, 14))}
    )
    assert r.status_code == 200, r.text
    new = r.json()
    assert new["status"] == "booked" and new["start"] == int(paris(MONDAY, 14))
    assert follow(rdv, token)["status"] == "cancelled"
    _, confirmation = smtp[1].wait_for(3)[2]
    assert confirmation["Subject"] == "Appointment confirmed — Test town hall"
    assert new["code"][:4] in text_of(confirmation)
    again = rdv.request(
        "POST", f"{API}/public/tickets/{token}/late/rebook", json={"start": int(paris(MONDAY, 15))}
    )
    assert again.status_code == 409 and again.json()["code"] == "called"


def test_two_server_processes_on_postgresql_tell_once(
    postgres_url: str, smtp: tuple[int, Inbox], gateway: Gateway
) -> None:
    settings = settings_for(smtp[0], gateway, notice_seconds=ROUND_SECONDS)
    for srv in start_server(postgres_url, messages=settings, public_url="https://rdv.example"):
        srv.tokens.update(srv.thread.load_site(appointment_site()))
        set_clock(srv, paris(MONDAY, 8))
        _appt, checked = booked_and_checked_in(srv, email="ada@example.org")
        smtp[1].wait_for(1)
        other = ServerThread(
            ServerSettings(
                database_url=postgres_url, messages=settings, public_url="https://rdv.example"
            )
        )
        with other:
            other.ctx.wall = lambda: paris(MONDAY, 10, 20)
            other.ctx.clock = HybridClock(SERVER_NODE, other.ctx.wall)
            set_clock(srv, paris(MONDAY, 10, 20))
            smtp[1].wait_for(2)
            loops: list[NoticeLoop] = [srv.thread.app.state.notices, other.app.state.notices]
            for loop in loops:
                assert wait_until(functools.partial(rounds_done, loop, loop.rounds + 3))
            assert len(smtp[1].items) == 2
            assert follow(srv, checked["token"])["late"]["minutes_late"] == 20
