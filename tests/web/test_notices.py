"""The follow page's notices in headless Chromium, on the real server with an SMTP server and
an SMS gateway on loopback: an appointment running late is told live on its follow page and
chooses to wait or to rebook; a walk-in leaves a mobile number to be told when few people are
ahead, and the number is gone from the database once the ticket is called."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import sqlalchemy as sa
from playwright.sync_api import Browser, BrowserContext, expect

from server import schema
from tests.mailboxes import Gateway, Inbox, settings_for, text_of
from tests.server.appointments import (
    MONDAY,
    appointment_site,
    booked_and_checked_in,
    paris,
    set_clock,
)
from tests.server.helpers import Srv
from tests.web.conftest import PATIENCE_MS, shoot, start

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def rdv(
    tmp_path_factory: pytest.TempPathFactory, smtp: tuple[int, Inbox], gateway: Gateway
) -> Iterator[Srv]:
    """The web server with the appointment site "rdv", its messages to the loopback servers,
    looking for notices every 50 ms."""
    settings = settings_for(smtp[0], gateway, notice_seconds=0.05)
    for srv in start(tmp_path_factory.mktemp("notices"), messages=settings):
        srv.tokens.update(srv.thread.load_site(appointment_site()))
        set_clock(srv, paris(MONDAY, 8))
        yield srv


@pytest.fixture
def browser_no_js(browser: Browser) -> Iterator[BrowserContext]:
    """A phone-sized browser with JavaScript turned off."""
    ctx = browser.new_context(
        viewport={"width": 360, "height": 740}, locale="fr-FR", java_script_enabled=False
    )
    ctx.set_default_timeout(PATIENCE_MS)
    yield ctx
    ctx.close()


def ticket_status(srv: Srv, token: str) -> dict[str, object]:
    r = requests.get(f"{srv.url}/api/v1/public/tickets/{token}", timeout=10)
    assert r.status_code == 200, r.text
    out: dict[str, object] = r.json()
    return out


def test_late_appointment_is_told_live_on_its_follow_page_and_keeps_waiting(
    rdv: Srv, phone: BrowserContext, smtp: tuple[int, Inbox], shots: Path
) -> None:
    set_clock(rdv, paris(MONDAY, 8))
    before = len(smtp[1].items)
    _appt, checked = booked_and_checked_in(rdv, email="ada@example.org", lang="en")
    token = checked["token"]
    smtp[1].wait_for(before + 1)  # the confirmation
    page = phone.new_page()
    page.goto(f"{rdv.url}/t/{token}?lang=en")
    expect(page.locator("#live-state")).to_have_text("Live")
    expect(page.locator("#late-notice")).to_have_count(0)
    sent = before + 1
    set_clock(rdv, paris(MONDAY, 10, 20))  # nobody called it: 20 minutes late
    notice = page.locator("#late-notice")
    expect(notice).to_contain_text("Your appointment is running late")  # no reload
    expect(notice).to_contain_text("Appointment at 10:00: we will see you about 20 min late")
    shoot(page, shots, "follow-late")
    _, late = smtp[1].wait_for(sent + 1)[sent]
    assert late["Subject"] == "Your appointment is running late — Test town hall"
    assert f"/t/{token}" in text_of(late)
    page.locator("#late-wait").click()
    expect(page.locator("#late-choice")).to_have_text("You chose to wait: you keep your place.")
    assert ticket_status(rdv, token)["late"]["choice"] == "wait"  # type: ignore[index]
    assert page.locator("#step-out").count() == 0  # an appointment is not a walk-in


def test_late_appointment_rebooks_another_slot_without_javascript(
    rdv: Srv, browser_no_js: BrowserContext, smtp: tuple[int, Inbox]
) -> None:
    set_clock(rdv, paris(MONDAY, 8))
    before = len(smtp[1].items)
    _appt, checked = booked_and_checked_in(
        rdv, email="bob@example.org", start=paris(MONDAY, 10, 20)
    )
    token = checked["token"]
    smtp[1].wait_for(before + 1)  # the confirmation
    set_clock(rdv, paris(MONDAY, 10, 40))
    _, late = smtp[1].wait_for(before + 2)[before + 1]
    assert late["Subject"] == "Votre rendez-vous prend du retard — Test town hall"
    sent = before + 2
    page = browser_no_js.new_page()
    page.goto(f"{rdv.url}/t/{token}")
    # 10:40, and the 10:00 appointment (still waiting) is ahead of it: more than 20 minutes.
    expect(page.locator("#late-notice")).to_contain_text("min de retard")
    page.locator("#late-rebook").click()
    expect(page.locator("h1")).to_contain_text("Passeports")
    page.locator("label.slot", has_text="14:00").first.click()
    page.locator("button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/a/[^/?]+\?done=booked"))
    assert ticket_status(rdv, token)["status"] == "cancelled"
    _, confirmation = smtp[1].wait_for(sent + 1)[sent]
    assert confirmation["Subject"] == "Rendez-vous confirmé — Test town hall"
    assert "à 14:00" in text_of(confirmation)


def test_a_walk_in_leaves_a_number_on_the_follow_page_and_it_is_erased_when_called(
    rdv: Srv, phone: BrowserContext, gateway: Gateway, shots: Path
) -> None:
    for _ in range(5):
        rdv.issue("civil", site="rdv")
    mine = rdv.issue("civil", site="rdv", lang="en")
    token, ticket = mine["token"], mine["ticket"]["id"]
    page = phone.new_page()
    page.goto(f"{rdv.url}/t/{token}")
    box = page.locator("#step-out")
    expect(box).to_contain_text("one message will tell you when 3 people or fewer are ahead")
    page.locator("#step-out-contact").fill("not a number")
    page.locator("#step-out-submit").click()
    expect(page.locator("#step-out-error")).to_contain_text("Enter a mobile number")
    page.locator("#step-out-contact").fill("06 98 76 54 32")
    page.locator("#step-out-submit").click()
    expect(page.locator("#step-out-set")).to_have_text(
        "We will text you when 3 people or fewer are ahead of you."
    )
    shoot(page, shots, "follow-step-out")
    assert "98 76" not in page.content()  # never shown back
    (row,) = contacts(rdv, ticket)
    assert row.phone == "06 98 76 54 32" and row.lang == "en"
    sent = len(gateway.inbox.items)
    # Calls (appointments of the earlier tests may come first) until three are ahead.
    while ticket_status(rdv, token)["people_ahead"] != 3:
        rdv.act("1", "next", site="rdv")
    sms = gateway.inbox.wait_for(sent + 1)[sent]
    assert sms["body"]["to"] == "+33698765432"
    assert mine["ticket"]["label"] in sms["body"]["text"]
    page.reload()
    expect(page.locator("#step-out-sent")).to_be_visible()
    (row,) = contacts(rdv, ticket)
    assert row.phone is None and row.notified_at is not None  # blanked as it went
    rdv.call_until("1", mine["ticket"], site="rdv")
    assert contacts(rdv, ticket) == []  # the ticket ended: nothing left
    expect(page.locator("#called-banner")).to_be_visible()


def contacts(srv: Srv, ticket: str) -> list[Any]:
    c = schema.ticket_contacts
    with srv.engine.connect() as conn:
        return list(conn.execute(sa.select(c).where(c.c.ticket == ticket)).all())
