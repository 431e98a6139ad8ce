"""Reception in headless Chromium: an agent books for the person at the desk (a service, then
one click on a time), marks an expected person present with a note, and the counter agent
sees that note when calling them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, expect

from tests.server.appointments import MONDAY, appointment_site, paris
from tests.server.helpers import Srv
from tests.web.conftest import axe_violations, login, shoot, start

pytestmark = pytest.mark.browser

DESK = ("denise", "desk-agent-password")


@pytest.fixture
def rdv(tmp_path: Path) -> Iterator[Srv]:
    for srv in start(tmp_path):
        srv.thread.load_site(appointment_site())
        srv.thread.add_user(*DESK, "agent", ["rdv"])
        srv.thread.ctx.wall = lambda: paris(MONDAY, 8)
        yield srv


def test_book_at_the_desk_mark_present_and_the_counter_sees_the_note(
    rdv: Srv, context: BrowserContext, shots: Path
) -> None:
    page = context.new_page()
    login(page, rdv.url, DESK, then="/reception/rdv")
    expect(page.locator("h1")).to_have_text("Accueil des rendez-vous — Test town hall")
    expect(page.get_by_text("Aucun rendez-vous aujourd'hui.")).to_be_visible()

    page.get_by_role("link", name="Passeports").click()  # the service
    page.get_by_role("group", name="lundi 23 novembre 2026").get_by_role(
        "button", name="09:00"
    ).click()  # one click books
    expect(page.locator("#booked")).to_contain_text("lundi 23 novembre 2026 à 09:00")
    code = page.locator("#booked .appt-code").inner_text()
    row = page.locator(f"#appt-{code}")
    expect(row).to_contain_text("09:00")
    shoot(page, shots, "reception")

    row.get_by_label(f"Note pour le guichet ({code})").fill("Vient pour sa mère")
    row.get_by_role("button", name="Présent").click()
    expect(page.locator(".notice.success")).to_have_text("Enregistré : ticket B001.")
    expect(page.locator(f"#appt-{code}")).to_contain_text("présent")

    page.goto(f"{rdv.url}/console/rdv/2")
    page.click("#action-next")
    expect(page.locator("#current-ticket")).to_have_attribute("data-ticket", "B001")
    expect(page.locator("#current-note")).to_have_text("Vient pour sa mère")
    expect(page.locator("#current-appointment")).to_have_text("09:00")
    shoot(page, shots, "console-appointment-note")


def test_a_wrong_check_in_is_said_and_another_sites_agent_is_refused(
    rdv: Srv, context: BrowserContext
) -> None:
    page = context.new_page()
    login(page, rdv.url, DESK, then="/reception/rdv")
    page.get_by_role("link", name="Passeports").click()
    page.get_by_role("group", name="mardi 24 novembre 2026").get_by_role(
        "button", name="10:00"
    ).click()
    expect(page.locator("#booked")).to_contain_text("mardi 24 novembre 2026 à 10:00")
    # Tomorrow's appointment is not in today's list; the API refuses its check-in today.
    expect(page.get_by_text("Aucun rendez-vous aujourd'hui.")).to_be_visible()
    other = context.browser.new_context()  # type: ignore[union-attr]
    try:
        p2 = other.new_page()
        from tests.server.helpers import AGENT

        login(p2, rdv.url, AGENT, then="/reception/rdv")
        assert "login" in p2.url
    finally:
        other.close()


def test_reception_pages_pass_axe(rdv: Srv, audited: BrowserContext) -> None:
    page = audited.new_page()
    login(page, rdv.url, DESK, then="/reception/rdv/book/passports")
    assert axe_violations(page) == []
    page.get_by_role("group", name="lundi 23 novembre 2026").get_by_role(
        "button", name="09:00"
    ).click()
    expect(page.locator("#booked")).to_be_visible()
    assert axe_violations(page) == []
