"""A kiosk after months in service: it starts reading recent days only, holds two days of
queue in memory, prunes its journal, and reads the quieter time from the journal's weeks."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

import tickets.journal
from config.kiosk import KioskSettings
from config.site import SiteConfig
from guichet.sim.history import fill_history
from kiosk.quiet import quieter_time
from kiosk.runtime import KioskRuntime
from tests.kiosk.conftest import MONDAY_10, SiteClock
from tests.kiosk.test_quiet import BUSY, history
from tests.tickets.test_worker import wait_for
from tickets.journal import Journal
from tickets.peer import PeerSync


def old_journal(settings: KioskSettings, site_config: SiteConfig, days: int) -> int:
    """Fills the kiosk's journal with ``days`` days of history before MONDAY_10; returns how
    many events yesterday holds."""
    site = site_config.to_domain()
    with Journal(settings.journal_path, settings.site, settings.device_id) as j:
        j.state(site)
        done = fill_history(j, site, MONDAY_10.date(), days, tickets_per_day=40)
    return done.events // days


def test_start_up_with_months_of_history_reads_only_the_last_two_days(
    make_settings: Callable[..., KioskSettings],
    site_config: SiteConfig,
    site_clock: SiteClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """GIVEN a kiosk journal holding 120 days of tickets (kept: retention 400 days) WHEN the
    kiosk starts, with its LAN peer exchange THEN it decodes yesterday's events only (its
    queue's window), not the months before; its number pool holds every kept day's leases
    but a ticket takes today's."""
    settings = make_settings(retention_days=400)
    per_day = old_journal(settings, site_config, 120)
    decoded = 0
    real = tickets.journal._event

    def counting(*args: Any) -> Any:
        nonlocal decoded
        decoded += 1
        return real(*args)

    monkeypatch.setattr(tickets.journal, "_event", counting)
    rt = KioskRuntime(settings, clock=site_clock)
    try:
        PeerSync(rt.journal, token="t", peers=["http://127.0.0.1:9"])
        assert decoded == per_day
        assert len(rt.journal.pool.leases) == 120 * len(site_config.services)
        result = rt.core.issue("etat-civil", None, "fr")
        assert result.ticket is not None and result.ticket.label == "A900"  # offline range
    finally:
        rt.close()


def test_a_standalone_kiosk_prunes_its_journal_at_start(
    make_settings: Callable[..., KioskSettings], site_config: SiteConfig, site_clock: SiteClock
) -> None:
    settings = make_settings(retention_days=7)
    old_journal(settings, site_config, 30)
    rt = KioskRuntime(settings, clock=site_clock)
    try:
        first = (MONDAY_10 - timedelta(days=7)).replace(hour=0).timestamp()
        kept = {(MONDAY_10.date() - timedelta(days=d)).isoformat() for d in range(1, 8)}
        wait_for(
            lambda: {lease.day for lease in rt.journal.pool.leases} == kept,
            "the pruning of the leases before the last seven days",
            30.0,
        )
        assert min(e.hlc.seconds for e in rt.journal.events_after(0, 100_000)[0]) >= first
    finally:
        rt.close()


def test_the_quieter_time_comes_from_the_weeks_in_the_journal_after_a_restart(
    make_settings: Callable[..., KioskSettings], site_config: SiteConfig, site_clock: SiteClock
) -> None:
    """GIVEN four weeks of passport arrivals in the journal WHEN the kiosk (re)starts and is
    asked for a quieter time THEN it offers the one those four weeks give: the weeks are read
    from the journal, not from the two days its queue holds (too few to offer any)."""
    settings = make_settings()
    weeks = history(BUSY)
    with Journal(settings.journal_path, settings.site, settings.device_id) as j:
        j.store_remote(weeks)
    rt = KioskRuntime(settings, clock=site_clock)
    try:
        service = rt.core.site.service("passeports")
        assert service is not None
        expected = quieter_time(service, weeks, MONDAY_10)
        assert expected is not None
        assert rt.core.quieter_time("passeports") == expected
        assert quieter_time(service, rt.core._state.events, MONDAY_10) is None
    finally:
        rt.close()


def test_the_queue_in_memory_keeps_two_days_on_a_kiosk_that_runs_for_days(
    make_settings: Callable[..., KioskSettings], site_clock: SiteClock, tmp_path: Path
) -> None:
    """GIVEN a kiosk issuing tickets on Monday WHEN it is still running on Wednesday THEN its
    queue holds Tuesday's and Wednesday's tickets only (Monday's left memory)."""
    rt = KioskRuntime(make_settings(), clock=site_clock)
    try:
        days = []
        for d in range(3):
            site_clock.set(MONDAY_10 + timedelta(days=d))
            result = rt.core.issue("etat-civil", None, "fr")
            assert result.ticket is not None
            days.append(result.ticket.day)
        held = {t.day for t in rt.core._state.tickets.values()}
        assert held == set(days[1:])
    finally:
        rt.close()
