"""The same service elsewhere: other sites of the server offering a service, their wait now and
their first free appointment slot, as JSON (the kiosk's long-wait screen reads it) and on the
public wait and booking pages, in headless Chromium without JavaScript, checked by axe-core."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from playwright.sync_api import BrowserContext, Locator, Page, expect

from config.site import SiteConfig
from tests.server.appointments import MONDAY, appointment_site, paris
from tests.server.helpers import SITE, Srv
from tests.web.conftest import axe_violations, shoot, start

pytestmark = pytest.mark.browser


def named(cfg: SiteConfig, name: str, **passports: Any) -> SiteConfig:
    raw = cfg.model_dump(mode="json")
    raw["site"]["name"] = name
    raw["services"][1].update(passports)
    for counter in raw["counters"]:
        counter["services"] = [raw["services"][0]["id"], raw["services"][1]["id"]]
    return SiteConfig.model_validate(raw)


@pytest.fixture(scope="module")
def town(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Srv, dict[str, str]]]:
    """At 08:00 on Monday 2026-11-23, four sites of one server:
    - "testsite" (Test town hall): civil status and passports, walk-ins only;
    - "nord" (Annexe Nord): passports by appointment too (09:00-12:00, 14:00-16:00);
    - "sud" (Annexe Sud): its passports service is "titres", ``same_as = "passports"``, with
      appointments from 10:00 only;
    - "gare" (Antenne de la gare): its "passports" service is ``same_as = "other"``: not the
      same service, and it is closed on Mondays.
    Returns the server and the kiosk token of "nord"."""
    for srv in start(tmp_path_factory.mktemp("elsewhere")):
        nord = srv.thread.load_site(named(appointment_site("nord"), "Annexe Nord"))
        sud = appointment_site("sud").model_dump(mode="json")
        sud["services"][1]["appointments"]["hours"] = {"mon": ["10:00-12:00"]}
        srv.thread.load_site(
            named(SiteConfig.model_validate(sud), "Annexe Sud", id="titres", same_as="passports")
        )
        gare = appointment_site("gare").model_dump(mode="json")
        for service in gare["services"]:
            service["hours"] = {"tue": ["09:00-12:00"]}
        srv.thread.load_site(
            named(SiteConfig.model_validate(gare), "Antenne de la gare", same_as="other")
        )
        srv.thread.ctx.wall = lambda: paris(MONDAY, 8)
        yield srv, nord


def get(srv: Srv, path: str) -> requests.Response:
    r = requests.get(f"{srv.url}/api/v1/public{path}", timeout=10)
    assert r.status_code == 200, r.text
    return r


def test_the_json_names_each_other_site_with_its_wait_and_first_free_slot(
    town: tuple[Srv, dict[str, str]],
) -> None:
    """GIVEN three passport tickets waiting at Annexe Nord
    WHEN the kiosk of the town hall asks where else passports are done
    THEN Nord and Sud (same_as) are named, not the station (another key), with the wait their
    own wait API gives and the first slot their own slot API gives; the answer is cacheable."""
    srv, nord = town
    for _ in range(3):
        r = requests.post(
            f"{srv.url}/api/v1/sites/nord/tickets",
            headers={"Authorization": f"Bearer {nord['kiosk-a']}"},
            json={"service": "passports"},
            timeout=10,
        )
        assert r.status_code == 200, r.text

    r = get(srv, f"/sites/{SITE}/services/passports/elsewhere")
    assert r.headers["Cache-Control"] == "public, max-age=30"
    found = r.json()
    assert found["key"] == "passports"
    assert [(s["site"], s["service"]) for s in found["sites"]] == [
        ("nord", "passports"),
        ("sud", "titres"),
    ]
    by_site = {s["site"]: s for s in found["sites"]}
    nord_wait = next(
        s for s in get(srv, "/sites/nord/wait").json()["services"] if s["id"] == "passports"
    )
    assert nord_wait["waiting"] == 3
    assert by_site["nord"]["waiting"] == 3
    assert by_site["nord"]["estimated_wait_seconds"] == nord_wait["estimated_wait_seconds"] > 0
    # An hour's notice from 08:00: 09:00 at Nord; Sud's slots start at 10:00.
    assert by_site["nord"]["next_slot"] == paris(MONDAY, 9)
    assert by_site["nord"]["next_slot_local"] == "2026-11-23T09:00:00+01:00"
    assert by_site["sud"]["next_slot"] == paris(MONDAY, 10)
    for site, service in (("nord", "passports"), ("sud", "titres")):
        slots = get(srv, f"/sites/{site}/services/{service}/slots").json()["slots"]
        assert by_site[site]["next_slot"] == slots[0]["start"]
    assert by_site["sud"]["booking_path"] == "/book/sud/titres"
    assert by_site["sud"]["wait_path"] == "/wait/sud"

    # From Sud, its "titres" is found at the town hall (walk-ins only) and at Nord.
    back = get(srv, "/sites/sud/services/titres/elsewhere").json()
    assert [s["site"] for s in back["sites"]] == ["nord", SITE]
    hall = back["sites"][1]
    assert (hall["next_slot"], hall["booking_path"]) == (None, None)
    # The station's civil status is the same service; closed on Mondays: no estimate.
    civil = get(srv, f"/sites/{SITE}/services/civil/elsewhere").json()["sites"]
    gare = next(s for s in civil if s["site"] == "gare")
    assert (gare["open_now"], gare["estimated_wait_seconds"]) == (False, None)

    missing = requests.get(
        f"{srv.url}/api/v1/public/sites/{SITE}/services/nope/elsewhere", timeout=10
    )
    assert missing.status_code == 404
    schema = requests.get(f"{srv.url}/api/v1/openapi.json", timeout=10).json()
    path = schema["paths"]["/api/v1/public/sites/{site}/services/{service}/elsewhere"]["get"]
    assert path["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Elsewhere"
    }
    assert "next_slot" in schema["components"]["schemas"]["OtherSite"]["properties"]


def other_passports(page: Page, site: str) -> Locator:
    """The row of ``site`` in the page's "same service elsewhere" list of passports (a list of
    two other sites)."""
    section = page.get_by_role("region", name="Le même service ailleurs")
    passports = section.get_by_role("list", name="Passeports")
    expect(passports.get_by_role("listitem")).to_have_count(2)
    return passports.get_by_role("listitem").filter(has_text=site)


def test_the_wait_page_and_the_booking_page_show_it_without_javascript(
    town: tuple[Srv, dict[str, str]], bare_phone: BrowserContext, shots: Path
) -> None:
    srv, _nord = town
    page = bare_phone.new_page()
    page.goto(f"{srv.url}/wait/{SITE}")
    section = page.get_by_role("region", name="Le même service ailleurs")
    nord = other_passports(page, "Annexe Nord")
    expect(nord).to_contain_text("Attente :")
    expect(nord).to_contain_text("Premier rendez-vous libre : lundi 23 novembre 2026 à 09:00")
    nord_book = nord.get_by_role("link", name="Prendre rendez-vous : Annexe Nord")
    expect(nord_book).to_have_attribute("href", "/book/nord/passports?lang=fr")
    civil = section.get_by_role("list", name="État civil")
    expect(civil.get_by_role("listitem").filter(has_text="Antenne de la gare")).to_contain_text(
        "Fermé en ce moment"
    )
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    shoot(page, shots, "wait-elsewhere-phone")

    nord_book.click()
    expect(page.locator("h1")).to_have_text("Passeports : choisir un créneau")
    sud = page.get_by_role("region", name="Le même service ailleurs").get_by_role("listitem")
    expect(sud).to_have_count(2)
    expect(sud.filter(has_text="Annexe Sud")).to_contain_text("lundi 23 novembre 2026 à 10:00")
    expect(sud.filter(has_text="Test town hall")).not_to_contain_text("rendez-vous")

    page.goto(f"{srv.url}/book/sud/titres?lang=en")
    region = page.get_by_role("region", name="The same service elsewhere")
    expect(region.get_by_role("link", name="Book an appointment: Annexe Nord")).to_be_visible()
    expect(region).to_contain_text("First free appointment: Monday, November 23, 2026 at 09:00")


def test_the_pages_with_it_pass_axe(
    town: tuple[Srv, dict[str, str]], audited: BrowserContext
) -> None:
    srv, _nord = town
    page = audited.new_page()
    for path in (
        f"/wait/{SITE}",
        "/wait/nord?lang=en",
        "/book/nord/passports",
        "/book/sud/titres?lang=en",
    ):
        page.goto(srv.url + path)
        expect(page.locator("#elsewhere")).to_be_visible()
        assert axe_violations(page) == [], path


def test_the_booking_services_page_shows_it_per_service(
    town: tuple[Srv, dict[str, str]],
    bare_phone: BrowserContext,
    audited: BrowserContext,
    shots: Path,
) -> None:
    """GIVEN the booking page of "nord" (passports by appointment, offered by "sud" and the
    town hall too)
    WHEN a visitor opens it, without JavaScript
    THEN it lists, under the service's name, the other sites with their wait and first free
    slot, with a link to book there; axe-core finds nothing to fault (French and Arabic)."""
    srv, _nord = town
    page = bare_phone.new_page()
    page.goto(f"{srv.url}/book/nord")
    sud = other_passports(page, "Annexe Sud")
    expect(sud).to_contain_text("Premier rendez-vous libre : lundi 23 novembre 2026 à 10:00")
    expect(sud.get_by_role("link", name="Prendre rendez-vous : Annexe Sud")).to_have_attribute(
        "href", "/book/sud/titres?lang=fr"
    )
    expect(other_passports(page, "Test town hall")).to_contain_text("Attente")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    shoot(page, shots, "book-services-elsewhere-phone")

    audit = audited.new_page()
    for path in ("/book/nord", "/book/sud?lang=ar"):
        audit.goto(srv.url + path)
        expect(audit.locator("#elsewhere")).to_be_visible()
        assert axe_violations(audit) == [], path
    shoot(audit, shots, "book-services-elsewhere-ar")
