"""KioskCore without a screen: the closing rule, long waits, and journal-then-print, against a
real journal on disk and a virtual printer on a TCP port."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import pytest

from config.kiosk import KioskSettings
from kiosk.checkin import CheckIn, check_in
from kiosk.core import Availability, Outcome
from kiosk.runtime import KioskRuntime
from printer import PrinterState
from printer.virtual import VirtualPrinter
from tests.conftest import PATIENCE
from tests.kiosk.conftest import MONDAY_10, PARIS, SiteClock
from tickets.daybook import BOOKED, DayBook, Expected
from tickets.events import EventKind
from tickets.journal import Journal, PrintState


@pytest.fixture
def runtime(
    make_settings: Callable[..., KioskSettings], site_clock: SiteClock
) -> Iterator[KioskRuntime]:
    rt = KioskRuntime(make_settings(), clock=site_clock)
    yield rt
    rt.close()


def fill_queue(rt: KioskRuntime, service: str, n: int) -> None:
    for _ in range(n):
        result = rt.core.issue(service, None, "fr")
        assert result.ticket is not None


def test_a_ticket_is_journaled_then_printed_with_its_number_and_service(
    runtime: KioskRuntime, printer: VirtualPrinter
) -> None:
    result = runtime.core.issue("etat-civil", None, "fr")
    assert result.outcome is Outcome.PRINTED
    assert result.ticket is not None
    assert result.ticket.label == "A900"  # no lease yet: the device's offline range
    assert result.ticket.source == "offline"
    printer.wait_for_tickets(1, PATIENCE)
    text = "\n".join(printer.printed[0].text_lines())
    assert printer.printed[0].headline == "A900"
    assert "État civil" in text
    assert runtime.journal.print_state(result.ticket.ticket) is PrintState.PRINTED
    issued = [e for e in runtime.journal.outbox() if e.kind is EventKind.TICKET_ISSUED]
    assert [e.data["label"] for e in issued] == ["A900"]


def test_the_ticket_exists_in_the_journal_before_the_printer_gets_it(
    runtime: KioskRuntime, printer: VirtualPrinter
) -> None:
    """GIVEN a number taken WHEN the printer has not been asked yet THEN the journal already
    holds the TicketIssued event with print state "pending"."""
    _, issued = runtime.core.take_number("passeports", None, "en")
    assert issued is not None
    assert runtime.journal.print_state(issued.ticket) is PrintState.PENDING
    assert printer.tickets == []
    runtime.core.print_ticket(issued)
    assert runtime.journal.print_state(issued.ticket) is PrintState.PRINTED


def test_paper_out_gives_the_number_journaled_as_failed(
    runtime: KioskRuntime, printer: VirtualPrinter
) -> None:
    printer.simulate("paper_out")
    result = runtime.core.issue("ccas", None, "fr")
    assert result.outcome is Outcome.PRINT_FAILED
    assert result.printer is not None and result.printer.state is PrinterState.PAPER_OUT
    assert result.ticket is not None and result.ticket.label == "D900"
    assert runtime.journal.print_state(result.ticket.ticket) is PrintState.FAILED
    health = runtime.health()
    assert health["printer"] == "paper_out"
    assert health["journal_backlog"] == 1


def test_health_carries_the_clock_offset_the_last_sync_measured(runtime: KioskRuntime) -> None:
    """GIVEN a kiosk never synced, then one whose sync found its clock 1 h 02 min ahead THEN
    its health report says "unknown" (null), then -3720 s (the server's time minus its own)."""
    assert runtime.health()["clock_offset_seconds"] is None
    runtime.journal.adjust_clock(-3720.0)
    assert runtime.health()["clock_offset_seconds"] == -3720.0


def test_closed_service_issues_nothing_and_names_its_next_opening(runtime: KioskRuntime) -> None:
    st = runtime.core.status("urbanisme")
    assert st.availability is Availability.CLOSED
    assert st.next_opening == datetime(2026, 11, 24, 9, 0, tzinfo=PARIS)
    result = runtime.core.issue("urbanisme", None, "fr")
    assert result.outcome is Outcome.REFUSED
    assert runtime.journal.outbox() == []


def test_service_stops_issuing_when_the_estimated_call_passes_closing_time(
    runtime: KioskRuntime, site_clock: SiteClock
) -> None:
    """GIVEN passeports (12 min per person, no counter open: one assumed) at 11:00, closing at
    12:00 WHEN five people wait (60 min) THEN it still issues (call at 12:00 is not after
    closing); at six (72 min) it stops, and says it reopens at 13:30."""
    site_clock.set(MONDAY_10.replace(hour=11))
    fill_queue(runtime, "passeports", 4)
    st = runtime.core.status("passeports")
    assert st.wait.ahead == 4 and st.availability is Availability.OPEN
    assert runtime.core.issue("passeports", None, "fr").outcome is Outcome.PRINTED
    st = runtime.core.status("passeports")
    assert st.wait.ahead == 5
    assert st.availability is Availability.STOPPED
    assert st.next_opening == MONDAY_10.replace(hour=13, minute=30)
    assert runtime.core.issue("passeports", None, "fr").outcome is Outcome.REFUSED


def test_an_appointment_checks_in_when_walk_ins_are_no_longer_taken(
    runtime: KioskRuntime, site_clock: SiteClock, tmp_path: Path
) -> None:
    """GIVEN passeports at 11:00 with five people waiting (it no longer issues: a sixth
    would be called after closing) WHEN a person with an 11:20 appointment checks in THEN
    they get their ticket (appointments are called at their time, ahead of the walk-ins)."""
    site_clock.set(MONDAY_10.replace(hour=11))
    fill_queue(runtime, "passeports", 5)
    assert runtime.core.status("passeports").availability is Availability.STOPPED
    book = DayBook(tmp_path / "appointments.json")
    slot = MONDAY_10.replace(hour=11, minute=20)
    expected = Expected(
        "a1", "K7QM3XHP", "passeports", slot.timestamp(), "2026-11-23", "fr", BOOKED
    )
    book.replace_day("2026-11-23", [expected])
    result = check_in(runtime.core, book, "K7QM-3XHP")
    assert result.outcome is CheckIn.PRINTED
    assert runtime.core.issue("passeports", None, "fr").outcome is Outcome.REFUSED


def test_long_wait_is_flagged_above_the_configured_minutes(
    make_settings: Callable[..., KioskSettings], site_clock: SiteClock
) -> None:
    rt = KioskRuntime(make_settings(long_wait_minutes=20), clock=site_clock)
    try:
        fill_queue(rt, "etat-civil", 3)  # 3 x 6 min = 18 min
        assert rt.core.status("etat-civil").long_wait is False
        fill_queue(rt, "etat-civil", 1)  # 24 min
        st = rt.core.status("etat-civil")
        assert st.wait.minutes == 24 and st.long_wait is True
        assert st.availability is Availability.OPEN
    finally:
        rt.close()


def test_a_priority_ticket_waits_only_behind_priority_tickets(runtime: KioskRuntime) -> None:
    fill_queue(runtime, "etat-civil", 3)
    assert runtime.core.estimate("etat-civil", "pregnancy").ahead == 0
    result = runtime.core.issue("etat-civil", "pregnancy", "fr")
    assert result.ticket is not None and result.ticket.priority == "pregnancy"
    assert runtime.core.estimate("etat-civil", "age").ahead == 1
    assert runtime.core.estimate("etat-civil").ahead == 4


def test_priority_is_dropped_where_the_service_does_not_allow_it(
    runtime: KioskRuntime, site_clock: SiteClock
) -> None:
    site_clock.set(datetime(2026, 11, 24, 10, 0, tzinfo=PARIS))  # Tuesday: urbanisme open
    result = runtime.core.issue("urbanisme", "age", "fr")
    assert result.ticket is not None and result.ticket.priority is None


def test_open_counters_shorten_the_estimate(runtime: KioskRuntime) -> None:
    fill_queue(runtime, "passeports", 2)
    assert runtime.core.estimate("passeports").seconds == 2 * 12 * 60
    for counter in ("1", "3"):  # both take passeports
        runtime.core.apply_events(
            [runtime.journal.record(EventKind.COUNTER_OPENED, counter=counter)]
        )
    assert runtime.core.estimate("passeports").seconds == 12 * 60


def test_follow_url_uses_the_follow_base_or_the_server(
    make_settings: Callable[..., KioskSettings], site_clock: SiteClock
) -> None:
    rt = KioskRuntime(make_settings(server={"url": "http://guichet.local:8000/"}), clock=site_clock)
    try:
        assert rt.core.follow_url("abc") == "http://guichet.local:8000/t/abc"
    finally:
        rt.close()
    rt = KioskRuntime(make_settings(follow_base_url="https://suivi.example.fr"), clock=site_clock)
    try:
        result = rt.core.issue("etat-civil", None, "fr")
        assert result.ticket is not None
        token = result.ticket.token
        assert token and result.ticket.follow_url == f"https://suivi.example.fr/t/{token}"
    finally:
        rt.close()


def test_tickets_left_pending_by_a_crash_are_marked_failed_at_start(
    make_settings: Callable[..., KioskSettings],
    site_clock: SiteClock,
    printer: VirtualPrinter,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """GIVEN a kiosk stopped while a ticket was printing (its print state still "pending": the
    paper may be whole, cut off or missing) WHEN it starts again THEN the ticket is marked
    failed, the log says it may be incomplete, and the next ticket starts with a feed and a
    cut so that any stub leaves the printer on its own."""
    settings = make_settings()
    rt = KioskRuntime(settings, clock=site_clock)
    _, issued = rt.core.take_number("etat-civil", None, "fr")
    assert issued is not None
    printer.feed(b"\x1b@\x1b!\x30A900\n")  # what reached the paper before the power went
    rt.close()  # as if the power went before the printer answered
    rt = KioskRuntime(settings, clock=site_clock)
    try:
        assert rt.journal.print_state(issued.ticket) is PrintState.FAILED
        assert rt.journal.pending_prints() == []
        assert "interrupted while printing (A900)" in caplog.text
        assert "may be incomplete" in caplog.text
        result = rt.core.issue("etat-civil", None, "fr")
        assert result.outcome is Outcome.PRINTED
        printer.wait_for_tickets(2, PATIENCE)  # the stub, cut on its own, then the ticket
        assert printer.printed[0].text_lines() == ["A900"]
        assert printer.printed[1].headline == "A901"
    finally:
        rt.close()


def test_site_comes_from_the_journal_cache_once_connected(
    make_settings: Callable[..., KioskSettings], site_clock: SiteClock, tmp_path: object
) -> None:
    settings = make_settings(server={"url": "http://127.0.0.1:9/"})
    with Journal(settings.journal_path, "mairie", "kiosk-entree") as j:
        from config.loader import load_model
        from config.site import SiteConfig
        from tests.kiosk.conftest import SITE_FILE

        cfg = load_model(SiteConfig, SITE_FILE).model_dump(mode="json")
        cfg["site"]["name"] = "Mairie annexe"
        j.save_site(cfg, "v2")
    rt = KioskRuntime(settings, clock=site_clock)
    try:
        assert rt.core.site.name == "Mairie annexe"
    finally:
        rt.close()


def test_no_lease_and_no_offline_range_gives_no_ticket(
    make_settings: Callable[..., KioskSettings], site_clock: SiteClock, printer: VirtualPrinter
) -> None:
    """GIVEN a kiosk the site file does not list (so no offline range) that never synced
    WHEN a ticket is asked THEN nothing is issued or printed, and the outcome says why."""
    rt = KioskRuntime(make_settings(device_id="kiosk-annexe"), clock=site_clock)
    try:
        result = rt.core.issue("etat-civil", None, "fr")
        assert result.outcome is Outcome.EXHAUSTED
        assert result.ticket is None
        assert rt.journal.outbox() == []
        assert printer.tickets == []
    finally:
        rt.close()
