"""The public booking pages in headless Chromium: book, move and cancel an appointment on a
phone without JavaScript, in French and in English, by keyboard alone, and what a person sees
when the slot was taken meanwhile."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from playwright.sync_api import Browser, BrowserContext, Page, expect

from server.appointments import booking
from tests.server.appointments import MONDAY, paris
from tests.server.helpers import Srv
from tests.web.conftest import PATIENCE_MS, axe_violations, login, shoot, start_booking

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def rdv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Srv]:
    """The web server at 08:00 on Monday 2026-11-23 with the appointment site "rdv"."""
    yield from start_booking(tmp_path_factory.mktemp("booking"))


def fits_the_screen(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"the page is {width} px wide"  # type: ignore[index]


def status_of(srv: Srv, token: str) -> dict[str, object]:
    r = requests.get(f"{srv.url}/api/v1/public/appointments/{token}", timeout=10)
    assert r.status_code == 200, r.text
    out: dict[str, object] = r.json()
    return out


def test_book_move_and_cancel_on_a_phone_without_javascript(
    rdv: Srv, bare_phone: BrowserContext, shots: Path
) -> None:
    page = bare_phone.new_page()
    page.goto(f"{rdv.url}/book/rdv")
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    expect(page.locator("h1")).to_have_text("Prendre rendez-vous")
    shoot(page, shots, "booking-services-phone")
    page.get_by_role("link", name="Passeports").click()
    expect(page.locator("h1")).to_have_text("Passeports : choisir un créneau")
    monday = page.get_by_role("group", name="lundi 23 novembre 2026")
    expect(monday.get_by_label("09:00")).to_be_visible()  # an hour's notice from 08:00
    expect(monday.get_by_label("08:40")).to_have_count(0)
    expect(page.get_by_role("group", name="vendredi 27 novembre 2026")).to_have_count(0)  # closed
    fits_the_screen(page)
    monday.locator("label.slot", has_text="10:20").click()
    page.get_by_label("Adresse e-mail").fill("ada@example.org")
    shoot(page, shots, "booking-slots-phone")
    page.get_by_role("button", name="Réserver ce créneau").click()

    expect(page.locator(".notice.success")).to_have_text("Votre rendez-vous est réservé.")
    expect(page.locator("time")).to_have_text("lundi 23 novembre 2026 à 10:20")
    code = page.locator("#appt-code").inner_text()
    token = page.url.split("/a/")[1].split("?")[0]
    assert status_of(rdv, token)["code"] == code
    fits_the_screen(page)
    shoot(page, shots, "booking-confirmed-phone")

    page.get_by_role("link", name="Déplacer le rendez-vous").click()
    expect(page.locator(".notice.info")).to_contain_text("10:20")
    page.get_by_role("link", name="Semaine suivante").click()
    page.get_by_role("group", name="lundi 30 novembre 2026").locator(
        "label.slot", has_text="14:40"
    ).click()
    page.get_by_role("button", name="Déplacer à ce créneau").click()
    expect(page.locator(".notice.success")).to_have_text("Votre rendez-vous a été déplacé.")
    expect(page.locator("time")).to_have_text("lundi 30 novembre 2026 à 14:40")
    assert str(status_of(rdv, token)["local"]).startswith("2026-11-30T14:40")

    page.get_by_label("Je confirme l'annulation").check()
    page.get_by_role("button", name="Annuler le rendez-vous").click()
    expect(page.locator(".notice.success")).to_have_text("Votre rendez-vous est annulé.")
    expect(page.locator("#appt-status")).to_have_text("annulé")
    expect(page.get_by_role("link", name="Déplacer le rendez-vous")).to_have_count(0)
    assert status_of(rdv, token)["status"] == "cancelled"


def test_in_english_by_keyboard_and_found_again_by_its_code(
    rdv: Srv, phone: BrowserContext
) -> None:
    page = phone.new_page()
    page.goto(f"{rdv.url}/book/rdv/passports?lang=en&from=2026-11-24")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("h1")).to_have_text("Passports: choose a time")
    first = page.get_by_role("group", name="Tuesday, November 24, 2026").get_by_label("09:00")
    first.focus()
    page.keyboard.press("Space")
    expect(first).to_be_checked()
    page.get_by_label("Name").focus()
    page.keyboard.type("Grace")
    page.keyboard.press("Enter")
    expect(page.locator("h1")).to_have_text("Your appointment")
    expect(page.locator("time")).to_have_text("Tuesday, November 24, 2026 at 09:00")
    code = page.locator("#appt-code").inner_text()

    page.goto(f"{rdv.url}/book/rdv?lang=en")
    page.get_by_label("Appointment code").fill(code.replace("-", " ").lower())
    page.get_by_role("button", name="Find my appointment").click()
    expect(page.locator("#appt-code")).to_have_text(code)
    page.goto(f"{rdv.url}/book/rdv?lang=en")
    page.get_by_label("Appointment code").fill("ZZZZ-ZZZZ")
    page.get_by_role("button", name="Find my appointment").click()
    expect(page.get_by_role("alert")).to_have_text("No appointment has this code.")


def test_a_slot_taken_meanwhile_is_said_and_the_form_kept(
    rdv: Srv, bare_phone: BrowserContext
) -> None:
    page = bare_phone.new_page()
    page.goto(f"{rdv.url}/book/rdv/passports?from=2026-11-25")
    day = page.get_by_role("group", name="mercredi 25 novembre 2026")
    day.locator("label.slot", has_text="11:00").click()
    page.get_by_label("Nom").fill("Marie")
    # Meanwhile both places of 11:00 are booked elsewhere.
    loaded = rdv.thread.ctx.sites.get_by_engine(rdv.engine, "rdv")
    assert loaded is not None
    for _ in range(2):
        booking.book(
            rdv.engine,
            loaded,
            "passports",
            int(paris(MONDAY.replace(day=25), 11)),
            rdv.thread.ctx.now(),
            booking.Contact(),
            "api",
        )
    page.get_by_role("button", name="Réserver ce créneau").click()
    expect(page.get_by_role("alert")).to_have_text(
        "Ce créneau vient d'être pris. Choisissez-en un autre."
    )
    expect(page.get_by_label("Nom")).to_have_value("Marie")
    day = page.get_by_role("group", name="mercredi 25 novembre 2026")
    expect(day.get_by_label("11:00")).to_have_count(0)
    expect(day.get_by_label("11:20")).to_have_count(1)


def test_unknown_pages_and_a_bad_address_say_so(rdv: Srv, bare_phone: BrowserContext) -> None:
    page = bare_phone.new_page()
    assert page.goto(f"{rdv.url}/book/nowhere").status == 404  # type: ignore[union-attr]
    assert page.goto(f"{rdv.url}/book/rdv/civil").status == 404  # type: ignore[union-attr]
    assert page.goto(f"{rdv.url}/a/{'x' * 24}").status == 404  # type: ignore[union-attr]
    page.goto(f"{rdv.url}/book/rdv/passports?from=2026-11-26")
    page.get_by_role("group", name="jeudi 26 novembre 2026").locator(
        "label.slot", has_text="15:00"
    ).click()
    page.get_by_label("Téléphone mobile").fill("call me maybe")
    page.get_by_role("button", name="Réserver ce créneau").click()
    expect(page.get_by_role("alert")).to_have_text("Le numéro de téléphone n'est pas valide.")


RDV_ADMIN = ("rosa", "rdv-admin-password")


@pytest.fixture
def rdv_admin(tmp_path: Path) -> Iterator[Srv]:
    """A server of its own (its site changes) with an administrator of "rdv"."""
    for srv in start_booking(tmp_path):
        srv.thread.add_user(*RDV_ADMIN, "admin", ["rdv"])
        yield srv


def test_admin_sets_a_services_slots_and_the_service_form_keeps_them(
    rdv_admin: Srv, context: BrowserContext, shots: Path
) -> None:
    """GIVEN the appointments of "passports" (20-minute slots)
    WHEN the administrator makes them 30 minutes, closes 2026-12-01, and gives a bad date
    THEN the bad date is refused beside its field, then the public slots follow the new
    settings; saving the service's own form afterwards keeps them."""
    page = context.new_page()
    login(page, rdv_admin.url, RDV_ADMIN, then="/admin/rdv/services/passports")
    page.get_by_role("link", name="Rendez-vous de ce service").click()
    expect(page.locator("h1")).to_have_text("Rendez-vous : Passeports")
    expect(page.locator("#duration_minutes")).to_have_value("20")
    expect(page.locator("#closures")).to_have_value("2026-11-27")
    page.fill("#duration_minutes", "30")
    page.fill("#closures", "2026-11-27\n1 December")
    page.click("button:text('Enregistrer')")
    expect(page.locator("#closures")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#closures-error")).to_have_text("« 1 » n'est pas une date AAAA-MM-JJ.")
    shoot(page, shots, "admin-appointments-error")
    page.fill("#closures", "2026-11-27\n2026-12-01")
    page.click("button:text('Enregistrer')")
    expect(page.locator(".notice.success")).to_be_visible()

    def starts(day: str) -> list[str]:
        r = requests.get(
            f"{rdv_admin.url}/api/v1/public/sites/rdv/services/passports/slots",
            params={"from": day, "days": 1},
            timeout=10,
        )
        return [s["local"][11:16] for s in r.json()["slots"]]

    assert starts("2026-11-24")[:3] == ["09:00", "09:30", "10:00"]
    assert starts("2026-12-01") == []

    page.goto(f"{rdv_admin.url}/admin/rdv/services/passports")
    page.fill("#mean", "12")
    page.click("button:text('Enregistrer')")
    expect(page.locator(".notice.success")).to_be_visible()
    assert starts("2026-11-24")[:2] == ["09:00", "09:30"]

    page.goto(f"{rdv_admin.url}/admin/rdv/services/passports/appointments")
    page.get_by_label("Ce service prend des rendez-vous").uncheck()
    page.click("button:text('Enregistrer')")
    r = requests.get(
        f"{rdv_admin.url}/api/v1/public/sites/rdv/services/passports/slots", timeout=10
    )
    assert r.status_code == 422


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_booking_pages_pass_axe(rdv: Srv, browser: Browser, lang: str) -> None:
    """axe-core finds no violation (WCAG 2.1 A/AA and best practices) on the choice of
    service, a week of times with a refused form, and an appointment's page, on a phone."""
    ctx = browser.new_context(
        viewport={"width": 390, "height": 780}, is_mobile=True, locale="fr-FR", bypass_csp=True
    )
    ctx.set_default_timeout(PATIENCE_MS)
    page = ctx.new_page()
    page.goto(f"{rdv.url}/book/rdv?lang={lang}")
    assert axe_violations(page) == []
    page.goto(f"{rdv.url}/book/rdv/passports?from=2026-11-24&lang={lang}")
    assert axe_violations(page) == []
    page.locator("label.slot").first.click()
    page.locator("#phone").fill("not a number")
    page.locator("form button[type=submit]").click()
    expect(page.get_by_role("alert")).to_be_visible()
    assert axe_violations(page) == []
    page.locator("#phone").fill("")
    page.locator("label.slot").first.click()
    page.locator("form button[type=submit]").click()
    expect(page.locator("#appt-code")).to_be_visible()
    assert axe_violations(page) == []
    ctx.close()
