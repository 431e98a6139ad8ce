"""Appointment messages at their real boundaries: e-mails to an SMTP server on loopback
(aiosmtpd) with a valid .ics calendar, text messages to an HTTP gateway on loopback; the
reminders of the day before; a mail server or gateway that fails never fails a booking."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from email.message import Message
from pathlib import Path
from typing import Any

import icalendar
import pytest
import requests

from server.appointments.reminders import send_reminders
from tests.mailboxes import Gateway, Inbox, settings_for, text_of
from tests.server.appointments import MONDAY, PARIS, appointment_site, paris
from tests.server.conftest import start_server
from tests.server.helpers import Srv

API = "/api/v1"


@pytest.fixture
def rdv(tmp_path: Path, smtp: tuple[int, Inbox], gateway: Gateway) -> Iterator[Srv]:
    settings = settings_for(smtp[0], gateway)
    for srv in start_server(
        f"sqlite:///{tmp_path}/guichet.db", messages=settings, public_url="https://rdv.example"
    ):
        srv.thread.load_site(appointment_site())
        srv.thread.ctx.wall = lambda: paris(MONDAY, 8)
        yield srv


def book(srv: Srv, start: float, **body: Any) -> dict[str, Any]:
    r = srv.request(
        "POST",
        f"{API}/public/sites/rdv/appointments",
        json={"service": "passports", "start": int(start), **body},
    )
    assert r.status_code == 200, r.text
    out: dict[str, Any] = r.json()
    return out


def calendar_of(message: Message) -> icalendar.Calendar:
    parts = [p for p in message.walk() if p.get_content_type() == "text/calendar"]
    assert len(parts) == 1
    payload = parts[0].get_payload(decode=True)
    assert isinstance(payload, bytes)
    return icalendar.Calendar.from_ical(payload)


def test_booking_sends_an_email_with_a_calendar_and_a_text_message(
    rdv: Srv, smtp: tuple[int, Inbox], gateway: Gateway
) -> None:
    appt = book(rdv, paris(MONDAY, 10), email="ada@example.org", phone="06 12 34 56 78")
    ((rcpt, message),) = smtp[1].wait_for(1)
    assert rcpt == ["ada@example.org"]
    assert message["Subject"] == "Rendez-vous confirmé — Test town hall"
    assert message["From"] == "mairie@example.org"
    body = text_of(message)
    assert "Passeports, le 23/11/2026 à 10:00" in body
    assert appt["code"] in body and f"https://rdv.example/a/{appt['token']}" in body
    cal = calendar_of(message)
    assert cal["method"] == "REQUEST"
    (event,) = cal.walk("VEVENT")
    assert event.decoded("dtstart") == paris_dt(MONDAY, 10)
    assert (event.decoded("dtend") - event.decoded("dtstart")).total_seconds() == 20 * 60
    assert str(event["location"]) == "Test town hall"

    (sms,) = gateway.inbox.wait_for(1)
    assert sms["auth"] == "Bearer gw-secret"
    assert sms["body"]["to"] == "+33612345678" and sms["body"]["from"] == "MAIRIE"
    assert appt["code"] in sms["body"]["text"]


def paris_dt(day: date, hour: int, minute: int = 0) -> Any:
    from datetime import datetime

    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=PARIS)


def test_move_and_cancel_send_an_updated_and_a_cancelled_calendar(
    rdv: Srv, smtp: tuple[int, Inbox], gateway: Gateway
) -> None:
    appt = book(rdv, paris(MONDAY, 10), email="ada@example.org", lang="en")
    smtp[1].wait_for(1)
    rdv.thread.ctx.wall = lambda: paris(MONDAY, 8, 30)
    token = appt["token"]
    r = rdv.request(
        "POST", f"{API}/public/appointments/{token}/move", json={"start": int(paris(MONDAY, 14))}
    )
    assert r.status_code == 200
    _, moved = smtp[1].wait_for(2)[1]
    assert moved["Subject"] == "Appointment moved — Test town hall"
    first_uid = calendar_of(smtp[1].items[0][1]).walk("VEVENT")[0]["uid"]
    event = calendar_of(moved).walk("VEVENT")[0]
    assert event["uid"] == first_uid
    assert event.decoded("dtstart") == paris_dt(MONDAY, 14)
    assert int(event["sequence"]) > 0
    rdv.request("POST", f"{API}/public/appointments/{token}/cancel")
    _, cancelled = smtp[1].wait_for(3)[2]
    cal = calendar_of(cancelled)
    assert cal["method"] == "CANCEL"
    assert cal.walk("VEVENT")[0]["status"] == "CANCELLED"
    assert "https://rdv.example/book/rdv" in text_of(cancelled)
    rdv.request("POST", f"{API}/public/appointments/{token}/cancel")  # already: nothing sent
    assert gateway.inbox.items == []  # no phone given: no text message
    assert rdv.thread.ctx.messages is not None
    rdv.thread.ctx.messages.close()  # waits for anything still queued
    assert len(smtp[1].items) == 3


def test_reminders_go_once_the_day_before_from_the_reminder_hour(
    rdv: Srv, smtp: tuple[int, Inbox], gateway: Gateway
) -> None:
    tuesday = date(2026, 11, 24)
    book(rdv, paris(tuesday, 9), email="ada@example.org")
    book(rdv, paris(tuesday, 9, 20), phone="+33 6 98 76 54 32")
    book(rdv, paris(MONDAY, 15))  # today, and no contact: never reminded
    smtp[1].wait_for(1)
    gateway.inbox.wait_for(1)
    ctx = rdv.thread.ctx
    assert ctx.messages is not None
    assert send_reminders(ctx.engine, ctx.sites, ctx.messages, paris(MONDAY, 16, 59)) == []
    sent = send_reminders(ctx.engine, ctx.sites, ctx.messages, paris(MONDAY, 17, 5))
    assert len(sent) == 2
    assert send_reminders(ctx.engine, ctx.sites, ctx.messages, paris(MONDAY, 17, 10)) == []
    _, reminder = smtp[1].wait_for(2)[1]
    assert reminder["Subject"] == "Rappel : rendez-vous demain — Test town hall"
    texts = gateway.inbox.wait_for(2)
    assert texts[1]["body"]["to"] == "+33698765432"
    assert "Rappel" in texts[1]["body"]["text"]


def test_a_failing_gateway_or_mail_server_never_fails_a_booking(
    rdv: Srv, gateway: Gateway, smtp: tuple[int, Inbox], caplog: pytest.LogCaptureFixture
) -> None:
    gateway.status[0] = 503
    appt = book(rdv, paris(MONDAY, 11), phone="0612345678", email="x@example.org")
    assert appt["status"] == "booked"
    gateway.inbox.wait_for(1)
    messenger = rdv.thread.ctx.messages
    assert messenger is not None
    messenger.close()
    assert messenger.failed == 1 and messenger.sent == 1
    assert "SMS gateway answered 503" in caplog.text
    # What Guichet itself logs (not the test's own SMTP server, nor a library's debug lines
    # when another test left the root logger at DEBUG) holds neither the number nor the address.
    ours = "\n".join(
        r.getMessage() for r in caplog.records if r.name.split(".")[0] in ("server", "tickets")
    )
    assert "SMS gateway answered 503" in ours
    assert "0612345678" not in ours and "x@example.org" not in ours


@pytest.mark.parametrize(
    ("lang", "subject", "line"),
    [
        ("es", "Cita confirmada — Test town hall", "Lugar: Test town hall"),
        ("ar", "تأكيد الموعد — Test town hall", "المكان: Test town hall"),
    ],
)
def test_messages_speak_the_language_the_person_booked_in(
    rdv: Srv, smtp: tuple[int, Inbox], lang: str, subject: str, line: str
) -> None:
    """GIVEN a booking made on the Spanish or Arabic booking page THEN its e-mail is written in
    that language, from the web pages' catalogs."""
    form = {"start": str(int(paris(MONDAY, 10))), "email": "ada@example.org"}
    r = requests.post(f"{rdv.url}/book/rdv/passports?lang={lang}", data=form, timeout=10)
    assert r.status_code == 200, r.text
    ((_, message),) = smtp[1].wait_for(1)
    assert message["Subject"] == subject
    assert line in text_of(message)
