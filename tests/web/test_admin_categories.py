"""The kiosk's categories in the administration, in headless Chromium: added, ordered, given
their services, refused with the page's own words beside the field, deleted; a kiosk's sync
then carries them (the two-level choice of kiosk/screens/services.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from config.site import SiteConfig
from tests.server.helpers import ADMIN, ALL_DAY, SITE, Srv, site_config
from tests.web.conftest import axe_violations, login, shoot, start

pytestmark = pytest.mark.browser


@pytest.fixture
def desk(tmp_path: Path) -> Iterator[Srv]:
    """A server of its own (its site changes): the test site with four services."""
    for srv in start(tmp_path):
        raw = site_config(counters=2).model_dump(mode="json")
        raw["services"] += [
            {"id": "elections", "prefix": "C", "names": {"fr": "Élections"}, "hours": ALL_DAY},
            {"id": "ccas", "prefix": "D", "names": {"fr": "CCAS"}, "hours": ALL_DAY},
        ]
        srv.tokens.update(srv.thread.load_site(SiteConfig.model_validate(raw)))
        yield srv


def stored(srv: Srv) -> SiteConfig:
    loaded = srv.thread.ctx.sites.get_by_engine(srv.engine, SITE)
    assert loaded is not None
    return loaded.config


def placed(cfg: SiteConfig) -> dict[str, str | None]:
    return {s.id: s.category for s in cfg.services}


def add(page: Page, cid: str, fr: str, en: str, position: int, services: list[str]) -> None:
    page.get_by_role("link", name="Ajouter une catégorie").click()
    page.fill("#id", cid)
    page.fill("#position", str(position))
    page.fill("#name-fr", fr)
    page.fill("#name-en", en)
    for s in services:
        page.check(f"input[name=service][value={s}]")
    page.get_by_role("button", name="Enregistrer").click()
    expect(page.locator(".notice.success")).to_contain_text("Enregistré")


def test_admin_builds_the_kiosks_categories(
    desk: Srv, audited: BrowserContext, shots: Path
) -> None:
    page = audited.new_page()
    login(page, desk.url, ADMIN, then=f"/admin/{SITE}")
    section = page.get_by_role("region", name="Catégories de la borne")
    expect(section).to_contain_text("Aucune : la borne montre la liste des services.")

    add(page, "famille", "Famille", "Family", 1, ["civil", "ccas"])
    add(page, "papiers", "Papiers d'identité", "Identity papers", 1, ["passports"])
    rows = page.locator("#categories-table tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("Papiers d'identité")
    expect(rows.nth(1)).to_contain_text("Famille")
    expect(rows.nth(1)).to_contain_text("État civil, CCAS")
    cfg = stored(desk)
    assert [(c.id, dict(c.names)) for c in cfg.categories] == [
        ("papiers", {"fr": "Papiers d'identité", "en": "Identity papers"}),
        ("famille", {"fr": "Famille", "en": "Family"}),
    ]
    assert placed(cfg) == {
        "civil": "famille",
        "passports": "papiers",
        "elections": None,
        "ccas": "famille",
    }
    shoot(page, shots, "admin-categories")
    assert axe_violations(page) == []

    # Elections joins the identity papers, CCAS moves there too, and the category goes last.
    page.get_by_role("link", name="Modifier Papiers d'identité").click()
    expect(page.locator("label.check", has_text="CCAS")).to_contain_text("aujourd'hui dans Famille")
    page.check("input[name=service][value=elections]")
    page.check("input[name=service][value=ccas]")
    page.fill("#position", "2")
    page.get_by_role("button", name="Enregistrer").click()
    expect(rows.nth(1)).to_contain_text("Passeports, Élections, CCAS")
    assert placed(stored(desk)) == {
        "civil": "famille",
        "passports": "papiers",
        "elections": "papiers",
        "ccas": "papiers",
    }

    # A kiosk's next sync carries them (it had the version before).
    r = desk.sync("kiosk-a", events=[], cursor=0, config_version="old")
    assert r.status_code == 200, r.text
    config: dict[str, Any] = r.json()["config"]
    assert [c["id"] for c in config["categories"]] == ["famille", "papiers"]
    assert {s["id"]: s["category"] for s in config["services"]}["ccas"] == "papiers"

    page.get_by_role("link", name="Modifier Famille").click()
    page.get_by_role("button", name="Supprimer").click()
    expect(page.locator(".notice.success")).to_contain_text("Supprimé")
    expect(rows).to_have_count(1)
    assert placed(stored(desk))["civil"] is None


def test_a_refused_category_is_said_beside_its_field_in_the_pages_language(
    desk: Srv, audited: BrowserContext, shots: Path
) -> None:
    """GIVEN the form of a new category
    WHEN its name is blank, no service is ticked, or its id is taken
    THEN the page says so in its own language beside the field, marked invalid and focused;
    what was typed stays; nothing is stored."""
    page = audited.new_page()
    login(page, desk.url, ADMIN, then=f"/admin/{SITE}/categories/new")
    page.fill("#id", "famille")
    page.fill("#name-fr", "   ")  # passes the browser's "required", not the server
    page.check("input[name=service][value=civil]")
    page.get_by_role("button", name="Enregistrer").click()
    name = page.locator("#name-fr")
    expect(name).to_have_attribute("aria-invalid", "true")
    expect(name).to_be_focused()
    expect(page.locator("#name_fr-error")).to_have_text(
        "Donnez un nom à la catégorie (au moins dans la première langue)."
    )
    assert page.title().startswith("Erreur — ")
    expect(page.locator(".notice.error")).to_contain_text("Rien n'a été enregistré")
    expect(page.locator("input[name=service][value=civil]")).to_be_checked()  # kept
    assert axe_violations(page) == []
    shoot(page, shots, "admin-category-error")

    page.fill("#name-fr", "Famille")
    page.uncheck("input[name=service][value=civil]")
    page.get_by_role("button", name="Enregistrer").click()
    expect(page.locator("input[name=service]").first).to_be_focused()
    expect(page.locator("#service-error")).to_have_text(
        "Cochez au moins un service pour cette catégorie."
    )
    assert stored(desk).categories == []

    page.check("input[name=service][value=civil]")
    page.get_by_role("button", name="Enregistrer").click()
    expect(page.locator(".notice.success")).to_contain_text("Enregistré")

    page.goto(f"{desk.url}/admin/{SITE}/categories/new?lang=en")
    page.fill("#id", "famille")
    page.fill("#name-fr", "Autre famille")
    page.check("input[name=service][value=ccas]")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#id")).to_be_focused()
    expect(page.locator("#id-error")).to_have_text(
        "This identifier is already taken: choose another one."
    )
    expect(page.locator("#name-fr")).to_have_value("Autre famille")
    assert page.title().startswith("Error — ")
    assert axe_violations(page) == []
    assert [c.id for c in stored(desk).categories] == ["famille"]
    assert placed(stored(desk))["ccas"] is None
    page.set_viewport_size({"width": 360, "height": 740})  # a phone: nothing wider than it
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
