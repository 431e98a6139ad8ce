"""Administration in headless Chromium: a new service and a new kiosk; the kiosk (its sync
call, with the token the page showed once) receives the new configuration."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, expect

from config.display import DisplaySettings
from config.loader import load_settings
from display.runtime import build_board
from tests.server.helpers import ADMIN, SITE, Srv
from tests.web.conftest import login, shoot

pytestmark = pytest.mark.browser


def test_admin_adds_a_service_and_a_kiosk_that_gets_it_at_its_sync(
    web: Srv, context: BrowserContext, shots: Path
) -> None:
    page = context.new_page()
    login(page, web.url, ADMIN, then="/admin")
    expect(page).to_have_url(f"{web.url}/admin/{SITE}")
    before = page.locator("#config-version").inner_text()
    shoot(page, shots, "admin")

    page.click("text=Ajouter un service")
    page.fill("#id", "social")
    page.fill("#prefix", "S")
    page.fill("#name-fr", "Action sociale")
    page.fill("#name-en", "Social services")
    page.fill("#hours-mon", "08:30-12:00, 13:30-17:00")
    page.fill("#hours-sat", "09:00-12:00")
    page.fill("#mean", "20")
    page.check("input[name=priority_allowed]")
    shoot(page, shots, "admin-service")
    page.click("button:text('Enregistrer')")

    expect(page.locator(".notice.success")).to_contain_text("Enregistré")
    row = page.locator("#services-table tr[data-service=social]")
    expect(row).to_contain_text("Action sociale")
    expect(row).to_contain_text("lun. 08:30-12:00, 13:30-17:00")
    civil = page.locator("#services-table tr[data-service=civil]")
    expect(civil).to_contain_text("lun.–dim. 00:00-24:00")
    after = page.locator("#config-version").inner_text()
    assert after != before

    # Counter 2 now also takes the new service, first.
    page.click("#counters-table tr[data-counter='2'] >> text=Modifier")
    page.check("input[name=service][value=social]")
    page.fill("#rank-social", "1")
    page.fill("#rank-passports", "2")
    page.fill("#rank-civil", "3")
    page.click("button:text('Enregistrer')")
    expect(page.locator("#counters-table tr[data-counter='2']")).to_contain_text(
        "Action sociale → Passeports → État civil"
    )
    version = page.locator("#config-version").inner_text()

    page.click("text=Appareils")
    page.fill("#device-id", "kiosk-annexe")
    page.select_option("#device-role", "kiosk")
    page.fill("#device-range", "700-799")
    page.click("button:text('Ajouter un appareil')")
    token = page.locator("#token-value").inner_text().strip()
    assert len(token) >= 32
    expect(page.locator("#devices-table tr[data-device=kiosk-annexe]")).to_contain_text("actif")
    shoot(page, shots, "admin-devices")
    page.reload()
    expect(page.locator("#token-value")).to_have_count(0)  # shown once only

    r = web.http.post(
        f"{web.url}/api/v1/sync",
        headers={"Authorization": f"Bearer {token}"},
        json={"device": "kiosk-annexe", "cursor": 0, "events": [], "config_version": ""},
        timeout=10,
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["config_version"] != before
    services = {s["id"]: s for s in body["config"]["services"]}
    assert services["social"]["prefix"] == "S"
    assert services["social"]["names"] == {"fr": "Action sociale", "en": "Social services"}
    assert services["social"]["hours"] == {
        "mon": ["08:30-12:00", "13:30-17:00"],
        "sat": ["09:00-12:00"],
    }
    assert services["social"]["priority_allowed"] is True
    counters = {c["id"]: c for c in body["config"]["counters"]}
    assert counters["2"]["services"] == ["social", "passports", "civil"]
    kiosk = next(d for d in body["config"]["devices"] if d["id"] == "kiosk-annexe")
    assert kiosk["offline_range"] == [700, 799]
    # The device adding changed the configuration again (it is declared in it).
    assert body["config_version"] != version

    # Revoking the token: the kiosk is refused from then on.
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#devices-table tr[data-device=kiosk-annexe] >> text=Révoquer")
    expect(page.locator(".notice.success")).to_contain_text("révoqué")
    expect(page.locator("#devices-table tr[data-device=kiosk-annexe]")).to_contain_text("révoqué")
    r = web.http.post(
        f"{web.url}/api/v1/sync",
        headers={"Authorization": f"Bearer {token}"},
        json={"device": "kiosk-annexe"},
        timeout=10,
    )
    assert r.status_code == 401


def test_an_invalid_service_is_refused_beside_its_field_in_the_pages_language(
    web: Srv, context: BrowserContext, shots: Path
) -> None:
    """GIVEN the form of a new service
    WHEN its hours or its letter are refused
    THEN the page says so in its own language, beside the field, which is marked invalid and
    focused; the title says there is an error; nothing typed is lost and nothing is stored."""
    page = context.new_page()
    login(page, web.url, ADMIN, then=f"/admin/{SITE}/services/new")
    page.fill("#id", "dup")
    page.fill("#prefix", "A")  # already the prefix of "civil"
    page.fill("#name-fr", "Doublon")
    page.fill("#hours-tue", "8h-23h")
    page.click("button:text('Enregistrer')")
    hours = page.locator("#hours-tue")
    expect(hours).to_have_attribute("aria-invalid", "true")
    expect(hours).to_be_focused()
    expect(page.locator("#hours_tue-error")).to_have_text(
        "« 8h-23h » n'est pas une période : écrivez HH:MM-HH:MM, la fin après le début "
        "(08:30-12:00)."
    )
    assert hours.get_attribute("aria-describedby") == "hours_tue-error"
    expect(page.locator(".notice.error")).to_contain_text("Rien n'a été enregistré")
    assert page.title().startswith("Erreur — ")
    assert "services.4" not in page.content() and "Value error" not in page.content()
    shoot(page, shots, "admin-service-error")

    page.fill("#hours-tue", "09:00-12:00")
    page.click("button:text('Enregistrer')")
    prefix = page.locator("#prefix")
    expect(prefix).to_have_attribute("aria-invalid", "true")
    expect(prefix).to_be_focused()
    expect(page.locator("#prefix-error")).to_contain_text("Un autre service a déjà cette lettre")
    assert prefix.get_attribute("aria-describedby") == "prefix-help prefix-error"
    expect(page.locator("#hours-tue")).not_to_have_attribute("aria-invalid", "true")
    expect(page.locator("#name-fr")).to_have_value("Doublon")  # nothing typed is lost

    page.goto(f"{web.url}/admin/{SITE}/services/new?lang=en")
    page.fill("#id", "dup")
    page.fill("#prefix", "Q")
    page.fill("#name-fr", "Doublon")
    page.fill("#hours-sat", "09:00-12:00; 14:00-25:00")
    page.click("button:text('Save')")
    expect(page.locator("#hours-sat")).to_be_focused()
    expect(page.locator("#hours_sat-error")).to_have_text(
        "“14:00-25:00” is not a period: write HH:MM-HH:MM, the end after the start (08:30-12:00)."
    )
    assert page.title().startswith("Error — ")
    loaded = web.thread.ctx.sites.get_by_engine(web.engine, SITE)
    assert loaded is not None
    assert all(s.id != "dup" for s in loaded.config.services)


def test_device_form_keeps_what_was_typed_and_names_the_overlap(
    web: Srv, context: BrowserContext
) -> None:
    page = context.new_page()
    login(page, web.url, ADMIN, then=f"/admin/{SITE}/devices")
    page.fill("#device-id", "kiosk-annexe-2")
    page.fill("#device-range", "950-960")  # inside kiosk-a's 900-999
    page.click("#add-device-title ~ form button[type=submit]")
    field = page.locator("#device-range")
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(field).to_be_focused()
    expect(field).to_have_value("950-960")
    expect(page.locator("#device-id")).to_have_value("kiosk-annexe-2")
    expect(page.locator("#offline_range-error")).to_contain_text("chevauche")


def test_fleet_shows_each_devices_heartbeat(web: Srv, context: BrowserContext, shots: Path) -> None:
    health = {
        "role": "kiosk",
        "version": "0.1.0",
        "printer": "paper_out",
        "printer_detail": "kiosk-a: out of paper. Load a new roll.",
        "last_sync": None,
    }
    assert web.sync("kiosk-a", health=health).status_code == 200
    board = {"version": "0.1.0", "buttons": "connected", "audio": "ok"}
    assert web.sync("board-a", health=board).status_code == 200
    page = context.new_page()
    login(page, web.url, ADMIN, then=f"/admin/{SITE}/fleet")
    kiosk = page.locator("#fleet-table tr[data-device=kiosk-a]")
    expect(kiosk).to_contain_text("en ligne")
    expect(kiosk).to_contain_text("plus de papier")
    expect(kiosk).to_contain_text("0.1.0")
    expect(page.locator("#fleet-table tr[data-device=board-a]")).to_contain_text("connecté")
    expect(page.locator("#fleet-table tr[data-device=kiosk-b]")).to_contain_text("jamais vu")
    shoot(page, shots, "admin-fleet")


def board_heartbeats(web: Srv, tmp_path: Path, device: str, wall: Callable[[], float]) -> None:
    """A real board (``display.runtime``) whose machine reads ``wall`` syncs twice with the
    server over HTTP: the first sync measures its clock, the second's heartbeat carries it."""
    settings = load_settings(
        DisplaySettings,
        None,
        site=SITE,
        device_id=device,
        journal_path=tmp_path / f"{device}.sqlite3",
        fullscreen=False,
        audio={"enabled": False, "cache_dir": tmp_path / "audio"},
        server={"url": web.url, "token": web.tokens[device]},
    )
    board = build_board(settings, wall=wall)
    worker = board.sync_worker
    assert worker is not None
    worker.health_interval = 0.0  # a heartbeat with every sync
    try:
        assert worker.run_once() and worker.run_once(), worker.last_error
    finally:
        board.stop()


def test_fleet_shows_a_wrong_device_clock_in_plain_words(
    web: Srv, context: BrowserContext, shots: Path, tmp_path: Path
) -> None:
    """GIVEN a board whose clock is 1 h 02 min ahead (a Raspberry Pi without real-time clock
    after a power cut) and a board whose clock is right WHEN both send their heartbeat with
    their syncs THEN the fleet page warns about the first one's clock in words, in French and
    in English, and shows the other's as OK."""
    board_heartbeats(web, tmp_path, "board-b", lambda: time.time() + 3725)
    board_heartbeats(web, tmp_path, "board-a", time.time)
    page = context.new_page()
    login(page, web.url, ADMIN, then=f"/admin/{SITE}/fleet")
    wrong = page.locator("#fleet-table tr[data-device=board-b] td.fleet-clock")
    expect(wrong.locator(".badge.warn")).to_have_text("horloge en avance de 1 h 02 min")
    expect(wrong).to_contain_text("vérifiez sa synchronisation NTP")
    right = page.locator("#fleet-table tr[data-device=board-a] td.fleet-clock")
    expect(right.locator(".badge.ok")).to_have_text("OK")
    shoot(page, shots, "admin-fleet-clock")

    page.goto(f"{web.url}/admin/{SITE}/fleet?lang=en")
    expect(wrong.locator(".badge.warn")).to_have_text("clock 1 h 02 min ahead")
    expect(right.locator(".badge.ok")).to_have_text("OK")
