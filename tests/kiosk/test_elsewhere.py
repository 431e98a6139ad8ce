"""The same service elsewhere on the kiosk's long-wait screen: a real server on loopback with
three other sites offering passports (one under its own id, ``same_as``), the kiosk under Xvfb
reaching the long wait, and the rows checked in the widget tree; with the server stopped the
section stays away; the answer is kept for the time the server allows."""

from __future__ import annotations

import math
import os
import shutil
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import requests

from config.server import ServerSettings
from config.site import SiteConfig
from kiosk.elsewhere import ElsewhereClient, ElsewhereUnavailable
from kiosk.selftest import KioskDriver
from server.run import ServerThread
from tests.conftest import PATIENCE
from tests.kiosk.conftest import MONDAY_10, PARIS, SiteClock
from tests.kiosk.test_booking import long_wait_for_passports, reach_long_wait
from tests.kiosk.test_checkin import appointment_site
from tests.kiosk.test_rtl import PRESENTATION_FORMS, core_text, screen_problems
from tests.printer.conftest import STATUS_PATIENCE
from tickets.hlc import HybridClock

pytestmark = pytest.mark.kivy

OpenUI = Callable[..., KioskDriver]
ANNEXE = "Mairie annexe du quartier Saint-Jean-de-la-Ruelle"
PREFECTURE = "Préfecture de la Haute-Garonne — site Jean-Jaurès"
GARE = "Antenne de la gare"


def other_site(site_id: str, name: str, **passports: Any) -> SiteConfig:
    """The town hall's site file as another site ``site_id`` named ``name``; ``passports``
    overrides fields of its passport service (its id, ``same_as``, hours, appointments)."""
    raw = appointment_site().model_dump(mode="json")
    raw["site"].update(id=site_id, name=name)
    for service in raw["services"]:
        if service["id"] == "passeports":
            service.update(passports)
            new_id = service["id"]
    for counter in raw["counters"]:
        counter["services"] = [new_id if s == "passeports" else s for s in counter["services"]]
    return SiteConfig.model_validate(raw)


@pytest.fixture
def town(tmp_path: Path, site_clock: SiteClock) -> Iterator[tuple[ServerThread, dict[str, str]]]:
    """Monday 23 November 2026 at 10:00, one server, four sites offering passports:
    - "mairie" (the kiosk's): by appointment too, 09:00-12:00;
    - "annexe" (a long name): two people waiting, appointments 09:00-12:00;
    - "prefecture" (a long name): its service "titres" is ``same_as = "passeports"``, open
      for walk-ins on Thursdays only, appointments Thursday afternoons;
    - "gare": nobody waiting, walk-ins only.
    Returns the server and the kiosk tokens of "mairie"."""
    thread = ServerThread(ServerSettings(database_url=f"sqlite:///{tmp_path}/server.db"))
    thread.ctx.wall = site_clock
    thread.ctx.clock = HybridClock("server", site_clock)
    thread.start()
    mairie = appointment_site().model_dump(mode="json")
    mairie["site"]["languages"] = ["fr", "en", "ar"]
    tokens = thread.load_site(SiteConfig.model_validate(mairie))
    annexe = thread.load_site(other_site("annexe", ANNEXE))
    thread.load_site(
        other_site(
            "prefecture",
            PREFECTURE,
            id="titres",
            same_as="passeports",
            hours={"thu": ["08:30-12:00"]},
            appointments={"duration_minutes": 30, "hours": {"thu": ["14:00-16:00"]}},
        )
    )
    thread.load_site(other_site("gare", GARE, appointments=None))
    for _ in range(2):
        r = requests.post(
            f"{thread.url}/api/v1/sites/annexe/tickets",
            headers={"Authorization": f"Bearer {annexe['kiosk-entree']}"},
            json={"service": "passeports"},
            timeout=10,
        )
        assert r.status_code == 200, r.text
    yield thread, tokens
    thread.stop()


def with_history(make_settings: Callable[..., Any]) -> None:
    """Four weeks of passport tickets in the kiosk's journal (busy mornings, a quiet early
    afternoon), made standalone before it meets the server: the long wait offers a quieter
    time."""
    from kiosk.gallery import DemoClock, make_history
    from kiosk.runtime import KioskRuntime

    clock = DemoClock(MONDAY_10)
    runtime = KioskRuntime(make_settings(), clock=clock)
    try:
        make_history(runtime.core, clock, MONDAY_10)
    finally:
        runtime.close()


def shown(screen: Any) -> list[tuple[str, str, str]]:
    """(name, wait, next appointment) of each other site on screen, read from its row's
    labels."""
    out = []
    for _site, row in screen.site_rows:
        top = row.children[-1]
        name, wait = top.children[-1], top.children[-2]
        slot = row.children[0].text if len(row.children) > 1 else ""
        out.append((name.text, wait.text, slot))
    return out


def link(thread: ServerThread, tokens: dict[str, str]) -> dict[str, Any]:
    """The kiosk's [server] table: a loaded machine's slow answer is not a server away."""
    return {"url": thread.url, "token": tokens["kiosk-entree"], "timeout_seconds": STATUS_PATIENCE}


def keep(tmp_path: Path, *names: str) -> None:
    folder = os.environ.get("GUICHET_SHOTS")
    if folder:
        for name in names:
            shutil.copy(tmp_path / name, Path(folder) / name)


def test_the_long_wait_screen_names_the_other_sites_with_their_wait_and_next_slot(
    town: tuple[ServerThread, dict[str, str]],
    open_ui: OpenUI,
    make_settings: Callable[..., Any],
    tmp_path: Path,
) -> None:
    """GIVEN the four sites WHEN a person faces a long wait for passports at the town hall
    (1024x600, French) THEN the screen lists the other sites the card holds, most useful first
    (open with the shortest wait, then the earliest slot): the station "Sans attente", the
    annex with its wait in minutes and "Rendez-vous : aujourd'hui à 10 h 20", each wait the
    one the server's own wait API gives; nothing overlaps, leaves the window or is cut;
    THEN in Arabic the same rows read right to left from the answer kept, and still fit."""
    thread, tokens = town
    size = (1024, 600)
    with_history(make_settings)
    d = open_ui(size, server=link(thread, tokens))
    screen = reach_long_wait(d)
    assert d.wait_until(lambda: screen.elsewhere == "shown" and screen.site_rows, PATIENCE)
    d.settle()
    answer = requests.get(
        f"{thread.url}/api/v1/public/sites/mairie/services/passeports/elsewhere", timeout=10
    ).json()["sites"]
    assert sorted(s["site"] for s in answer) == ["annexe", "gare", "prefecture"]
    annex_wait = next(s for s in answer if s["site"] == "annexe")["estimated_wait_seconds"]
    assert annex_wait > 0
    annex_minutes = math.ceil(annex_wait / 60)
    rows = shown(screen)
    expected = [
        (GARE, "Sans attente", ""),
        (ANNEXE, f"{annex_minutes} min", "Rendez-vous : aujourd'hui à 10\u00a0h\u00a020"),
        (PREFECTURE, "Fermé", "Rendez-vous : jeudi 26 novembre à 14\u00a0h\u00a000"),
    ]
    # At 1024x600 the card holds two of them beside the quieter time and the QR code.
    assert len(rows) >= 2 and rows == expected[: len(rows)]
    assert screen.ids.elsewhere_title.text == "Le même service ailleurs"
    assert screen.ids.quieter.opacity == 1 and screen.ids.appointment.opacity == 1
    assert screen.ids.no_phone.text.startswith("Pas de smartphone")
    elsewhere = screen.ids.elsewhere
    here = screen.ids.here
    assert elsewhere.x > here.right  # beside this site's alternatives, on the reading end side
    d.screenshot(tmp_path / "kiosk-longwait-elsewhere-1024x600-fr.png")
    keep(tmp_path, "kiosk-longwait-elsewhere-1024x600-fr.png")
    assert screen_problems(d, "longwait", size) == []
    assert "Le même service ailleurs" in screen.spoken() and ANNEXE in screen.spoken()

    d.tap(screen.ids.anyway)  # the ticket still comes at once
    ticket = d.screen("ticket")
    assert d.wait_until(lambda: d.current == "ticket" and ticket.state != "printing", PATIENCE)
    d.tap(ticket.ids.done)
    assert d.wait_until(lambda: d.current == "idle")

    d.app.set_language("ar")
    d.tap(d.screen("idle").ids.touch_area)
    assert d.wait_until(lambda: d.current == "services")
    d.tap(d.card("passeports"))
    assert d.wait_until(lambda: d.current == "longwait")
    assert d.wait_until(lambda: screen.elsewhere == "shown" and screen.site_rows, PATIENCE)
    d.settle()
    assert d.app.rtl
    assert core_text(screen.ids.elsewhere_title) != "The same service elsewhere"
    assert any(ord(c) in PRESENTATION_FORMS for c in core_text(screen.ids.elsewhere_title))
    assert screen.ids.elsewhere_title.halign == "right"
    assert elsewhere.right < here.x  # mirrored: the other sites on the left
    (_site, row), *_ = screen.site_rows
    top = row.children[-1]
    name, wait = top.children[-1], top.children[-2]
    assert name.text == GARE and name.halign == "right"
    assert wait.right <= name.x + 0.5  # the wait on the left of the name
    d.screenshot(tmp_path / "kiosk-longwait-elsewhere-1024x600-ar.png")
    keep(tmp_path, "kiosk-longwait-elsewhere-1024x600-ar.png")
    assert screen_problems(d, "longwait", size) == []


@pytest.mark.parametrize("size", [(800, 480), (600, 1024)], ids=["800x480", "600x1024"])
def test_the_other_sites_fit_small_and_portrait_screens(
    town: tuple[ServerThread, dict[str, str]],
    open_ui: OpenUI,
    make_settings: Callable[..., Any],
    tmp_path: Path,
    size: tuple[int, int],
) -> None:
    """GIVEN the four sites WHEN the long wait shows on a 800x480 or a portrait 600x1024
    screen THEN the other sites the card holds are listed (all three in portrait, under this
    site's alternatives) and nothing overlaps, leaves the window or is cut."""
    thread, tokens = town
    with_history(make_settings)
    d = open_ui(size, server=link(thread, tokens))
    screen = reach_long_wait(d)
    assert d.wait_until(lambda: screen.elsewhere == "shown" and screen.site_rows, PATIENCE)
    d.settle()
    rows = [name for name, _w, _s in shown(screen)]
    assert rows == [GARE, ANNEXE, PREFECTURE][: len(rows)]
    if size[1] > size[0]:
        assert len(rows) == 3
        assert screen.ids.elsewhere.top < screen.ids.here.y + 0.5  # under them
    name = f"kiosk-longwait-elsewhere-{size[0]}x{size[1]}-fr.png"
    d.screenshot(tmp_path / name)
    keep(tmp_path, name)
    assert screen_problems(d, "longwait", size) == []


def test_with_the_server_stopped_no_other_site_is_shown(
    town: tuple[ServerThread, dict[str, str]], open_ui: OpenUI
) -> None:
    """GIVEN a kiosk that had its site from the server WHEN the server stops and a person
    faces a long wait THEN the screen shows the wait and the QR code as always, and no
    "elsewhere" section (nothing stale, no error)."""
    thread, tokens = town
    d = open_ui(server=link(thread, tokens))
    assert d.wait_until(lambda: d.app.books("passeports"), PATIENCE)
    thread.stop()
    screen = reach_long_wait(d)
    assert d.wait_until(lambda: screen.elsewhere == "offline", PATIENCE)
    d.settle()
    assert screen.site_rows == [] and not screen.has_elsewhere
    assert screen.ids.elsewhere.opacity == 0 and screen.ids.elsewhere_title.text == ""
    assert screen.ids.appointment.opacity == 1
    assert screen.ids.here.width > 0.9 * screen.ids.body.width  # the alternatives take it all
    assert screen_problems(d, "longwait", (1024, 600)) == []


def test_a_kiosk_without_server_asks_nothing(open_ui: OpenUI) -> None:
    d = open_ui()
    screen = long_wait_for_passports(d)
    assert screen.elsewhere == "none" and screen.site_rows == []


class Ticking:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_answer_is_kept_for_the_time_the_server_allows(
    town: tuple[ServerThread, dict[str, str]], make_settings: Callable[..., Any]
) -> None:
    """GIVEN an answer fetched from the server (``max-age=30``) WHEN the server stops THEN
    the same question is answered from the kept answer for 30 s, and after that it says the
    server is unreachable."""
    thread, _tokens = town
    settings = make_settings(
        server={"url": thread.url, "token": "", "timeout_seconds": STATUS_PATIENCE}
    )
    clock = Ticking()
    with requests.Session() as session:
        client = ElsewhereClient(settings, session, clock)
        first = client.other_sites("passeports")
        assert {s.site for s in first} == {"annexe", "gare", "prefecture"}
        prefecture = next(s for s in first if s.site == "prefecture")
        thursday = datetime(2026, 11, 26, 14, 0, tzinfo=PARIS).timestamp()
        assert (prefecture.open_now, prefecture.wait_seconds) == (False, None)
        assert prefecture.next_slot == thursday and prefecture.books
        assert MONDAY_10.timestamp() < thursday
        thread.stop()
        clock.now += 29
        assert client.other_sites("passeports") == first
        clock.now += 2
        assert client.cached("passeports") is None
        with pytest.raises(ElsewhereUnavailable):
            client.other_sites("passeports")


def test_a_server_that_does_not_answer_never_holds_a_ticket_back(
    open_ui: OpenUI, printer: Any
) -> None:
    """GIVEN a kiosk whose server accepts connections and never answers (the question about
    other sites hangs up to its timeout) WHEN a person faces a long wait and takes a ticket
    anyway THEN the ticket is printed while that question is still waiting: it has a thread of
    its own, neither the screen's nor the printing worker's."""
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)  # connections wait in the backlog, unanswered
    port = listener.getsockname()[1]
    try:
        d = open_ui(server={"url": f"http://127.0.0.1:{port}", "token": "t", "timeout_seconds": 60})
        screen = long_wait_for_passports(d)
        assert screen.elsewhere == "loading"
        d.tap(screen.ids.anyway)
        ticket = d.screen("ticket")
        assert d.wait_until(lambda: ticket.state == "printed", PATIENCE)
        printer.wait_for_tickets(1, PATIENCE)
        assert screen.elsewhere == "loading" and screen.site_rows == []
    finally:
        listener.close()  # the hanging questions end (connection reset)
