"""Offline first, against the real server on loopback: the kiosk keeps issuing when the server
is gone, with unique numbers, and the server has every ticket once it is back."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import requests

from config.kiosk import KioskSettings
from config.server import ServerSettings
from kiosk.runtime import KioskRuntime
from kiosk.selftest import KioskDriver
from printer.virtual import VirtualPrinter
from server.run import ServerThread
from tests.conftest import PATIENCE
from tests.kiosk.conftest import MONDAY_10, SITE_FILE, SiteClock
from tests.kiosk.link import Link
from tests.printer.conftest import STATUS_PATIENCE
from tickets.hlc import HybridClock

pytestmark = [pytest.mark.kivy, pytest.mark.slow]


def on_site_time(server: ServerThread, clock: SiteClock) -> ServerThread:
    """The server runs on the kiosk's site time: the kiosk sets its clock by the server's."""
    server.ctx.wall = clock
    server.ctx.clock = HybridClock("server", clock)
    return server


def take(d: KioskDriver, service: str) -> str:
    d.tap(d.screen("idle").ids.touch_area)
    assert d.wait_until(lambda: d.current == "services")
    d.tap(d.card(service))
    ticket = d.screen("ticket")
    assert d.wait_until(lambda: d.current == "ticket" and ticket.state != "printing", PATIENCE)
    assert ticket.state == "printed"
    label = str(ticket.label)
    d.tap(ticket.ids.done)
    assert d.wait_until(lambda: d.current == "idle")
    return label


def test_server_stopped_then_restarted(
    make_settings: Callable[..., KioskSettings],
    site_clock: SiteClock,
    printer: VirtualPrinter,
    tmp_path: Path,
) -> None:
    """GIVEN a kiosk synced with the server (it holds a lease) WHEN the server stops THEN taps
    still give tickets, from the lease then the offline range, all different, and the staff
    dot turns offline; WHEN the server is back THEN the outbox empties and the server knows
    every ticket."""
    db = f"sqlite:///{tmp_path}/server.db"
    link = Link()
    server = on_site_time(ServerThread(ServerSettings(database_url=db)).start(), site_clock)
    tokens = server.load_site(SITE_FILE)
    link.restore(int(server.url.rsplit(":", 1)[1]))
    site_clock.set(MONDAY_10.replace(hour=8, minute=31))  # room for 35 tickets before noon
    settings = make_settings(
        long_wait_minutes=600,
        server={
            "url": link.url,
            "token": tokens["kiosk-entree"],
            "sync_interval_seconds": 0.2,
            "timeout_seconds": STATUS_PATIENCE,  # a busy server answers late
        },
    )
    runtime = KioskRuntime(settings, clock=site_clock)
    d = KioskDriver(runtime, (1024, 600))
    day = runtime.core.today()
    try:
        assert d.wait_until(
            lambda: (
                d.app.sync_state == "online"
                and runtime.journal.pool.remaining("etat-civil", day) > 0
            ),
            PATIENCE,
        )
        labels = [take(d, "etat-civil")]
        assert labels == ["A001"]  # from the server's lease, not the offline range

        server.stop()
        link.cut()
        remaining = runtime.journal.pool.remaining("etat-civil", day)
        for _ in range(remaining + 2):  # the rest of the lease, then the offline range
            labels.append(take(d, "etat-civil"))
        assert d.wait_until(lambda: d.app.sync_state == "offline", PATIENCE)
        assert len(set(labels)) == len(labels)
        assert labels[-2:] == ["A900", "A901"]
        assert runtime.journal.backlog() >= len(labels) - 1

        server = on_site_time(ServerThread(ServerSettings(database_url=db)).start(), site_clock)
        link.restore(int(server.url.rsplit(":", 1)[1]))
        # After a minute offline the worker backs off (up to 60 s); the next ticket wakes it.
        labels.append(take(d, "etat-civil"))
        assert d.wait_until(lambda: runtime.journal.backlog() == 0, PATIENCE)
        assert d.wait_until(lambda: d.app.sync_state == "online", PATIENCE)
        tokens_by_label = {
            e.data["label"]: e.data["token"]
            for e in runtime.journal.state(runtime.core.site).events
            if e.data.get("label")
        }
        for label in labels:
            r = requests.get(
                f"{server.url}/api/v1/public/tickets/{tokens_by_label[label]}", timeout=PATIENCE
            )
            assert r.status_code == 200, label
            assert r.json()["label"] == label
    finally:
        d.close()
        runtime.close()
        server.stop()
        link.close()


def test_a_site_change_on_the_server_reaches_the_screen(
    make_settings: Callable[..., KioskSettings],
    site_clock: SiteClock,
    printer: VirtualPrinter,
    tmp_path: Path,
) -> None:
    """GIVEN a kiosk started from the site file and synced WHEN the manager renames a service
    on the server THEN the next sync brings the new configuration, the card shows the new
    name, and the journal caches it for the next start."""
    from config.loader import load_model
    from config.site import SiteConfig

    server = on_site_time(
        ServerThread(ServerSettings(database_url=f"sqlite:///{tmp_path}/server.db")).start(),
        site_clock,
    )
    runtime: KioskRuntime | None = None
    d: KioskDriver | None = None
    try:
        tokens = server.load_site(SITE_FILE)
        settings = make_settings(
            server={
                "url": server.url,
                "token": tokens["kiosk-entree"],
                "sync_interval_seconds": 0.2,
            }
        )
        runtime = KioskRuntime(settings, clock=site_clock)
        d = KioskDriver(runtime, (1024, 600))
        assert d.wait_until(lambda: d.app.sync_state == "online", PATIENCE)
        d.tap(d.screen("idle").ids.touch_area)
        assert d.wait_until(lambda: d.current == "services")
        assert d.card("ccas").name == "Action sociale (CCAS)"

        data = load_model(SiteConfig, SITE_FILE).model_dump(mode="json")
        data["services"][3]["names"]["fr"] = "Solidarités"
        server.load_site(SiteConfig.model_validate(data))
        assert d.wait_until(lambda: d.card("ccas").name == "Solidarités", PATIENCE)
        cached = runtime.journal.load_site()
        assert cached is not None and cached[0]["services"][3]["names"]["fr"] == "Solidarités"
    finally:
        if d is not None:
            d.close()
        if runtime is not None:
            runtime.close()
        server.stop()
